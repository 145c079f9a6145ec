"""Parameter Store contract, part 1: types, names, values, tiers, patterns, data types."""

from __future__ import annotations

import pytest

from ssm_local.engine import Engine
from ssm_local.engine.services import ParameterStoreError
from ssm_local.engine.services import parameter_rules as rules


def code_of(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(ParameterStoreError) as info:
        call(*args, **kwargs)  # type: ignore[operator]
    return info.value.code


def test_put_and_get_each_type(engine: Engine) -> None:
    ps = engine.parameters
    assert ps.put_parameter("/app/name", "web", type="String").to_api() == {
        "Version": 1,
        "Tier": "Standard",
    }
    ps.put_parameter("/app/hosts", "a,b,c", type="StringList")
    ps.put_parameter("/app/secret", "s3cr3t", type="SecureString")
    got = ps.get_parameter("/app/name")
    assert (got.name, got.type, got.value, got.version, got.data_type) == (
        "/app/name", "String", "web", 1, "text"
    )
    assert got.arn == "arn:aws:ssm:us-east-1:123456789012:parameter/app/name"
    assert ps.get_parameter("/app/hosts").value == "a,b,c"
    hidden = ps.get_parameter("/app/secret")
    assert hidden.value != "s3cr3t" and "s3cr3t" not in repr(hidden)
    assert ps.get_parameter("/app/secret", with_decryption=True).value == "s3cr3t"
    assert ps.put_parameter("plain", "v", type="String").version == 1
    assert ps.get_parameter("plain").arn.endswith(":parameter/plain")


def test_overwrite_rules(engine: Engine) -> None:
    ps = engine.parameters
    ps.put_parameter("/a", "1", type="String", description="first")
    assert code_of(ps.put_parameter, "/a", "2", type="String") == "ParameterAlreadyExists"
    assert ps.put_parameter("/a", "2", overwrite=True).version == 2  # Type may be left out
    assert ps.get_parameter("/a").value == "2"
    meta = ps.describe_parameters().items[0]
    assert meta.description == "first"  # kept when not given again
    assert code_of(ps.put_parameter, "/a", "3", type="SecureString", overwrite=True) == (
        "HierarchyTypeMismatchException"
    )
    assert code_of(ps.put_parameter, "/new", "x") == "ValidationException"  # Type needed
    assert code_of(ps.put_parameter, "/t", "x", type="Integer") == "UnsupportedParameterType"
    assert code_of(ps.put_parameter, "/k", "x", type="String", key_id="alias/aws/ssm") == (
        "ValidationException"
    )
    assert code_of(
        ps.put_parameter, "/a", "4", overwrite=True, tags=[{"Key": "k", "Value": "v"}]
    ) == "ValidationException"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("has space", "ValidationException"),
        ("a/b", "ValidationException"),
        ("/a//b", "ValidationException"),
        ("/a/", "ValidationException"),
        ("a$b", "ValidationException"),
        ("awsome", "ValidationException"),
        ("/AWS/x", "ValidationException"),
        ("SSM-thing", "ValidationException"),
        ("/ssm", "ValidationException"),
        ("/" + "/".join(str(i) for i in range(16)), "HierarchyLevelLimitExceededException"),
        ("/" + "x" * 1000, "ValidationException"),
    ],
)
def test_invalid_names(engine: Engine, name: str, code: str) -> None:
    assert code_of(engine.parameters.put_parameter, name, "v", type="String") == code


@pytest.mark.parametrize(
    "name", ["/" + "/".join(str(i) for i in range(15)), " /padded ", "a_b.c-d", "/x/My.Param-1_"]
)
def test_valid_names(engine: Engine, name: str) -> None:
    engine.parameters.put_parameter(name, "v", type="String")
    assert engine.parameters.get_parameter(name.strip()).value == "v"


def test_value_size_and_tiers(engine: Engine) -> None:
    ps = engine.parameters
    assert code_of(ps.put_parameter, "/empty", "", type="String") == "ValidationException"
    assert ps.put_parameter("/s4096", "x" * 4096, type="String").tier == "Standard"
    assert code_of(ps.put_parameter, "/s4097", "x" * 4097, type="String") == "ValidationException"
    # Size is counted in bytes: 2,049 two-byte characters are 4,098 bytes.
    assert code_of(ps.put_parameter, "/wide", "é" * 2049, type="String") == "ValidationException"
    assert ps.put_parameter("/a8192", "x" * 8192, type="String", tier="Advanced").tier == "Advanced"
    assert code_of(
        ps.put_parameter, "/a8193", "x" * 8193, type="String", tier="Advanced"
    ) == "ValidationException"
    assert ps.put_parameter("/it-small", "x", type="String", tier="Intelligent-Tiering").tier == (
        "Standard"
    )
    assert ps.put_parameter(
        "/it-big", "x" * 5000, type="String", tier="Intelligent-Tiering"
    ).tier == "Advanced"
    # Advanced stays Advanced: no downgrade, and leaving Tier out keeps it.
    assert code_of(
        ps.put_parameter, "/a8192", "y", overwrite=True, tier="Standard"
    ) == "ValidationException"
    assert ps.put_parameter("/a8192", "y", overwrite=True).tier == "Advanced"
    assert ps.put_parameter("/s4096", "y", overwrite=True, tier="Advanced").tier == "Advanced"
    assert code_of(ps.put_parameter, "/bad-tier", "y", type="String", tier="Gold") == (
        "ValidationException"
    )


def test_tier_limits(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rules, "TIER_LIMITS", {"Standard": 2, "Advanced": 1})
    ps = engine.parameters
    ps.put_parameter("/one", "1", type="String")
    ps.put_parameter("/two", "2", type="String")
    assert code_of(ps.put_parameter, "/three", "3", type="String") == "ParameterLimitExceeded"
    # Intelligent-Tiering moves to Advanced when Standard is full.
    assert ps.put_parameter("/three", "3", type="String", tier="Intelligent-Tiering").tier == (
        "Advanced"
    )
    assert code_of(
        ps.put_parameter, "/four", "4", type="String", tier="Advanced"
    ) == "ParameterLimitExceeded"
    ps.delete_parameter("/one")
    ps.put_parameter("/four", "4", type="String")  # room again in Standard


def test_allowed_pattern(engine: Engine) -> None:
    ps = engine.parameters
    ps.put_parameter("/port", "8080", type="String", allowed_pattern=r"^\d+$")
    with pytest.raises(ParameterStoreError) as info:
        ps.put_parameter("/port", "eighty", overwrite=True)  # the stored pattern still applies
    assert info.value.code == "ParameterPatternMismatchException"
    assert "eighty" not in str(info.value)
    assert code_of(ps.put_parameter, "/port2", "80a", type="String", allowed_pattern=r"\d+") == (
        "ParameterPatternMismatchException"  # the whole value must match
    )
    assert code_of(ps.put_parameter, "/bad", "x", type="String", allowed_pattern="([") == (
        "InvalidAllowedPatternException"
    )
    assert code_of(
        ps.put_parameter, "/long", "x", type="String", allowed_pattern="a" * 1025
    ) == "InvalidAllowedPatternException"
    with pytest.raises(ParameterStoreError) as secret:
        ps.put_parameter("/pin", "not-a-pin", type="SecureString", allowed_pattern=r"\d{4}")
    assert "not-a-pin" not in str(secret.value)


def test_data_types(engine: Engine) -> None:
    ps = engine.parameters
    ps.put_parameter("/ami", "ami-0123456789abcdef0", type="String", data_type="aws:ec2:image")
    ps.put_parameter("/ami8", "ami-0123abcd", type="String", data_type="aws:ec2:image")
    assert ps.get_parameter("/ami").data_type == "aws:ec2:image"
    assert code_of(
        ps.put_parameter, "/ami2", "ubuntu", type="String", data_type="aws:ec2:image"
    ) == "ValidationException"
    assert code_of(
        ps.put_parameter, "/ami3", "ami-0123abcd", type="SecureString", data_type="aws:ec2:image"
    ) == "ValidationException"
    assert code_of(ps.put_parameter, "/x", "1", type="String", data_type="Text") == (
        "ValidationException"
    )


def test_stringlist_items(engine: Engine) -> None:
    assert code_of(engine.parameters.put_parameter, "/l", "a,,b", type="StringList") == (
        "ValidationException"
    )


def test_secure_string_keys(engine: Engine) -> None:
    ps = engine.parameters
    key_id = engine.keyring.create_key("alias/team")
    ps.put_parameter("/k1", "one", type="SecureString", key_id="alias/team")
    ps.put_parameter("/k2", "two", type="SecureString", key_id=key_id)
    ps.put_parameter(
        "/k3", "three", type="SecureString",
        key_id=f"arn:aws:kms:us-east-1:123456789012:key/{key_id}",
    )
    assert [ps.get_parameter(n, with_decryption=True).value for n in ("/k1", "/k2", "/k3")] == [
        "one", "two", "three"
    ]
    meta = {m.name: m.key_id for m in ps.describe_parameters().items}
    assert meta["/k1"] == "alias/team"
    assert code_of(ps.put_parameter, "/k4", "x", type="SecureString", key_id="alias/nope") == (
        "InvalidKeyId"
    )
    ps.put_parameter("/k1", "uno", overwrite=True)  # keeps its key
    assert ps.describe_parameters().items[0].key_id == "alias/team"
    assert ps.get_parameter("/k1", with_decryption=True).value == "uno"


def test_get_parameters(engine: Engine) -> None:
    ps = engine.parameters
    ps.put_parameter("/a", "1", type="String")
    ps.put_parameter("/b", "2", type="String")
    result = ps.get_parameters(["/a", "/missing", "/b", "/a:7"])
    assert [p.name for p in result.parameters] == ["/a", "/b"]
    assert result.invalid_parameters == ("/missing", "/a:7")
    assert code_of(ps.get_parameters, [f"/n{i}" for i in range(11)]) == "ValidationException"
    assert code_of(ps.get_parameter, "/missing") == "ParameterNotFound"
    assert code_of(ps.get_parameter, "/a:1:2") == "ValidationException"


def test_delete(engine: Engine) -> None:
    ps = engine.parameters
    ps.put_parameter("/d", "1", type="String", tags=[{"Key": "team", "Value": "x"}])
    ps.put_parameter("/d", "2", overwrite=True)
    ps.label_parameter_version("/d", ["live"], 2)
    ps.delete_parameter("/d")
    assert code_of(ps.get_parameter, "/d") == "ParameterNotFound"
    assert code_of(ps.delete_parameter, "/d") == "ParameterNotFound"
    # Re-created, it starts again at version 1 with no labels or tags.
    ps.put_parameter("/d", "3", type="String")
    assert ps.get_parameter("/d").version == 1
    assert code_of(ps.get_parameter, "/d:live") == "ParameterVersionNotFound"
    assert ps.list_tags_for_resource("/d") == []
    ps.put_parameter("/e", "1", type="String")
    result = ps.delete_parameters(["/d", "/e", "/nope"])
    assert result.to_api() == {"DeletedParameters": ["/d", "/e"], "InvalidParameters": ["/nope"]}
    assert code_of(ps.delete_parameters, []) == "ValidationException"


def test_tags(engine: Engine) -> None:
    ps = engine.parameters
    ps.put_parameter("/t", "1", type="String", tags=[{"Key": "env", "Value": "prod"}])
    ps.add_tags_to_resource("/t", [{"Key": "team", "Value": "core"}, {"Key": "env", "Value": "dev"}])
    assert ps.list_tags_for_resource("/t") == [
        {"Key": "env", "Value": "dev"},
        {"Key": "team", "Value": "core"},
    ]
    ps.remove_tags_from_resource("/t", ["env"])
    assert ps.list_tags_for_resource("/t") == [{"Key": "team", "Value": "core"}]
    many = [{"Key": f"k{i}", "Value": "v"} for i in range(50)]
    assert code_of(ps.add_tags_to_resource, "/t", many) == "TooManyTagsError"
    assert code_of(ps.list_tags_for_resource, "/nope") == "InvalidResourceId"
    assert code_of(ps.add_tags_to_resource, "/t", [{"Key": "aws:x", "Value": "v"}]) == (
        "ValidationException"
    )
