"""``python -m ssm_local.engine.cli``: the same as the ``ssm-local`` command."""

from __future__ import annotations

import sys

from ssm_local.engine.cli import main

sys.exit(main())
