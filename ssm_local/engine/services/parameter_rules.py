"""Parameter Store's rules, as pure functions: names, selectors, values, tiers, labels, policies.

Each check raises ``ParameterStoreError`` with AWS's error code (``ValidationException``,
``HierarchyLevelLimitExceededException``, ``InvalidPolicyTypeException``...) and a message in
our own words. Limits come from the SSM API reference; where it is silent the choice is
recorded in docs/decisions.md. No check ever puts a parameter's value in a message, because the
value may be a secret.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ssm_local.engine import wire
from ssm_local.grammar.errors import ApiError

TYPES = ("String", "StringList", "SecureString")
TIERS = ("Standard", "Advanced", "Intelligent-Tiering")
DATA_TYPES = ("text", "aws:ec2:image")
MAX_NAME_ARN_LENGTH = 1011
MAX_LEVELS = 15
MAX_DESCRIPTION = 1024
MAX_ALLOWED_PATTERN = 1024
MAX_POLICIES_TEXT = 4096
MAX_POLICIES = 10
STANDARD_VALUE_BYTES = 4096
ADVANCED_VALUE_BYTES = 8192
TIER_LIMITS = {"Standard": 10_000, "Advanced": 100_000}
MAX_VERSIONS = 100
MAX_LABELS_PER_VERSION = 10
MAX_LABEL_LENGTH = 100
MAX_TAGS = 50

_NAME_CHARS = re.compile(r"[A-Za-z0-9_.\-/]+")
_LABEL = re.compile(r"[A-Za-z0-9_.\-]+")
_AMI = re.compile(r"ami-([0-9a-f]{8}|[0-9a-f]{17})")
_TAG_TEXT = re.compile(r"[\w\s.:/=+\-@]*")


class ParameterStoreError(ApiError):
    """An error answered by Parameter Store; ``code`` is AWS's error code."""

    code = "ValidationException"


def fail(code: str, message: str) -> ParameterStoreError:
    return ParameterStoreError(message, code=code)


def not_found(name: str) -> ParameterStoreError:
    return fail("ParameterNotFound", f"Parameter {name} was not found.")


# -- names ------------------------------------------------------------------------------------


def parameter_arn(name: str, region: str, account_id: str) -> str:
    sep = "" if name.startswith("/") else "/"
    return f"arn:aws:ssm:{region}:{account_id}:parameter{sep}{name}"


def spellings(name: str) -> tuple[str, ...]:
    """The names one parameter answers to, ``name`` first: a root name with and without its
    leading slash (``a`` and ``/a`` are one parameter, as AWS's name constraints say), a name in
    a hierarchy (``/a/b``) only as given. ``/`` and the empty name have no other spelling."""
    bare = name[1:] if name.startswith("/") else name
    if not bare or "/" in bare:
        return (name,)
    return (name, bare) if name.startswith("/") else (name, "/" + name)


def check_name(name: str, *, region: str, account_id: str, for_write: bool) -> str:
    """Validate a parameter name (no selector) and return it with outer spaces removed."""
    name = name.strip(" ")
    if not name:
        raise fail("ValidationException", "A parameter name is required.")
    if " " in name:
        raise fail("ValidationException", f"Parameter name {name!r} contains a space.")
    if not _NAME_CHARS.fullmatch(name):
        raise fail(
            "ValidationException",
            f"Parameter name {name!r} may use only letters, digits, '_', '.', '-' and '/'.",
        )
    if "/" in name:
        if not name.startswith("/"):
            raise fail(
                "ValidationException",
                f"Parameter name {name!r} is a path, so it must begin with '/'.",
            )
        if "//" in name or name.endswith("/"):
            raise fail(
                "ValidationException",
                f"Parameter name {name!r} has an empty path segment.",
            )
        levels = name.count("/")
        if levels > MAX_LEVELS:
            raise fail(
                "HierarchyLevelLimitExceededException",
                f"Parameter name {name!r} has {levels} levels; a hierarchy may have at most "
                f"{MAX_LEVELS}.",
            )
    if for_write and name.lstrip("/").lower().startswith(("aws", "ssm")):
        raise fail(
            "ValidationException",
            f"Parameter name {name!r} is reserved: names may not begin with 'aws' or 'ssm' "
            "(in any case).",
        )
    if len(parameter_arn(name, region, account_id)) > MAX_NAME_ARN_LENGTH:
        raise fail(
            "ValidationException",
            f"Parameter name is too long: with its ARN it may be at most {MAX_NAME_ARN_LENGTH} "
            "characters.",
        )
    return name


MAX_VERSION = 2**63 - 1
"""The largest version a selector may name (AWS's versions are 64-bit longs)."""


def split_selector(reference: str) -> tuple[str, int | None, str | None]:
    """``name``, ``name:3`` or ``name:label`` -> (name, version, label)."""
    reference = reference.strip(" ")
    if reference.startswith("arn:"):
        _, _, rest = reference.partition(":parameter")
        if not rest:
            raise fail("ValidationException", f"{reference!r} is not a parameter ARN.")
        reference = rest if rest.startswith("/") and rest.count("/") > 1 else rest.lstrip("/")
    parts = reference.split(":")
    if len(parts) == 1:
        return parts[0], None, None
    if len(parts) > 2 or not parts[1]:
        raise fail(
            "ValidationException",
            f"{reference!r} is not a valid selector: use NAME, NAME:VERSION or NAME:LABEL.",
        )
    name, selector = parts
    if selector.isascii() and selector.isdigit():
        if len(selector) > 19 or int(selector) > MAX_VERSION:
            raise fail("ValidationException",
                       f"Version {selector[:30]}{'...' if len(selector) > 30 else ''} is not valid: "
                       f"a parameter version is at most {MAX_VERSION}.")
        return name, int(selector), None
    return name, None, selector


def parent_of(name: str) -> str:
    """The path a name sits under: ``/a/b`` -> ``/a``, ``/a`` and ``a`` -> ``/``."""
    if "/" not in name:
        return "/"
    head = name.rsplit("/", 1)[0]
    return head or "/"


def check_path(path: str) -> str:
    """A GetParametersByPath / Path-filter path: begins with '/', no empty segments."""
    if not path.startswith("/") or "//" in path or not _NAME_CHARS.fullmatch(path):
        raise fail(
            "ValidationException",
            f"Path {path!r} is not valid: it must begin with '/' and use only letters, digits, "
            "'_', '.', '-' and '/' between non-empty segments.",
        )
    trimmed = path.rstrip("/") or "/"
    if trimmed.count("/") > MAX_LEVELS:
        raise fail(
            "HierarchyLevelLimitExceededException",
            f"Path {path!r} is deeper than the {MAX_LEVELS} levels a hierarchy may have.",
        )
    return trimmed


# -- values, types, tiers ---------------------------------------------------------------------


def check_type(type_: str) -> str:
    if type_ not in TYPES:
        raise fail(
            "UnsupportedParameterType",
            f"Parameter type {type_!r} is not supported; use one of {', '.join(TYPES)}.",
        )
    return type_


def check_data_type(data_type: str, type_: str) -> str:
    if data_type not in DATA_TYPES:
        raise fail(
            "ValidationException",
            f"Data type {data_type!r} is not supported; use one of {', '.join(DATA_TYPES)} "
            "(data type names are lowercase).",
        )
    if data_type == "aws:ec2:image" and type_ != "String":
        raise fail("ValidationException", "Data type aws:ec2:image needs a String parameter.")
    return data_type


def check_value(value: str, *, type_: str, data_type: str, allowed_pattern: str | None) -> int:
    """Check a value against its data type and AllowedPattern; return its size in bytes."""
    if not value:
        raise fail("ValidationException", "A parameter value must be at least 1 character long.")
    size = len(value.encode("utf-8"))
    if size > ADVANCED_VALUE_BYTES:
        raise fail(
            "ValidationException",
            f"The value is {size} bytes; parameter values may be at most "
            f"{ADVANCED_VALUE_BYTES} bytes (Advanced tier).",
        )
    if data_type == "aws:ec2:image" and not _AMI.fullmatch(value):
        raise fail(
            "ValidationException",
            "A parameter of data type aws:ec2:image must hold an AMI id "
            "(ami- and 8 or 17 lowercase hex digits).",
        )
    if allowed_pattern is not None:
        from ssm_local.documents import patterns  # with ``regex``: only when a pattern is checked

        compiled = compile_pattern(allowed_pattern)
        try:
            matched = patterns.pattern_fullmatch(compiled, value)
        except patterns.PatternTimeoutError as exc:
            raise fail(
                "ParameterPatternMismatchException",
                f"The value could not be checked against the parameter's AllowedPattern "
                f"{allowed_pattern}: the match took longer than {exc.seconds:g} s.",
            ) from None
        if not matched:
            raise fail(
                "ParameterPatternMismatchException",
                f"The value does not match the parameter's AllowedPattern {allowed_pattern}.",
            )
    if type_ == "StringList" and any(item == "" for item in value.split(",")):
        raise fail("ValidationException", "A StringList value may not have empty items.")
    return size


_PATTERN_CACHE: dict[str, Any] = {}


def compile_pattern(pattern: str) -> Any:
    """AllowedPattern compiled with the ``regex`` module (matched with a time limit through
    ``documents.patterns``); InvalidAllowedPatternException when it is too long or invalid."""
    cached = _PATTERN_CACHE.get(pattern)
    if cached is not None:
        return cached
    if len(pattern) > MAX_ALLOWED_PATTERN:
        raise fail(
            "InvalidAllowedPatternException",
            f"AllowedPattern may be at most {MAX_ALLOWED_PATTERN} characters.",
        )
    import regex

    try:
        compiled = regex.compile(pattern)
    except (regex.error, RecursionError, OverflowError, ValueError) as exc:
        raise fail(
            "InvalidAllowedPatternException",
            f"AllowedPattern is not a valid regular expression: {exc}.",
        ) from None
    if len(_PATTERN_CACHE) < 1024:
        _PATTERN_CACHE[pattern] = compiled
    return compiled


def choose_tier(
    requested: str | None, *, previous: str | None, size: int, has_policies: bool,
    standard_full: bool,
) -> str:
    """The tier a write lands in (Intelligent-Tiering decides here)."""
    tier = requested if requested is not None else (previous or "Standard")
    if tier not in TIERS:
        raise fail("ValidationException", f"Tier {tier!r} is not one of {', '.join(TIERS)}.")
    if tier == "Intelligent-Tiering":
        needs_advanced = (
            size > STANDARD_VALUE_BYTES or has_policies or previous == "Advanced" or standard_full
        )
        tier = "Advanced" if needs_advanced else "Standard"
    if tier == "Standard":
        if previous == "Advanced":
            raise fail(
                "ValidationException",
                "This parameter is in the Advanced tier and cannot move back to Standard; "
                "delete it and create it again to make it Standard.",
            )
        if size > STANDARD_VALUE_BYTES:
            raise fail(
                "ValidationException",
                f"The value is {size} bytes; Standard parameters hold at most "
                f"{STANDARD_VALUE_BYTES} bytes. Use the Advanced tier for up to "
                f"{ADVANCED_VALUE_BYTES} bytes.",
            )
        if has_policies:
            raise fail(
                "ValidationException",
                "Parameter policies need the Advanced tier (or Intelligent-Tiering).",
            )
    return tier


# -- labels -----------------------------------------------------------------------------------


def label_is_valid(label: str) -> bool:
    """AWS's label rules; an invalid label is reported in InvalidLabels, not raised."""
    return (
        bool(_LABEL.fullmatch(label))
        and not label[0].isdigit()
        and not label.lower().startswith(("aws", "ssm"))
    )


def check_labels_request(labels: list[str]) -> None:
    if not 1 <= len(labels) <= MAX_LABELS_PER_VERSION:
        raise fail(
            "ValidationException",
            f"Give between 1 and {MAX_LABELS_PER_VERSION} labels; {len(labels)} were given.",
        )
    for label in labels:
        if not 1 <= len(label) <= MAX_LABEL_LENGTH:
            raise fail(
                "ValidationException",
                f"Labels are 1 to {MAX_LABEL_LENGTH} characters long; one has {len(label)}.",
            )


# -- tags -------------------------------------------------------------------------------------


def check_tags(tags: list[dict[str, str]]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for tag in tags:
        key, value = tag.get("Key"), tag.get("Value", "")
        if not isinstance(key, str) or not 1 <= len(key) <= 128 or not _TAG_TEXT.fullmatch(key):
            raise fail("ValidationException", f"Tag key {key!r} is not valid (1-128 characters).")
        if key.lower().startswith("aws:"):
            raise fail("ValidationException", f"Tag key {key!r} uses the reserved prefix aws:.")
        if not isinstance(value, str) or len(value) > 256 or not _TAG_TEXT.fullmatch(value):
            raise fail("ValidationException", f"The value of tag {key!r} is not valid (0-256 characters).")
        out.append((key, value))
    if len({k for k, _ in out}) != len(out):
        raise fail("ValidationException", "The same tag key is given twice.")
    return out


# -- policies ---------------------------------------------------------------------------------

POLICY_TYPES = ("Expiration", "ExpirationNotification", "NoChangeNotification")
_UNITS = {"Days": timedelta(days=1), "Hours": timedelta(hours=1)}


@dataclass(frozen=True)
class Policy:
    """One parsed parameter policy. ``at`` is the Expiration time; ``amount`` is Before/After."""

    type: str
    text: str
    at: datetime | None = None
    amount: timedelta | None = None


def parse_policies(text: str, *, now: datetime) -> list[Policy]:
    """Parse and check a Policies JSON array."""
    if len(text) > MAX_POLICIES_TEXT:
        raise fail(
            "ValidationException",
            f"Policies may be at most {MAX_POLICIES_TEXT} characters of JSON.",
        )
    try:
        raw = json.loads(text)
    except ValueError:
        raise fail("InvalidPolicyAttributeException", "Policies is not valid JSON.") from None
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise fail("InvalidPolicyAttributeException", "Policies must be a JSON array of policies.")
    if len(raw) > MAX_POLICIES:
        raise fail(
            "PoliciesLimitExceededException",
            f"A parameter may have at most {MAX_POLICIES} policies; {len(raw)} were given.",
        )
    out: list[Policy] = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise fail("InvalidPolicyAttributeException", "Each policy must be a JSON object.")
        kind = entry.get("Type")
        if kind not in POLICY_TYPES:
            raise fail(
                "InvalidPolicyTypeException",
                f"Policy type {kind!r} is not supported; use {', '.join(POLICY_TYPES)}.",
            )
        if entry.get("Version", "1.0") != "1.0":
            raise fail("InvalidPolicyAttributeException", f"{kind} policy Version must be \"1.0\".")
        attrs = entry.get("Attributes")
        if not isinstance(attrs, dict):
            raise fail("InvalidPolicyAttributeException", f"{kind} policy needs Attributes.")
        policy_text = json.dumps(entry, separators=(",", ":"))
        if kind == "Expiration":
            at = _parse_timestamp(attrs.get("Timestamp"))
            if at <= now:
                raise fail(
                    "InvalidPolicyAttributeException",
                    "The Expiration Timestamp must be in the future.",
                )
            out.append(Policy(kind, policy_text, at=at))
        else:
            field = "Before" if kind == "ExpirationNotification" else "After"
            amount = attrs.get(field)
            unit = attrs.get("Unit")
            if unit not in _UNITS:
                raise fail("InvalidPolicyAttributeException", f"{kind} Unit must be Days or Hours.")
            try:
                count = int(str(amount))
            except ValueError:
                raise fail(
                    "InvalidPolicyAttributeException", f"{kind} {field} must be a whole number."
                ) from None
            if count < 1:
                raise fail("InvalidPolicyAttributeException", f"{kind} {field} must be at least 1.")
            out.append(Policy(kind, policy_text, amount=count * _UNITS[unit]))
    kinds = [p.type for p in out]
    for kind in POLICY_TYPES:
        if kinds.count(kind) > 1:
            raise fail(
                "IncompatiblePolicyException",
                f"Policies conflict: a parameter may have only one {kind} policy.",
            )
    if "ExpirationNotification" in kinds and "Expiration" not in kinds:
        raise fail(
            "IncompatiblePolicyException",
            "Policies conflict: an ExpirationNotification needs an Expiration policy.",
        )
    return out


def _parse_timestamp(value: object) -> datetime:
    if not isinstance(value, str):
        raise fail("InvalidPolicyAttributeException", "Expiration needs a Timestamp string.")
    try:
        return wire.parse_iso8601(value)
    except ValueError:
        raise fail(
            "InvalidPolicyAttributeException",
            f"Expiration Timestamp {value!r} is not an ISO 8601 time.",
        ) from None
