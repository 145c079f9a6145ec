"""The fuzz suite's hypothesis profile: a fixed number of examples, derandomized, with a deadline
per example, so that the whole suite stays under about a minute on a 2-core CI machine.

``FUZZ_EXAMPLES`` multiplies the example counts for a longer local run
(``FUZZ_EXAMPLES=20 pytest tests/fuzz``); ``derandomize`` keeps CI runs repeatable, so a new
failure is a change in the code, not a lucky draw.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

SCALE = max(1, int(os.environ.get("FUZZ_EXAMPLES", "1")))

settings.register_profile(
    "ssm-local-fuzz",
    max_examples=60 * SCALE,
    deadline=5000 if SCALE == 1 else None,  # milliseconds per example, on a busy machine
    derandomize=SCALE == 1,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                           HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
