"""The README's promises: its two lines are what CI and the demo really run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _readme_lines() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def test_readme_opens_with_two_copy_paste_lines() -> None:
    """The first code block holds exactly two commands: the demo and the tests."""
    lines = _readme_lines()
    assert len(lines) == 2
    assert lines[0].endswith("tarry demo")
    assert "nox" in lines[1]


def test_ci_runs_the_readme_test_line() -> None:
    """.ci/run executes the README's test line verbatim, so a missing step fails CI."""
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _readme_lines()[1] in ci


def test_demo_command_runs_and_succeeds() -> None:
    """`python -m tarry demo` (the README's main job) exits 0 and shows each outcome.

    The only run of the demo in the suite; tests/test_cli.py covers the other commands.
    """
    done = subprocess.run(
        [sys.executable, "-m", "tarry", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    # Each scenario's outcome, in order: started, failed with the server's message,
    # Google response, Azure retries with Retry-After, then a timeout.
    outcomes = [line.strip() for line in out.splitlines() if line.strip().startswith("-> ")]
    assert [line.split()[1].rstrip(":") for line in outcomes] == [
        "succeeded",
        "OperationFailed",
        "succeeded",
        "succeeded",
        "OperationTimedOut",
    ]
    assert "table not found" in outcomes[1]
    assert "instances/demo" in outcomes[2]
    assert "503 Service Unavailable, Retry-After: 1" in out
    assert "every wait ended as expected" in out
    assert "Traceback" not in out + done.stderr
