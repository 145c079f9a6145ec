"""SSM's services on the ssm-local store: Parameter Store and the document registry, so far.

Each service is a class taking a ``Store`` (and what else it needs, injected: a key ring, a
clock, the account and region) and exposing AWS's API as snake_case methods whose results have
``to_api()`` for AWS's response shape. ``engine.Engine`` wires them together.
"""

from __future__ import annotations

from ssm_local.engine.services.keyring import KeyRing
from ssm_local.engine.services.parameter_rules import ParameterStoreError
from ssm_local.engine.services.parameters import ParameterStore

__all__ = ["KeyRing", "ParameterStore", "ParameterStoreError"]
