"""The benchmark suite still runs: every workload at tiny sizes, no timing judged.

The contenders from other SDKs are installed only by ``nox -s bench``; the quick mode
leaves out whichever are missing, so this runs in the plain test environment.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "bench" / "run.py"

SECTIONS = [
    "## 1. Sync per-poll overhead",
    "## 2. Async per-poll overhead",
    "## 3. Scale: concurrent async waits",
    "## 4. HTTP over loopback",
    "## 5. Deadline accuracy (real clock)",
    "## 6. Polling efficiency (virtual time)",
    "## Profile: function calls per poll",
]


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(RUN), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_quick_run_writes_every_section(tmp_path: Path) -> None:
    """bench/run.py --quick runs every workload and writes a table for each."""
    output = tmp_path / "benchmarks.md"
    done = _bench("--quick", "--output", str(output))
    assert done.returncode == 0, done.stderr
    report = output.read_text(encoding="utf-8")
    assert "QUICK MODE" in report
    assert "## Goals" in report
    for title in SECTIONS:
        assert title in report, title
    assert "| tarry.wait |" in report
    assert "| tarry Linear() (default) |" in report


def test_unknown_workload_is_a_usage_error(tmp_path: Path) -> None:
    """Naming a workload that does not exist fails at once with the list of real ones."""
    done = _bench("--quick", "--only", "sync,warp", "--output", str(tmp_path / "x.md"))
    assert done.returncode == 2
    assert "unknown workload(s): warp" in done.stderr
    assert not (tmp_path / "x.md").exists()


def test_quick_run_needs_an_explicit_output() -> None:
    """A quick run refuses to overwrite docs/benchmarks.md with meaningless figures."""
    done = _bench("--quick", "--only", "efficiency")
    assert done.returncode == 2
    assert "--quick figures mean nothing" in done.stderr


def test_quick_run_says_on_the_terminal_that_no_goal_is_judged(tmp_path: Path) -> None:
    """Tiny sizes give meaningless figures: the terminal says so, and judges no goal."""
    done = _bench("--quick", "--only", "efficiency,async", "--no-write")
    assert done.returncode == 0, done.stderr
    assert "QUICK MODE" in done.stdout
    assert "goal:" in done.stdout
    assert "NOT MET" not in done.stdout
    assert ": met (" not in done.stdout
    assert "not judged (quick)" in done.stdout


def test_bad_arguments_are_refused_before_anything_runs(tmp_path: Path) -> None:
    """Each mistake gets one clear usage line (exit 2), and docs/benchmarks.md is safe."""
    shipped = (ROOT / "docs" / "benchmarks.md").read_bytes()
    empty = tmp_path / "empty"
    empty.mkdir()
    broken = tmp_path / "broken"
    (broken / "tarry").mkdir(parents=True)
    (broken / "tarry" / "__init__.py").write_text("import no_such_module_here\n")
    cases = {
        ("--quick", "--only", ""): "--only names no workload",
        ("--only", "sync"): "--only would replace docs/benchmarks.md",
        ("--quick", "--scale", "", "--no-write"): "--scale takes whole numbers",
        ("--quick", "--output", str(tmp_path / "x.md"), "--no-write"): "contradict each other",
        ("--quick", "--output", str(tmp_path / "no" / "x.md")): "--output: no folder",
        ("--quick", "--candidate", str(tmp_path / "nowhere"), "--no-write"): "no folder",
        ("--quick", "--candidate", str(empty), "--no-write"): "--candidate: no tarry package",
        ("--quick", "--candidate", str(broken), "--no-write"): "ModuleNotFoundError",
    }
    for args, said in cases.items():
        done = _bench(*args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert said in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr, args
    assert (ROOT / "docs" / "benchmarks.md").read_bytes() == shipped
