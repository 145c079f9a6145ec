"""The Parameter Store's AllowedPattern is matched in bounded time: a backtracking pattern refuses
a value with AWS's ParameterPatternMismatchException instead of hanging every later put."""

from __future__ import annotations

import pytest

from ssm_local.documents import patterns
from ssm_local.engine import Engine
from ssm_local.engine.services import ParameterStoreError

EVIL = "^(a|a)+$"
INPUT = "a" * 40 + "!"


@pytest.mark.timeout(60)
def test_the_parameter_store_refuses_with_its_own_code(engine: Engine,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(patterns, "PATTERN_TIMEOUT_SECONDS", 0.2)
    store = engine.parameters
    store.put_parameter("/evil", "aaaa", type="String", allowed_pattern=EVIL)
    for _ in range(2):  # each later put of the parameter is bounded too
        with pytest.raises(ParameterStoreError) as info:
            store.put_parameter("/evil", INPUT, overwrite=True)
        assert info.value.code == "ParameterPatternMismatchException"
        assert info.value.message == (
            "The value could not be checked against the parameter's AllowedPattern ^(a|a)+$: the "
            "match took longer than 0.2 s.")
    assert store.get_parameter("/evil").value == "aaaa"
