"""AWS wire forms: how values, timestamps and NextTokens look in SSM's API shapes.

One home for the small conversions every service needs, so that they agree. Values: SSM
carries document parameters, Automation outputs and variables as ``map<string, list<string>>``
(``to_string_list_map``), one value at a time as a list of strings (``to_string_list``) or a
string (``to_string``): a string is itself, anything else is its JSON text. Timestamps: the
store keeps epoch seconds (``to_epoch``); API shapes carry aware UTC ``datetime`` objects
(``from_epoch``), which the HTTP layer sends as epoch seconds; Automation's events and the
fields AWS types as strings carry ISO 8601 text (``iso8601``, ``iso8601_millis``,
``iso8601_seconds``, read back by ``parse_iso8601``). A naive ``datetime`` is taken as UTC
everywhere. Paging: a ``NextToken`` is an opaque, versioned encoding of the position after the
last item returned (``encode_token`` / ``decode_token``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, overload

from ssm_local.grammar.errors import ApiError
from ssm_local.grammar.limits import MAX_INTEGER_DIGITS, huge_integer, lone_surrogate

# -- values ------------------------------------------------------------------------------------


def to_string(value: Any) -> str:
    """One value as one string, the form of a single SSM parameter value.

    A string is returned as it is; anything else becomes its JSON text: ``True`` → ``"true"``,
    ``42`` → ``"42"``, ``None`` → ``"null"``, ``{"a": 1}`` → ``'{"a": 1}'`` (``json.dumps``
    with its default separators). A value JSON cannot hold (a ``datetime``, a ``Decimal``)
    becomes the JSON text of its ``str()``, so a step output never makes the shape fail.
    """
    return value if isinstance(value, str) else json.dumps(value, default=str)


def to_string_list(value: Any) -> list[str]:
    """A value as AWS's list-of-strings form: a list item by item, anything else as a list of
    one. Items go through ``to_string``, so nested lists and maps become JSON text; only a
    ``list`` is spread (a tuple is one JSON value)."""
    items = value if isinstance(value, list) else [value]
    return [to_string(item) for item in items]


def to_string_list_map(values: Mapping[str, Any]) -> dict[str, list[str]]:
    """``{name: value}`` as ``map<string, list<string>>``: the wire form of Run Command and
    Automation ``Parameters``, Automation ``Outputs`` and ``Variables``."""
    return {name: to_string_list(value) for name, value in values.items()}


def drop_none(shape: Mapping[str, Any]) -> dict[str, Any]:
    """``shape`` without its ``None`` members: AWS leaves absent members out of a response."""
    return {key: value for key, value in shape.items() if value is not None}


def parse_json(text: str) -> Any:
    """JSON text supplied by a user (a flag, a request member) as plain data.

    Raises ``ValueError`` with a message fit to show for text that is not JSON, that nests
    deeper than the decoder's recursion allows, that holds an integer of more than
    ``MAX_INTEGER_DIGITS`` digits, or a string with a lone surrogate (``"\\ud800"``, which no
    UTF-8 store or output can hold); callers raise their own error class with it.
    """
    try:
        data = json.loads(text, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    surrogate = lone_surrogate(data)
    if surrogate is not None:
        raise ValueError(f"a string holds a lone surrogate ({surrogate}), which is not Unicode text")
    return data


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise json.JSONDecodeError(huge_integer(len(text.lstrip("-"))), text[:20], 0)
    return int(text)


# -- timestamps --------------------------------------------------------------------------------


def utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime; a naive one is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@overload
def from_epoch(epoch: float) -> datetime: ...
@overload
def from_epoch(epoch: None) -> None: ...
def from_epoch(epoch: float | None) -> datetime | None:
    """Epoch seconds (the store's form) as an aware UTC datetime (the API shapes' form);
    ``None`` (not yet happened) stays ``None``."""
    return None if epoch is None else datetime.fromtimestamp(epoch, tz=UTC)


@overload
def to_epoch(moment: datetime) -> float: ...
@overload
def to_epoch(moment: None) -> None: ...
def to_epoch(moment: datetime | None) -> float | None:
    """A datetime as epoch seconds (a float; the wire's and the store's form); a naive one is
    taken as UTC; ``None`` stays ``None``."""
    return None if moment is None else utc(moment).timestamp()


def iso8601(moment: datetime) -> str:
    """ISO 8601 in UTC with its offset, as Automation's events and outputs carry times:
    ``2024-05-01T12:00:00+00:00``, with ``.ffffff`` microseconds when they are not zero."""
    return utc(moment).isoformat()


def iso8601_millis(moment: datetime | None) -> str:
    """ISO 8601 in UTC to the millisecond (truncated) with ``Z``, the string form AWS gives
    GetCommandInvocation's ``ExecutionStartDateTime``: ``2024-05-01T12:00:00.123Z``; ``None``
    (the plugin has not started or ended) is ``""``, as AWS answers."""
    if moment is None:
        return ""
    stamp = utc(moment)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def iso8601_seconds(moment: datetime) -> str:
    """ISO 8601 in UTC to the second with ``Z``, the ``time`` of an EventBridge event:
    ``2024-05-01T12:00:00Z``."""
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso8601(text: str) -> datetime:
    """ISO 8601 text (``Z``, an offset, or none: then UTC) as an aware UTC datetime.

    Raises ``ValueError`` when ``text`` is not ISO 8601; callers turn that into their API's
    error code (InvalidPolicyAttributeException, InvalidFilterValue, ...).
    """
    return utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


# -- NextToken ---------------------------------------------------------------------------------

_TOKEN_FORMAT = 1

MAX_TOKEN_CHARS = 4096
"""Longest NextToken read; longer text is not a token this module handed out."""


class InvalidNextToken(ApiError):
    """A ``NextToken`` that this request did not hand out (AWS's ``InvalidNextToken``)."""

    code = "InvalidNextToken"


def encode_token(kind: str, after: str | int) -> str:
    """An opaque ``NextToken`` for the page after ``after`` (a name, a version or an offset) of
    a listing of ``kind``: url-safe base64 of ``{"v": 1, "k": kind, "a": after}``."""
    raw = json.dumps({"v": _TOKEN_FORMAT, "k": kind, "a": after}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_token(kind: str, token: str | None, *,
                 error: type[ApiError] = InvalidNextToken) -> str | int | None:
    """The position a ``NextToken`` from ``encode_token(kind, ...)`` holds; None for no token.

    Raises ``error`` (a service's own error class; ``InvalidNextToken`` by default) with code
    InvalidNextToken and "The NextToken is not valid for this request." for text that is not
    such a token, a token of another format version or of another ``kind``.
    """
    if token is None:
        return None
    try:
        if len(token) > MAX_TOKEN_CHARS:
            raise ValueError(len(token))
        data = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        after = data["a"]
        if data["v"] != _TOKEN_FORMAT or data["k"] != kind:
            raise ValueError(kind)
        if isinstance(after, bool) or not isinstance(after, str | int):
            raise ValueError(after)
        return after
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeEncodeError, RecursionError):
        raise error("The NextToken is not valid for this request.",
                    code=InvalidNextToken.code) from None


__all__ = [
    "InvalidNextToken",
    "decode_token",
    "drop_none",
    "encode_token",
    "from_epoch",
    "iso8601",
    "iso8601_millis",
    "iso8601_seconds",
    "parse_iso8601",
    "parse_json",
    "to_epoch",
    "to_string",
    "to_string_list",
    "to_string_list_map",
    "utc",
]
