"""The ``dnsp`` command line.

Every module in this package except this one is a subcommand: it defines ``NAME`` (the
command), ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``. Modules
import heavy dependencies inside ``run`` so that ``dnsp --help`` stays fast. Errors of type
:class:`dnsp.errors.DnspError` are printed as one line on stderr (exit 2); anything else is an
internal error (exit 1) whose traceback is shown with ``--debug``.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import traceback
from collections.abc import Sequence
from types import ModuleType

from dnsp import __version__
from dnsp.errors import DnspError
from dnsp.messages import show_messages


def _commands() -> list[ModuleType]:
    mods = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        mods.append(importlib.import_module(f"{__name__}.{info.name}"))
    return sorted(mods, key=lambda m: m.NAME)


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with one subparser per command module."""
    parser = argparse.ArgumentParser(
        prog="dnsp",
        description="Deep MR brain image super-resolution with spatio-structural priors (DNSP).",
    )
    parser.add_argument("--version", action="version", version=f"dnsp {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show full tracebacks instead of one-line errors"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in _commands():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show full tracebacks instead of one-line errors")
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dnsp`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 0
    debug = bool(getattr(args, "debug", False))
    show_messages()
    try:
        return int(args._run(args) or 0)
    except DnspError as exc:
        if debug:
            traceback.print_exc()
        print(f"dnsp {args.command}: error: {exc}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))
    except KeyboardInterrupt:
        print(f"dnsp {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # last-resort report
        if debug:
            traceback.print_exc()
        else:
            print(
                f"dnsp {args.command}: internal error: {type(exc).__name__}: {exc} "
                "(run with --debug for the traceback)",
                file=sys.stderr,
            )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
