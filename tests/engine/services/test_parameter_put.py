"""PutParameter's steps: the pure checks without a store, and every refusal with its message."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ssm_local.engine import Engine
from ssm_local.engine.services import ParameterStoreError
from ssm_local.engine.services import parameter_put as put

NOW = 1_700_000_000.0
FUTURE = "2099-01-01T00:00:00Z"
EXPIRATION = json.dumps([{"Type": "Expiration", "Version": "1.0", "Attributes": {"Timestamp": FUTURE}}])


def request(name: str = "/app/x", value: str = "v", **fields: Any) -> put.PutRequest:
    args: dict[str, Any] = {
        "type": None, "description": None, "key_id": None, "overwrite": False,
        "allowed_pattern": None, "tags": None, "tier": None, "policies": None, "data_type": None,
    }
    args.update(fields)
    return put.check_request(name, value, region="us-east-1", account_id="123456789012", now=NOW,
                             **args)


def stored(**fields: Any) -> dict[str, Any]:
    row = {
        "name": "/app/x", "parent": "/app", "version": 3, "oldest_version": 1, "expires_at": None,
        "type": "SecureString", "value": "cipher", "key_id": "alias/mine", "data_type": "text",
        "tier": "Standard", "description": "kept", "allowed_pattern": "[a-z]+", "policies": None,
        "last_modified": NOW - 60, "last_modified_user": "someone",
    }
    row.update(fields)
    return row


def refusal(call: Any) -> tuple[str, str]:
    with pytest.raises(ParameterStoreError) as info:
        call()
    return info.value.code, info.value.message


def test_check_request_normalizes() -> None:
    checked = request(" /app/x ", tags=[{"Key": "team", "Value": "a"}], policies=EXPIRATION)
    assert checked.name == "/app/x"
    assert checked.tags == (("team", "a"),)
    assert checked.policies is not None and [p.type for p in checked.policies] == ["Expiration"]
    assert request(policies="[]").policies == ()
    assert request().policies is None


@pytest.mark.parametrize(
    ("fields", "code", "message"),
    [
        ({"overwrite": True, "tags": [{"Key": "k", "Value": "v"}]}, "ValidationException",
         "Tags cannot be given together with Overwrite; change the tags of an existing parameter "
         "with AddTagsToResource or RemoveTagsFromResource."),
        ({"description": "d" * 1025}, "ValidationException",
         "Description may be at most 1024 characters."),
        ({"tags": [{"Key": f"k{i}", "Value": ""} for i in range(51)]}, "TooManyTagsError",
         "A parameter may have at most 50 tags."),
        ({"allowed_pattern": "("}, "InvalidAllowedPatternException", None),
        ({"type": "Integer"}, "UnsupportedParameterType", None),
        ({"policies": "{"}, "InvalidPolicyAttributeException", "Policies is not valid JSON."),
    ],
    ids=["tags-with-overwrite", "description", "tags", "pattern", "type", "policies"],
)
def test_check_request_refusals(fields: dict[str, Any], code: str, message: str | None) -> None:
    got_code, got_message = refusal(lambda: request(**fields))
    assert got_code == code
    if message is not None:
        assert got_message == message


def test_check_against_new_parameter() -> None:
    new = put.check_against(request(type="SecureString"), None)
    assert (new.type, new.key_id, new.data_type, new.description, new.allowed_pattern) == (
        "SecureString", "alias/aws/ssm", "text", None, None
    )
    assert (new.size, new.policies_text, new.policies, new.expires_at) == (1, None, (), None)


def test_check_against_keeps_what_the_request_leaves_out() -> None:
    new = put.check_against(request(value="abc", overwrite=True), stored())
    assert (new.type, new.key_id, new.description, new.allowed_pattern) == (
        "SecureString", "alias/mine", "kept", "[a-z]+"
    )
    given = put.check_against(
        request(value="ABC", overwrite=True, description="new", allowed_pattern="[A-Z]+",
                key_id="alias/other", policies=EXPIRATION),
        stored(),
    )
    assert (given.key_id, given.description, given.allowed_pattern) == (
        "alias/other", "new", "[A-Z]+"
    )
    assert given.policies_text is not None and json.loads(given.policies_text)[0]["Type"] == "Expiration"
    assert given.expires_at == 4070908800.0


def test_check_against_policies_empty_list_removes_them() -> None:
    row = stored(policies=json.dumps([json.loads(EXPIRATION)[0]]))
    kept = put.check_against(request(value="abc", overwrite=True), row)
    assert kept.policies_text == row["policies"] and kept.expires_at == 4070908800.0
    removed = put.check_against(request(value="abc", overwrite=True, policies="[]"), row)
    assert (removed.policies_text, removed.policies, removed.expires_at) == (None, (), None)


def test_check_against_expired() -> None:
    with pytest.raises(put.Expired):
        put.check_against(request(overwrite=True), stored(expires_at=NOW))


@pytest.mark.parametrize(
    ("fields", "row", "code", "message"),
    [
        ({"type": "String"}, stored(), "ParameterAlreadyExists",
         "Parameter /app/x already exists; set Overwrite to change its value."),
        ({}, None, "ValidationException", "A Type is required to create a parameter."),
        ({"type": "String", "overwrite": True}, stored(), "HierarchyTypeMismatchException",
         "Parameter /app/x is a SecureString; its type cannot change to String. Create a new "
         "parameter instead."),
        ({"type": "String", "key_id": "alias/k"}, None, "ValidationException",
         "KeyId applies only to SecureString parameters."),
        ({"overwrite": True, "value": "ABC"}, stored(), "ParameterPatternMismatchException",
         "The value does not match the parameter's AllowedPattern [a-z]+."),
        ({"type": "SecureString", "data_type": "aws:ec2:image"}, None, "ValidationException",
         "Data type aws:ec2:image needs a String parameter."),
        ({"type": "String", "value": ""}, None, "ValidationException",
         "A parameter value must be at least 1 character long."),
    ],
    ids=["exists", "no-type", "type-change", "key-id", "pattern", "data-type", "empty"],
)
def test_check_against_refusals(
    fields: dict[str, Any], row: dict[str, Any] | None, code: str, message: str
) -> None:
    assert refusal(lambda: put.check_against(request(**fields), row)) == (code, message)


def test_already_exists_comes_before_a_type_change() -> None:
    code, _ = refusal(lambda: put.check_against(request(type="String"), stored()))
    assert code == "ParameterAlreadyExists"


# -- through the store ------------------------------------------------------------------------


def test_put_refusals_leave_nothing_behind(engine: Engine) -> None:
    ps = engine.parameters
    ps.put_parameter("/p", "1", type="String", tags=[{"Key": "a", "Value": "b"}])
    for call in (
        lambda: ps.put_parameter("/p", "2", type="String"),
        lambda: ps.put_parameter("/p", "2", overwrite=True, tags=[{"Key": "c", "Value": "d"}]),
        lambda: ps.put_parameter("/p", "2", type="SecureString", overwrite=True),
        lambda: ps.put_parameter("/p", "", overwrite=True),
    ):
        refusal(call)
    assert ps.get_parameter("/p").version == 1
    assert ps.list_tags_for_resource("/p") == [{"Key": "a", "Value": "b"}]
    assert [h.version for h in ps.get_parameter_history("/p").items] == [1]


def test_put_writes_version_and_tags_once(engine: Engine) -> None:
    ps = engine.parameters
    first = ps.put_parameter("/w", "1", type="String", tags=[{"Key": "a", "Value": "b"}])
    second = ps.put_parameter("/w", "2", overwrite=True, description="d")
    assert (first.version, second.version) == (1, 2)
    history = ps.get_parameter_history("/w").items
    assert [(h.version, h.value, h.description) for h in history] == [(1, "1", None), (2, "2", "d")]
    assert ps.list_tags_for_resource("/w") == [{"Key": "a", "Value": "b"}]
    assert ps.get_parameter("/w").value == "2"
