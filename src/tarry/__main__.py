"""The ``tarry`` command line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ._cli import EXIT_INTERRUPTED, add_commands, dispatch

__all__ = ["build_parser", "main"]

EPILOG = """\
examples:
  tarry demo                       # real waits against a local fake API (about 15 s)
  tarry serve                      # that fake API in the foreground, to try tarry wait
  tarry wait https://api.example.com/v1/things/42 --state status.phase \\
      --success Ready --failure Failed --timeout 600 | jq .

exit codes of tarry wait: 0 success, 1 operation failed, 2 usage or HTTP error,
  124 timed out, 130 interrupted (Ctrl-C); see tarry wait --help
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, also read by the docs to render the command-line reference."""
    parser = argparse.ArgumentParser(
        prog="tarry",
        description="Wait on long-running operations.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    """Run the command line; returns the process exit code.

    Ctrl-C ends any command with exit code 130 and one line, never a traceback; a
    reader that closes the pipe early (``tarry wait ... | head -1``) ends it quietly.
    """
    try:
        return _run(argv)
    except KeyboardInterrupt:
        sys.stderr.write("\ntarry: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # Python would complain again when it flushes stdout at exit: point it elsewhere.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 1


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        try:
            from .demo import run_demo
        except ModuleNotFoundError as exc:
            if exc.name not in ("httpx", "h11"):
                raise
            sys.stderr.write("tarry demo needs the http extra: pip install 'tarry[http]'\n")
            return 2
        return run_demo(sys.stdout)
    if args.command in ("wait", "serve"):
        return dispatch(args.command)(args)
    raise AssertionError(f"unhandled command {args.command!r}")  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
