"""The ``ssm-local`` command line: one argparse parser with a module per subcommand family.

Each module in ``ssm_local.engine.cli`` named in ``SUBCOMMANDS`` exposes ``register(subparsers)``, which adds
its subcommands and sets ``func`` on each parser; ``func(args)`` returns the exit code. User
errors (every ``SsmLocalError``) are printed as one line without a traceback. Exit codes: 0 for
success, 1 when a document is invalid or a run failed, 2 for bad usage.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ssm_local.grammar.errors import SsmLocalError

SUBCOMMANDS: tuple[str, ...] = (
    "validate", "run", "executions", "commands", "nodes", "param", "docs",
)
"""Modules of ``ssm_local.engine.cli`` that add subcommands, in the order ``--help`` lists them."""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class UsageError(SsmLocalError):
    """Bad command-line usage: a missing file, a malformed flag value."""

    code = "UsageError"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ssm-local",
        description=(
            "Read AWS Systems Manager (SSM) documents and run them for real: validate them "
            "offline, run Command documents on local and SSH nodes, run Automation runbooks."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"ssm_local.engine.cli.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except UsageError as exc:
        print(f"ssm-local: error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except SsmLocalError as exc:
        print(f"ssm-local: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("ssm-local: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
