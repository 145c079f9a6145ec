"""The ``ssm-local`` command line: one argparse parser with a module per subcommand family.

Each module in ``ssm_local.engine.cli`` named in ``SUBCOMMANDS`` exposes ``register(subparsers)``, which adds
its subcommands and sets ``func`` on each parser; ``func(args)`` returns the exit code. User
errors (every ``SsmLocalError``) are printed as one line without a traceback. Exit codes: 0 for
success, 1 when a document is invalid or a run or request failed, 2 for bad usage (an unknown
flag, a missing file, a flag that does not apply to the document's kind), 130 / 143 when
interrupted (SIGINT / SIGTERM), 141 when the reader of the output went away (``| head``), as a
shell reports SIGPIPE. ``docs/cli.md`` lists every command and flag.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from ssm_local.grammar.errors import SsmLocalError
from ssm_local.grammar.limits import lone_surrogate

SUBCOMMANDS: tuple[str, ...] = (
    "validate", "run", "executions", "commands", "nodes", "param", "docs",
)
"""Modules of ``ssm_local.engine.cli`` that add subcommands, in the order ``--help`` lists them."""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 141


class UsageError(SsmLocalError):
    """Bad command-line usage: a missing file, a malformed flag value."""

    code = "UsageError"


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose usage errors never repeat a password: an argument such as a store
    URL (``postgresql://user:secret@host/db``) is shown as ``user:***@host``. Subcommand parsers
    are of this class too (argparse makes them with the parent's class)."""

    def error(self, message: str) -> NoReturn:
        import re

        super().error(re.sub(r"(://[^/:@\s'\"]*:)[^@\s'\"]*@", r"\1***@", message))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ssm-local",
        description=(
            "Read AWS Systems Manager (SSM) documents and run them for real: validate them "
            "offline, run Command documents on local and SSH nodes, run Automation runbooks."
        ),
    )
    parser.add_argument("--version", action=_VersionAction, nargs=0,
                        help="show the program's version number and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"ssm_local.engine.cli.{name}")
        module.register(sub)
    return parser


class _VersionAction(argparse.Action):
    """``--version``: like argparse's own (``ssm-local --version`` alone is answered before the
    parser is even built, see ``_main``)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        sys.stdout.write(f"ssm-local {_version()}\n")
        parser.exit()


def _version() -> str:
    from ssm_local import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader went away (``ssm-local ... | head``): stop quietly. Point stdout at
        # /dev/null so the interpreter's own flush at exit does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def _main(argv: Sequence[str] | None) -> int:
    undecodable = _undecodable_argument(sys.argv[1:] if argv is None else argv)
    if undecodable is not None:
        print(f"ssm-local: error: {undecodable}", file=sys.stderr)
        return EXIT_USAGE
    if list(sys.argv[1:] if argv is None else argv) == ["--version"]:  # the cheapest answer
        sys.stdout.write(f"ssm-local {_version()}\n")
        return EXIT_OK
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        from ssm_local.engine.cli.output import apply_cli_input_json

        apply_cli_input_json(args)
        code: int = args.func(args)
    except UsageError as exc:
        print(f"ssm-local: error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except SsmLocalError as exc:
        print(f"ssm-local: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except UnicodeDecodeError as exc:  # standard input or a file read as text
        print(f"ssm-local: error: input is not UTF-8 text (invalid byte 0x{exc.object[exc.start]:02X} "
              f"at offset {exc.start})", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        raise  # main() ends quietly
    except OSError as exc:  # the machine refused: a permission, a full disk, a path in the way
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"ssm-local: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("ssm-local: interrupted", file=sys.stderr)
        return 130
    return code


def _undecodable_argument(argv: Sequence[str]) -> str | None:
    """Why an argument cannot be used, when one is not UTF-8: Python hands such bytes over as
    lone surrogates (``surrogateescape``), which no store, document or output can hold."""
    for index, arg in enumerate(argv, start=1):
        surrogate = lone_surrogate(arg)
        if surrogate is not None:
            code = int(surrogate[2:], 16)
            byte = f"byte 0x{code - 0xDC00:02X}" if 0xDC80 <= code <= 0xDCFF else surrogate
            return f"argument {index} is not UTF-8 text ({byte})"
    return None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
