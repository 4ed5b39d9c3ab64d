"""Run one fuzz target under atheris, count what happened, keep what crashed.

Used as ``python fuzz/fuzz_core.py [--seconds N] [--summary FILE] [libFuzzer args]``.

libFuzzer stops at the first crash and exits without a word to Python, so this runner
wraps the target instead: it counts executions, catches an invariant violation, saves
the input under ``fuzz/crashes/<target>/crash-<hash>`` with its traceback printed once
per distinct failure (same exception type at the same line), and goes on fuzzing.
When the time is up it prints one line (executions, seconds, crashes) and, with
``--summary``, writes the same figures as JSON for the nox session to tabulate.

Given files instead of a directory (``python fuzz/fuzz_core.py crash-1a2b``), it
replays them and lets the first failure raise with its full traceback.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import re
import sys
import time
import traceback
import types
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["main"]

HERE = Path(__file__).resolve().parent

Target = Callable[[bytes], None]


def _instrument(prefixes: Sequence[str]) -> int:
    """Add coverage feedback to every loaded function of the named packages."""
    import atheris

    count = 0
    for obj in gc.get_objects():
        if not isinstance(obj, types.FunctionType):
            continue
        module = getattr(obj, "__module__", None) or ""
        if module.split(".")[0] in prefixes:
            atheris.instrument_func(obj)
            count += 1
    return count


def _signature(exc: BaseException) -> str:
    """Where a failure happened: its type and the innermost frame, not its data."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
    if isinstance(exc, AssertionError):
        # One assertion can catch several faults: tell them apart by the message's
        # wording, without the quoted values and numbers that change with each input.
        wording = re.sub(
            r"'.*?'|\".*?\"|[0-9.]+", "_", str(exc).splitlines()[0] if str(exc) else ""
        )
        return f"AssertionError at {where}: {wording[:60]}"
    return f"{type(exc).__name__} at {where}"


def _take(args: list[str], name: str, default: str | None) -> str | None:
    """Remove ``--name VALUE`` from ``args`` and return VALUE."""
    if name in args:
        at = args.index(name)
        if at + 1 >= len(args):
            raise SystemExit(f"{name} needs a value")
        value = args[at + 1]
        del args[at : at + 2]
        return value
    return default


def main(name: str, target: Target, instrument: Sequence[str] = ("tarry",)) -> None:
    """Fuzz ``target`` (a module's ``test_one_input``) until the time is up."""
    import atheris

    args = sys.argv[1:]
    seconds = float(_take(args, "--seconds", "60") or 60)
    summary = _take(args, "--summary", None)
    files = [a for a in args if not a.startswith("-") and Path(a).is_file()]
    if files:
        for path in files:
            print(f"replaying {path}", file=sys.stderr)
            target(Path(path).read_bytes())
        print(f"{len(files)} inputs replayed without a failure", file=sys.stderr)
        return

    crash_dir = HERE / "crashes" / name
    seen: dict[str, str] = {}
    counts = {"runs": 0, "crashes": 0}
    started = time.monotonic()
    end = started + seconds

    def finish() -> None:
        elapsed = time.monotonic() - started
        figures = {
            "target": name,
            "executions": counts["runs"],
            "seconds": round(elapsed, 1),
            "crashes": counts["crashes"],
            "distinct": len(seen),
            "signatures": sorted(seen),
        }
        print(
            f"{name}: {counts['runs']} executions in {elapsed:.1f} s, "
            f"{counts['crashes']} crashing inputs, {len(seen)} distinct failures",
            file=sys.stderr,
        )
        if summary:
            Path(summary).write_text(json.dumps(figures, indent=2) + "\n")
        sys.stderr.flush()
        sys.stdout.flush()
        os._exit(0)  # libFuzzer would otherwise exit without running Python's cleanup

    def guarded(data: bytes) -> None:
        if time.monotonic() >= end:
            finish()
        counts["runs"] += 1
        try:
            target(data)
        except Exception as exc:
            counts["crashes"] += 1
            key = _signature(exc)
            if key in seen:
                return
            crash_dir.mkdir(parents=True, exist_ok=True)
            path = crash_dir / f"crash-{hashlib.sha1(data).hexdigest()[:12]}"
            path.write_bytes(data)
            seen[key] = str(path)
            print(f"\n=== new failure: {key}; input saved to {path}", file=sys.stderr)
            traceback.print_exception(exc, file=sys.stderr)

    instrumented = _instrument((*instrument, name, "__main__", "_source"))
    print(f"{name}: {instrumented} functions instrumented, {seconds:g} s", file=sys.stderr)
    # A generous per-input timeout: a target stuck this long is a hang worth reporting.
    libfuzzer_args = [sys.argv[0], "-timeout=20", "-rss_limit_mb=4096", *args]
    atheris.Setup(libfuzzer_args, guarded)
    atheris.Fuzz()
    finish()
