"""Who may decide an ``aws:approve`` step: a signal's identity matched against the step's Approvers.

On AWS the approver is the IAM principal that calls SendAutomationSignal, and ``Approvers`` lists
IAM user names, user ARNs, role ARNs and assumed-role ARNs. Locally the identity is asserted by
the caller (``--as``, ``SSM_LOCAL_IDENTITY`` or the OS user; ``default_identity``), so an entry
matches an identity when they are equal, or when they name the same principal: a plain name
matches a user or role ARN whose last path segment is that name (``arn:aws:iam::ACCOUNT:user/
PATH/alice`` is ``alice``) and an assumed-role ARN whose role is that name; two ARNs match when
they are in the same account and name the same user, or the same role (a role ARN and a session
of that role). Group ARNs match only themselves. Comparison is exact (case-sensitive). The rules
are in docs/decisions.md ("Security: secrets and identities"); the functions here are pure except
``default_identity``, which reads the OS user.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["IDENTITY_ENV", "approvers_of", "default_identity", "is_approver", "refusal"]

IDENTITY_ENV = "SSM_LOCAL_IDENTITY"


@dataclass(frozen=True)
class _Principal:
    """An IAM principal read from an ARN: account, kind (user, role, group) and name."""

    account: str
    kind: str
    name: str


def _principal(text: str) -> _Principal | None:
    """The principal an IAM or STS ARN names (None for anything else)."""
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    service, account, resource = parts[2], parts[4], parts[5]
    kind, _, path = resource.partition("/")
    if not path:
        return None
    if service == "iam" and kind in ("user", "role", "group"):
        return _Principal(account, kind, path.rsplit("/", 1)[-1])
    if service == "sts" and kind == "assumed-role":
        return _Principal(account, "role", path.split("/", 1)[0])
    return None


def _matches(entry: str, identity: str) -> bool:
    if entry == identity:
        return True
    wanted, caller = _principal(entry), _principal(identity)
    if wanted is not None and caller is not None:
        return wanted.kind != "group" and wanted == caller
    if wanted is not None:  # an ARN entry, a plain local identity
        return wanted.kind != "group" and wanted.name == identity
    if caller is not None:  # a plain name entry, an ARN identity
        return caller.kind != "group" and caller.name == entry
    return False


def approvers_of(inputs: Mapping[str, Any]) -> list[str] | None:
    """The Approvers of an aws:approve step's resolved inputs: ``Approvers`` (a list, or one
    string), else the ``approver`` names of ``EnhancedApprovals.Approvers``; None when the step
    names none (then anyone may decide)."""
    value = inputs.get("Approvers")
    if value is None:
        enhanced = inputs.get("EnhancedApprovals")
        if isinstance(enhanced, Mapping) and isinstance(enhanced.get("Approvers"), list):
            value = [a.get("approver") for a in enhanced["Approvers"] if isinstance(a, Mapping)]
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    return [str(item) for item in items if item is not None]


def is_approver(identity: str, approvers: list[str] | None) -> bool:
    """Whether ``identity`` may approve or reject a step with these ``approvers`` (None: any)."""
    return approvers is None or any(_matches(entry, identity) for entry in approvers)


def refusal(identity: str, step_name: str, approvers: list[str] | None) -> str | None:
    """The InvalidAutomationSignalException message when ``identity`` is not an approver of
    ``step_name``, else None."""
    if is_approver(identity, approvers):
        return None
    return (f"{identity} is not an approver of step {step_name} "
            f"(Approvers: {', '.join(approvers or [])}).")


def default_identity(environ: Mapping[str, str] | None = None) -> str:
    """Who sends signals when nobody says: ``SSM_LOCAL_IDENTITY`` (from ``environ``, default
    ``os.environ``), else the name of the OS user this process runs as (its uid if it has no
    name)."""
    env = os.environ if environ is None else environ
    if env.get(IDENTITY_ENV):
        return env[IDENTITY_ENV]
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        return str(os.getuid()) if hasattr(os, "getuid") else "ssm-local-user"
