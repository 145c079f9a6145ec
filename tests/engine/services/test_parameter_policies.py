"""Parameter Store contract, part 3: policies (Advanced only), expiration and notification events."""

from __future__ import annotations

import json

import pytest

from ssm_local.engine import Engine
from ssm_local.engine.services import ParameterStoreError
from ssm_local.engine.services.parameter_models import ParameterEvent
from tests.engine.store.backends import FakeClock

HOUR = 3600.0


def code_of(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(ParameterStoreError) as info:
        call(*args, **kwargs)  # type: ignore[operator]
    return info.value.code


def expiration(at: str) -> dict[str, object]:
    return {"Type": "Expiration", "Version": "1.0", "Attributes": {"Timestamp": at}}


def test_policy_validation(engine: Engine) -> None:
    ps = engine.parameters
    ok = json.dumps([expiration("2026-01-02T00:00:00Z")])
    assert code_of(ps.put_parameter, "/p", "v", type="String", policies=ok) == "ValidationException"
    assert ps.put_parameter(
        "/p", "v", type="String", policies=ok, tier="Intelligent-Tiering"
    ).tier == "Advanced"
    cases = [
        ('[{"Type": "Retire", "Version": "1.0", "Attributes": {}}]', "InvalidPolicyTypeException"),
        (json.dumps([expiration("yesterday")]), "InvalidPolicyAttributeException"),
        (json.dumps([expiration("2025-01-01T00:00:00Z")]), "InvalidPolicyAttributeException"),
        (
            json.dumps([expiration("2026-02-01T00:00:00Z"), expiration("2026-03-01T00:00:00Z")]),
            "IncompatiblePolicyException",
        ),
        (
            '[{"Type": "NoChangeNotification", "Version": "1.0",'
            ' "Attributes": {"After": "2", "Unit": "Weeks"}}]',
            "InvalidPolicyAttributeException",
        ),
        (
            '[{"Type": "ExpirationNotification", "Version": "1.0",'
            ' "Attributes": {"Before": "2", "Unit": "Days"}}]',
            "IncompatiblePolicyException",
        ),
        (json.dumps([expiration("2026-02-01T00:00:00Z")] * 11), "PoliciesLimitExceededException"),
        ("not json", "InvalidPolicyAttributeException"),
    ]
    for text, code in cases:
        assert code_of(
            ps.put_parameter, "/q", "v", type="String", tier="Advanced", policies=text
        ) == code, text


def test_expiration_is_enforced(engine: Engine, clock: FakeClock) -> None:
    ps = engine.parameters
    policies = json.dumps(
        [
            expiration("2026-01-03T00:00:00Z"),
            {
                "Type": "ExpirationNotification",
                "Version": "1.0",
                "Attributes": {"Before": "12", "Unit": "Hours"},
            },
        ]
    )
    ps.put_parameter("/exp", "v", type="SecureString", tier="Advanced", policies=policies)
    ps.put_parameter("/other", "v", type="String")
    seen: list[ParameterEvent] = []
    unsubscribe = ps.subscribe(seen.append, poll_interval=None)
    assert ps.get_parameter("/exp").version == 1
    meta = ps.describe_parameters(parameter_filters=[{"Key": "Name", "Values": ["/exp"]}]).items[0]
    assert [(p.policy_type, p.policy_status) for p in meta.policies] == [
        ("Expiration", "Pending"),
        ("ExpirationNotification", "Pending"),
    ]
    assert ps.process_policies() == []
    clock.advance(36 * HOUR + 1)  # 12 hours before expiry
    events = ps.process_policies()
    assert [e.policy_type for e in events] == ["ExpirationNotification"]
    assert ps.process_policies() == []  # once per version
    event = events[0].to_api()
    assert event["detail-type"] == "Parameter Store Policy Action"
    assert event["detail"]["parameter-name"] == "/exp"
    assert event["resources"] == ["arn:aws:ssm:us-east-1:123456789012:parameter/exp"]
    meta = ps.describe_parameters(parameter_filters=[{"Key": "Name", "Values": ["/exp"]}]).items[0]
    assert meta.policies[1].policy_status == "Finished"
    cached = ps.get_parameter("/exp")
    assert cached.version == 1
    clock.advance(12 * HOUR)
    # Gone at the expiry time, even before anything sweeps, and even from the cache.
    assert code_of(ps.get_parameter, "/exp") == "ParameterNotFound"
    assert [p.name for p in ps.describe_parameters().items] == ["/other"]
    assert ps.get_parameters_by_path("/").items[0].name == "/other"
    events = ps.process_policies()
    assert [e.policy_type for e in events] == ["Expiration"]
    assert [e.policy_type for e in seen] == ["ExpirationNotification", "Expiration"]
    assert [e.policy_type for e in ps.list_events(name="/exp")] == [
        "ExpirationNotification", "Expiration"
    ]
    assert ps.list_events(since_id=events[0].id) == []
    unsubscribe()
    # The name is free again.
    assert ps.put_parameter("/exp", "new", type="String").version == 1


def test_no_change_notification(engine: Engine, clock: FakeClock) -> None:
    ps = engine.parameters
    policy = json.dumps(
        [{"Type": "NoChangeNotification", "Version": "1.0", "Attributes": {"After": "2", "Unit": "Days"}}]
    )
    ps.put_parameter("/stale", "1", type="String", tier="Advanced", policies=policy)
    clock.advance(47 * HOUR)
    assert ps.process_policies() == []
    clock.advance(2 * HOUR)
    assert [e.policy_type for e in ps.process_policies()] == ["NoChangeNotification"]
    # A new version restarts the clock; the policy carries over when Policies is left out.
    ps.put_parameter("/stale", "2", overwrite=True)
    clock.advance(24 * HOUR)
    assert ps.process_policies() == []
    clock.advance(25 * HOUR)
    assert [e.policy_type for e in ps.process_policies()] == ["NoChangeNotification"]
    # An empty list removes the policies.
    ps.put_parameter("/stale", "3", overwrite=True, policies="[]")
    clock.advance(100 * HOUR)
    assert ps.process_policies() == []
    assert ps.describe_parameters().items[0].policies == ()
