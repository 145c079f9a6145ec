"""``python -m engine.cli``: the same as the ``ssm-local`` command."""

from __future__ import annotations

import sys

from engine.cli import main

sys.exit(main())
