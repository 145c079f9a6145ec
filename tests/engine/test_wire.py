"""AWS wire forms: values as strings and lists of strings, timestamps, the NextToken codec."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from ssm_local.engine import wire
from ssm_local.grammar.errors import ApiError

EST = timezone(timedelta(hours=-5))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("text", "text"),
        ("", ""),
        ("true", "true"),
        ('{"already": "json"}', '{"already": "json"}'),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (42, "42"),
        (-1.5, "-1.5"),
        (None, "null"),
        ([], "[]"),
        (["a", 1], '["a", 1]'),
        ({"a": 1, "b": [True, None]}, '{"a": 1, "b": [true, null]}'),
        ({"nested": {"map": {"x": "y"}}}, '{"nested": {"map": {"x": "y"}}}'),
        ((1, 2), "[1, 2]"),
        ("ünïcode", "ünïcode"),
        ({"k": "ü"}, '{"k": "\\u00fc"}'),
        (datetime(2024, 5, 1, 12, tzinfo=UTC), '"2024-05-01 12:00:00+00:00"'),
        (Decimal("1.5"), '"1.5"'),
        (date(2024, 5, 1), '"2024-05-01"'),
    ],
)
def test_to_string(value: Any, expected: str) -> None:
    assert wire.to_string(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("one", ["one"]),
        ("", [""]),
        (None, ["null"]),
        (True, ["true"]),
        (7, ["7"]),
        (0.25, ["0.25"]),
        ([], []),
        (["a", "b"], ["a", "b"]),
        ([1, True, None, "x"], ["1", "true", "null", "x"]),
        ([["inner", 1], {"k": "v"}], ['["inner", 1]', '{"k": "v"}']),
        ({"k": ["v"]}, ['{"k": ["v"]}']),
        ((1, 2), ["[1, 2]"]),
        ([datetime(2024, 5, 1, tzinfo=UTC)], ['"2024-05-01 00:00:00+00:00"']),
    ],
)
def test_to_string_list(value: Any, expected: list[str]) -> None:
    assert wire.to_string_list(value) == expected


def test_to_string_list_map() -> None:
    values = {"commands": ["echo hi", "ls"], "workingDirectory": "", "executionTimeout": 3600,
              "Enabled": False, "Tags": {"Env": "prod"}, "Missing": None}
    assert wire.to_string_list_map(values) == {
        "commands": ["echo hi", "ls"], "workingDirectory": [""], "executionTimeout": ["3600"],
        "Enabled": ["false"], "Tags": ['{"Env": "prod"}'], "Missing": ["null"],
    }
    assert wire.to_string_list_map({}) == {}


def test_drop_none() -> None:
    assert wire.drop_none({"A": 1, "B": None, "C": "", "D": [], "E": False}) == {
        "A": 1, "C": "", "D": [], "E": False,
    }


# -- timestamps ------------------------------------------------------------------------------

MOMENT = datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)
EPOCH = MOMENT.timestamp()


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (MOMENT, MOMENT),
        (MOMENT.replace(tzinfo=None), MOMENT),
        (MOMENT.astimezone(EST), MOMENT),
    ],
    ids=["aware-utc", "naive-is-utc", "aware-offset"],
)
def test_utc(moment: datetime, expected: datetime) -> None:
    converted = wire.utc(moment)
    assert converted == expected
    assert converted.utcoffset() == timedelta(0)
    assert converted.replace(tzinfo=None) == expected.replace(tzinfo=None)


@pytest.mark.parametrize(
    ("epoch", "expected"),
    [
        (None, None),
        (0, datetime(1970, 1, 1, tzinfo=UTC)),
        (0.5, datetime(1970, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)),
        (EPOCH, MOMENT),
    ],
)
def test_from_epoch(epoch: float | None, expected: datetime | None) -> None:
    converted = wire.from_epoch(epoch)
    assert converted == expected
    if converted is not None:
        assert converted.tzinfo is UTC


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (None, None),
        (datetime(1970, 1, 1, tzinfo=UTC), 0.0),
        (MOMENT, EPOCH),
        (MOMENT.replace(tzinfo=None), EPOCH),
        (MOMENT.astimezone(EST), EPOCH),
    ],
    ids=["none", "zero", "aware", "naive-is-utc", "offset"],
)
def test_to_epoch(moment: datetime | None, expected: float | None) -> None:
    assert wire.to_epoch(moment) == expected


def test_epoch_round_trip() -> None:
    assert wire.to_epoch(wire.from_epoch(EPOCH)) == EPOCH
    assert wire.from_epoch(wire.to_epoch(MOMENT)) == MOMENT


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (MOMENT, "2024-05-01T12:30:15.123456+00:00"),
        (MOMENT.replace(microsecond=0), "2024-05-01T12:30:15+00:00"),
        (MOMENT.replace(tzinfo=None), "2024-05-01T12:30:15.123456+00:00"),
        (MOMENT.astimezone(EST), "2024-05-01T12:30:15.123456+00:00"),
    ],
    ids=["aware", "no-microseconds", "naive-is-utc", "offset"],
)
def test_iso8601(moment: datetime, expected: str) -> None:
    assert wire.iso8601(moment) == expected


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (None, ""),
        (MOMENT, "2024-05-01T12:30:15.123Z"),
        (MOMENT.replace(microsecond=999999), "2024-05-01T12:30:15.999Z"),
        (MOMENT.replace(microsecond=0), "2024-05-01T12:30:15.000Z"),
        (MOMENT.replace(tzinfo=None), "2024-05-01T12:30:15.123Z"),
        (MOMENT.astimezone(EST), "2024-05-01T12:30:15.123Z"),
    ],
    ids=["none", "aware", "truncated-not-rounded", "zero-millis", "naive-is-utc", "offset"],
)
def test_iso8601_millis(moment: datetime | None, expected: str) -> None:
    assert wire.iso8601_millis(moment) == expected


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (MOMENT, "2024-05-01T12:30:15Z"),
        (MOMENT.replace(tzinfo=None), "2024-05-01T12:30:15Z"),
        (MOMENT.astimezone(EST), "2024-05-01T12:30:15Z"),
    ],
    ids=["aware", "naive-is-utc", "offset"],
)
def test_iso8601_seconds(moment: datetime, expected: str) -> None:
    assert wire.iso8601_seconds(moment) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T12:30:15Z", MOMENT.replace(microsecond=0)),
        ("2024-05-01T12:30:15.123456Z", MOMENT),
        ("2024-05-01T12:30:15.123456+00:00", MOMENT),
        ("2024-05-01T07:30:15.123456-05:00", MOMENT),
        ("2024-05-01T12:30:15", MOMENT.replace(microsecond=0)),
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
    ],
    ids=["z", "z-micro", "offset-zero", "offset", "naive-is-utc", "date-only"],
)
def test_parse_iso8601(text: str, expected: datetime) -> None:
    parsed = wire.parse_iso8601(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", ["", "yesterday", "2024-13-01T00:00:00Z", "12:00"])
def test_parse_iso8601_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        wire.parse_iso8601(text)


@pytest.mark.parametrize("moment", [MOMENT, MOMENT.replace(microsecond=0)])
def test_iso8601_round_trip(moment: datetime) -> None:
    assert wire.parse_iso8601(wire.iso8601(moment)) == moment


# -- NextToken -------------------------------------------------------------------------------


@pytest.mark.parametrize("after", ["/app/b", "", "ü/名前", 0, 7, 10**12])
def test_token_round_trip(after: str | int) -> None:
    token = wire.encode_token("path", after)
    assert token.isascii()
    decoded = wire.decode_token("path", token)
    assert decoded == after
    assert type(decoded) is type(after)


def test_no_token_is_the_first_page() -> None:
    assert wire.decode_token("path", None) is None


def _forged(data: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        "!!",
        "ü",
        wire.encode_token("history", 3),
        _forged({"v": 2, "k": "path", "a": "x"}),
        _forged({"k": "path", "a": "x"}),
        _forged({"v": 1, "k": "path"}),
        _forged({"v": 1, "k": "path", "a": ["x"]}),
        _forged({"v": 1, "k": "path", "a": None}),
        _forged({"v": 1, "k": "path", "a": True}),
        _forged(["v", 1]),
        _forged("text"),
    ],
    ids=["empty", "garbage", "not-base64", "not-ascii", "other-kind", "other-version",
         "no-version", "no-position", "list-position", "null-position", "bool-position",
         "list", "string"],
)
def test_bad_tokens(token: str) -> None:
    with pytest.raises(wire.InvalidNextToken) as info:
        wire.decode_token("path", token)
    assert isinstance(info.value, ApiError)
    assert info.value.code == "InvalidNextToken"
    assert info.value.message == "The NextToken is not valid for this request."


def test_bad_tokens_answer_as_the_service_asks() -> None:
    class ServiceError(ApiError):
        code = "ValidationException"

    with pytest.raises(ServiceError) as info:
        wire.decode_token("path", "garbage", error=ServiceError)
    assert (info.value.code, info.value.message) == (
        "InvalidNextToken", "The NextToken is not valid for this request.")
