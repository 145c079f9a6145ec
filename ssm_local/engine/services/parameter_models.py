"""What Parameter Store answers: frozen dataclasses with ``to_api()`` giving AWS's response shape.

Field names are snake_case versions of AWS's (``last_modified_date`` for ``LastModifiedDate``);
``to_api()`` returns the dict the SSM API would, with datetimes left as aware ``datetime``
objects (the HTTP layer turns them into epoch seconds, the CLI into ISO 8601). A SecureString
read without decryption carries the ciphertext, never the plaintext, as AWS does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from ssm_local.engine.wire import drop_none

T = TypeVar("T")


@dataclass(frozen=True)
class InlinePolicy:
    """One policy attached to a parameter, with its status (Pending or Finished)."""

    policy_text: str
    policy_type: str
    policy_status: str

    def to_api(self) -> dict[str, Any]:
        return {
            "PolicyText": self.policy_text,
            "PolicyType": self.policy_type,
            "PolicyStatus": self.policy_status,
        }


@dataclass(frozen=True)
class Parameter:
    """GetParameter's ``Parameter``: one value of one version."""

    name: str
    type: str
    value: str
    version: int
    last_modified_date: datetime
    arn: str
    data_type: str
    selector: str | None = None

    def to_api(self) -> dict[str, Any]:
        return drop_none(
            {
                "Name": self.name,
                "Type": self.type,
                "Value": self.value,
                "Version": self.version,
                "Selector": self.selector,
                "LastModifiedDate": self.last_modified_date,
                "ARN": self.arn,
                "DataType": self.data_type,
            }
        )

    def __repr__(self) -> str:  # a SecureString's plaintext must not land in a log by accident
        shown = "***" if self.type == "SecureString" else repr(self.value)
        return f"Parameter(name={self.name!r}, type={self.type!r}, version={self.version}, value={shown})"


@dataclass(frozen=True)
class ParameterMetadata:
    """DescribeParameters' ``ParameterMetadata``: everything but the value."""

    name: str
    arn: str
    type: str
    key_id: str | None
    last_modified_date: datetime
    last_modified_user: str
    description: str | None
    allowed_pattern: str | None
    version: int
    tier: str
    policies: tuple[InlinePolicy, ...]
    data_type: str

    def to_api(self) -> dict[str, Any]:
        return drop_none(
            {
                "Name": self.name,
                "ARN": self.arn,
                "Type": self.type,
                "KeyId": self.key_id,
                "LastModifiedDate": self.last_modified_date,
                "LastModifiedUser": self.last_modified_user,
                "Description": self.description,
                "AllowedPattern": self.allowed_pattern,
                "Version": self.version,
                "Tier": self.tier,
                "Policies": [p.to_api() for p in self.policies],
                "DataType": self.data_type,
            }
        )


@dataclass(frozen=True)
class ParameterHistory:
    """GetParameterHistory's entry: one retained version with its labels."""

    name: str
    type: str
    key_id: str | None
    last_modified_date: datetime
    last_modified_user: str
    description: str | None
    value: str
    allowed_pattern: str | None
    version: int
    labels: tuple[str, ...]
    tier: str
    policies: tuple[InlinePolicy, ...]
    data_type: str

    def to_api(self) -> dict[str, Any]:
        return drop_none(
            {
                "Name": self.name,
                "Type": self.type,
                "KeyId": self.key_id,
                "LastModifiedDate": self.last_modified_date,
                "LastModifiedUser": self.last_modified_user,
                "Description": self.description,
                "Value": self.value,
                "AllowedPattern": self.allowed_pattern,
                "Version": self.version,
                "Labels": list(self.labels),
                "Tier": self.tier,
                "Policies": [p.to_api() for p in self.policies],
                "DataType": self.data_type,
            }
        )

    def __repr__(self) -> str:
        return f"ParameterHistory(name={self.name!r}, version={self.version}, type={self.type!r})"


@dataclass(frozen=True)
class PutParameterResult:
    """PutParameter's answer: ``{"Version", "Tier"}``."""

    version: int
    tier: str

    def to_api(self) -> dict[str, Any]:
        return {"Version": self.version, "Tier": self.tier}


@dataclass(frozen=True)
class GetParametersResult:
    """GetParameters' answer: ``{"Parameters": [Parameter], "InvalidParameters": [str]}``."""

    parameters: tuple[Parameter, ...]
    invalid_parameters: tuple[str, ...]

    def to_api(self) -> dict[str, Any]:
        return {
            "Parameters": [p.to_api() for p in self.parameters],
            "InvalidParameters": list(self.invalid_parameters),
        }


@dataclass(frozen=True)
class DeleteParametersResult:
    """DeleteParameters' answer: ``{"DeletedParameters": [str], "InvalidParameters": [str]}``."""

    deleted_parameters: tuple[str, ...]
    invalid_parameters: tuple[str, ...]

    def to_api(self) -> dict[str, Any]:
        return {
            "DeletedParameters": list(self.deleted_parameters),
            "InvalidParameters": list(self.invalid_parameters),
        }


@dataclass(frozen=True)
class LabelParameterVersionResult:
    """LabelParameterVersion's answer: ``{"InvalidLabels": [str], "ParameterVersion": int}``."""

    invalid_labels: tuple[str, ...]
    parameter_version: int

    def to_api(self) -> dict[str, Any]:
        return {"InvalidLabels": list(self.invalid_labels), "ParameterVersion": self.parameter_version}


@dataclass(frozen=True)
class UnlabelParameterVersionResult:
    """UnlabelParameterVersion's answer: ``{"RemovedLabels": [str], "InvalidLabels": [str]}``."""

    removed_labels: tuple[str, ...]
    invalid_labels: tuple[str, ...]

    def to_api(self) -> dict[str, Any]:
        return {"RemovedLabels": list(self.removed_labels), "InvalidLabels": list(self.invalid_labels)}


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a paged answer; ``next_token`` is None on the last page."""

    items: tuple[T, ...]
    next_token: str | None = None
    key: str = "Items"

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {self.key: [item.to_api() for item in self.items]}  # type: ignore[attr-defined]
        if self.next_token is not None:
            out["NextToken"] = self.next_token
        return out


@dataclass(frozen=True)
class ParameterEvent:
    """A policy event, shaped like the EventBridge event AWS sends (``event``)."""

    id: int
    time: datetime
    name: str
    policy_type: str
    event: dict[str, Any] = field(hash=False, compare=False)

    def to_api(self) -> dict[str, Any]:
        return self.event
