"""Parameter identity: a root name with and without its leading slash is one parameter.

AWS's "Requirements and constraints for parameter names" (User Guide): ``/TestParam1`` and
``TestParam1`` in one Region are not unique, while ``/Test/TestParam1`` and ``/TestParam1`` are.
Every call that looks a name up follows from that; the parameter keeps the spelling it was
created with (docs/decisions.md, "Store and Parameter Store").
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ssm_local.engine import Engine
from ssm_local.engine.services import ParameterStoreError
from ssm_local.engine.services import parameter_rules as rules
from ssm_local.engine.services.resolution import parameter_store_value
from ssm_local.engine.store.tables import ParameterRow, ParameterVersionRow

P: sa.Table = ParameterRow.__table__  # type: ignore[attr-defined]
V: sa.Table = ParameterVersionRow.__table__  # type: ignore[attr-defined]
ARN = "arn:aws:ssm:us-east-1:123456789012:parameter/TestParam1"


def code_of(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(ParameterStoreError) as info:
        call(*args, **kwargs)  # type: ignore[operator]
    return info.value.code


def test_spellings() -> None:
    assert rules.spellings("a") == ("a", "/a")
    assert rules.spellings("/a") == ("/a", "a")
    assert rules.spellings("/a/b") == ("/a/b",)
    assert rules.spellings("/") == ("/",)


@pytest.mark.parametrize(("created", "other"), [("TestParam1", "/TestParam1"), ("/TestParam1", "TestParam1")])
def test_one_parameter_under_both_spellings(engine: Engine, created: str, other: str) -> None:
    ps = engine.parameters
    ps.put_parameter(created, "v1", type="String")
    assert code_of(ps.put_parameter, other, "v2", type="String") == "ParameterAlreadyExists"
    assert ps.put_parameter(other, "v2", overwrite=True).version == 2
    for spelling in (created, other, ARN):
        got = ps.get_parameter(spelling)
        assert (got.name, got.value, got.version, got.arn) == (created, "v2", 2, ARN)
    assert ps.get_parameter(f"{other}:1").value == "v1"
    result = ps.get_parameters([other, "/missing"])
    assert [p.name for p in result.parameters] == [created]
    assert result.invalid_parameters == ("/missing",)
    history = ps.get_parameter_history(other).items
    assert [(h.name, h.version, h.value) for h in history] == [(created, 1, "v1"), (created, 2, "v2")]
    assert [p.name for p in ps.describe_parameters().items] == [created]
    assert [p.name for p in ps.get_parameters_by_path("/").items] == [created]


def test_labels_tags_and_delete_by_the_other_spelling(engine: Engine) -> None:
    ps = engine.parameters
    ps.put_parameter("TestParam1", "v1", type="String")
    ps.put_parameter("TestParam1", "v2", type="String", overwrite=True)
    ps.label_parameter_version("/TestParam1", ["live"], 1)
    assert ps.get_parameter("TestParam1:live").value == "v1"
    assert ps.unlabel_parameter_version("/TestParam1", 1, ["live"]).removed_labels == ("live",)
    ps.add_tags_to_resource("/TestParam1", [{"Key": "team", "Value": "web"}])
    assert ps.list_tags_for_resource("TestParam1") == [{"Key": "team", "Value": "web"}]
    ps.remove_tags_from_resource("/TestParam1", ["team"])
    assert ps.list_tags_for_resource("TestParam1") == []
    ps.delete_parameter("/TestParam1")
    assert code_of(ps.get_parameter, "TestParam1") == "ParameterNotFound"
    ps.put_parameter("/TestParam1", "new", type="String")
    assert ps.delete_parameters(["TestParam1", "/TestParam1"]).to_api() == {
        "DeletedParameters": ["TestParam1"],
        "InvalidParameters": ["/TestParam1"],
    }


def test_cached_read_sees_a_write_through_the_other_spelling(engine: Engine) -> None:
    ps = engine.parameters
    ps.cache_ttl = None
    ps.put_parameter("TestParam1", "v1", type="String")
    assert ps.get_parameter("/TestParam1").value == "v1"
    assert ps.get_parameter("TestParam1").value == "v1"
    ps.put_parameter("/TestParam1", "v2", overwrite=True)
    assert ps.get_parameter("/TestParam1").value == "v2"
    assert ps.get_parameter("TestParam1").value == "v2"


def test_paths_are_not_folded(engine: Engine) -> None:
    ps = engine.parameters
    ps.put_parameter("/Test/TestParam1", "deep", type="String")
    ps.put_parameter("/TestParam1", "root", type="String")
    assert ps.get_parameter("/Test/TestParam1").value == "deep"
    assert code_of(ps.get_parameter, "Test/TestParam1") == "ValidationException"
    assert ps.get_parameter("TestParam1").value == "root"


def test_name_filter_matches_either_spelling(engine: Engine) -> None:
    ps = engine.parameters
    ps.put_parameter("root", "1", type="String")
    ps.put_parameter("/rooted", "2", type="String")
    ps.put_parameter("/app/root", "3", type="String")

    def names(option: str, value: str) -> list[str]:
        filters = [{"Key": "Name", "Option": option, "Values": [value]}]
        return [p.name for p in ps.describe_parameters(parameter_filters=filters).items]

    assert names("Equals", "/root") == ["root"]
    assert names("Equals", "rooted") == ["/rooted"]
    assert names("BeginsWith", "/roo") == ["/rooted", "root"]
    assert names("BeginsWith", "/app/") == ["/app/root"]
    assert names("Contains", "/root") == ["/app/root", "/rooted"]


def test_ssm_reference_resolves_either_spelling(engine: Engine) -> None:
    engine.parameters.put_parameter("greeting", "hello", type="String")
    value = parameter_store_value(engine.parameters)
    assert value("/greeting") == "hello"
    assert value("greeting") == "hello"


def test_a_store_holding_both_spellings_keeps_both_values(engine: Engine) -> None:
    """Stores written before names were one parameter may hold ``a`` and ``/a``: each stays
    readable, writable and deletable by its exact spelling; nothing is merged or dropped."""
    ps = engine.parameters
    ps.put_parameter("dup", "bare", type="String")
    ps.put_parameter("/zz", "slashed", type="String")
    with engine.store.write() as conn:
        conn.execute(V.update().where(V.c.name == "/zz").values(name="/dup"))
        conn.execute(P.update().where(P.c.name == "/zz").values(name="/dup"))
    ps.clear_cache()
    assert ps.get_parameter("dup").value == "bare"
    assert ps.get_parameter("/dup").value == "slashed"
    assert ps.put_parameter("/dup", "slashed2", overwrite=True).version == 2
    assert ps.get_parameter("dup").value == "bare"
    assert [p.name for p in ps.get_parameters_by_path("/").items] == ["/dup", "dup"]
    ps.delete_parameter("dup")
    assert ps.get_parameter("/dup").value == "slashed2"
    assert ps.get_parameter("dup").value == "slashed2"
