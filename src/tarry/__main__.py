"""The ``tarry`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ._cli import add_commands, dispatch

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, also read by the docs to render the command-line reference."""
    parser = argparse.ArgumentParser(
        prog="tarry",
        description="Wait on long-running operations.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    commands.add_parser(
        "demo",
        help="show waits that succeed, fail, time out and ride out errors, with progress",
        description="Start the embedded operations server on 127.0.0.1 and show real "
        "waits against it: success, failure with a message, a timeout, and retries.",
    )
    add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import run_demo

        return run_demo(sys.stdout)
    if args.command in ("wait", "serve"):
        return dispatch(args.command)(args)
    raise AssertionError(f"unhandled command {args.command!r}")  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
