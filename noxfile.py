"""Development sessions. ``nox`` alone runs lint, types, tests and docs on the current Python.

No session pins a Python version by default, so a machine with one interpreter runs
them all; ``nox -s tests_all_pythons`` is the opt-in run over every supported version.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import nox

nox.options.sessions = ["lint", "types", "tests", "docs"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = False

ROOT = Path(__file__).parent
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff: lint rules and formatting."""
    session.install("-e", ".[lint]")
    session.run("ruff", "check", "src", "tests", "fuzz", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "fuzz", "noxfile.py")


@nox.session
def types(session: nox.Session) -> None:
    """mypy --strict over the library and its tests."""
    session.install("-e", ".[types]")
    session.run("mypy")


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite with branch coverage (a few minutes on two cores)."""
    session.install("-e", ".[test]")
    session.run("coverage", "erase")
    session.run("coverage", "run", "-m", "pytest", *session.posargs)
    session.run("coverage", "combine", success_codes=[0, 1])
    session.run("coverage", "report")


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site, warnings as errors: broken references and public names
    without a docstring fail the build. The examples run in the tests session."""
    session.install("-e", ".[docs]")
    out = ROOT / "docs" / "_build" / "html"
    session.run("sphinx-build", "-W", "--keep-going", "-n", "-q", "-E", "docs", str(out))
    session.log(f"the site is in {out}")


BENCH_CONTENDERS = [
    "databricks-sdk==0.167.0",
    "polling2==0.5.0",
    "google-api-core==2.44.0",
    "botocore==1.44.8",
    "backoff==2.2.1",
    "tenacity==9.2.1",
    "azure-core==1.41.0",
    "pyinstrument==5.1.3",
]
"""The versions bench/ patches and re-states; another version may move what it patches."""


@nox.session
def bench(session: nox.Session) -> None:
    """Opt-in: tarry against other SDKs' waiting loops; writes docs/benchmarks.md.
    ``nox -s bench -- --quick --no-write`` only checks that every workload runs."""
    session.install("-e", ".[http,trio]", *BENCH_CONTENDERS)
    session.run("python", "bench/run.py", *session.posargs)


def _pyenv_python(version: str) -> str | None:
    """An interpreter for ``version`` from pyenv, if the machine has one."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    for candidate in sorted(root.glob(f"{version}.*"), reverse=True):
        exe = candidate / "bin" / "python3"
        if exe.exists():
            return str(exe)
    return shutil.which(f"python{version}")


@nox.session(python=False)
def tests_all_pythons(session: nox.Session) -> None:
    """Opt-in: the tests on every supported Python that this machine has."""
    ran = 0
    for version in PYTHONS:
        exe = _pyenv_python(version)
        if exe is None:
            session.log(f"Python {version} not found, skipped")
            continue
        venv = ROOT / ".nox" / f"all-{version}"
        session.run(exe, "-m", "venv", "--clear", str(venv), external=True)
        py = str(venv / "bin" / "python")
        session.run(py, "-m", "pip", "install", "-q", "--upgrade", "pip", external=True)
        session.run(py, "-m", "pip", "install", "-q", "-e", ".[test]", external=True)
        session.run(
            py, "-m", "pytest", "-q", "-p", "no:cacheprovider", *session.posargs, external=True
        )
        ran += 1
    if not ran:
        session.error("no supported Python found")


def _fuzz_options(args: list[str]) -> tuple[float, list[str]]:
    """``--seconds N`` (per target) and target names (``core`` or ``fuzz_core``)."""
    seconds, names = 60.0, []
    rest = iter(args)
    for arg in rest:
        if arg == "--seconds":
            seconds = float(next(rest, "60"))
        elif arg.startswith("--seconds="):
            seconds = float(arg.partition("=")[2])
        else:
            names.append(arg.removeprefix("fuzz_").removesuffix(".py"))
    return seconds, names


@nox.session
def fuzz(session: nox.Session) -> None:
    """Opt-in: each fuzz target under atheris, 60 s each (``-- --seconds 10 core urls``)."""
    import json

    seconds, names = _fuzz_options(session.posargs)
    targets = sorted(p.stem for p in (ROOT / "fuzz").glob("fuzz_*.py"))
    if names:
        targets = [t for t in targets if t.removeprefix("fuzz_") in names]
        if not targets:
            session.error(f"no fuzz target named {', '.join(names)}")
    session.install("-e", ".[http]", "atheris")
    rows = []
    for target in targets:
        work = ROOT / "fuzz" / ".work" / target
        (work / "corpus").mkdir(parents=True, exist_ok=True)
        summary = work / "summary.json"
        summary.unlink(missing_ok=True)
        session.run(
            "python",
            f"fuzz/{target}.py",
            "--seconds",
            str(seconds),
            "--summary",
            str(summary),
            str(work / "corpus"),
            f"fuzz/corpus/{target}",
        )
        rows.append(json.loads(summary.read_text()))
    session.log(f"{'target':<20} {'executions':>12} {'seconds':>8} {'crashes':>8}")
    for row in rows:
        session.log(
            f"{row['target']:<20} {row['executions']:>12} {row['seconds']:>8} {row['crashes']:>8}"
        )
        for signature in row["signatures"]:
            session.log(f"    {signature}")
    if any(row["crashes"] for row in rows):
        session.error("crashing inputs were saved under fuzz/crashes/")


AZURE_TESTSERVER = ("@microsoft.azure/autorest.testserver", "3.3.51")
AZURE_PYTHON = ["azure-core==1.41.0", "azure-mgmt-core==1.6.0", "aiohttp>=3.9"]
"""The versions docs/interop-azure.md was recorded with (tests/interop/azure_recorded.py)."""

AWS_PYTHON = [
    "moto[server]==5.2.5",
    "boto3==1.43.117",
    "botocore==1.43.117",
    "aiobotocore==3.10.0",
]
"""The versions docs/interop-aws.md was measured with (pinned: unpinned, pip backtracks
for minutes over boto3 and aiobotocore's narrow botocore ranges)."""


def _azure_testserver(session: nox.Session) -> Path:
    """Install Azure's LRO test server from npm into .cache/azure-testserver, once per version."""
    name, version = AZURE_TESTSERVER
    folder = ROOT / ".cache" / "azure-testserver"
    manifest = folder / "node_modules" / name / "package.json"
    if manifest.exists() and json.loads(manifest.read_text()).get("version") == version:
        return folder
    if shutil.which("npm") is None or shutil.which("node") is None:
        session.error("the Azure interop tests need Node.js and npm on PATH")
    folder.mkdir(parents=True, exist_ok=True)
    session.run(
        "npm", "install", "--prefix", str(folder), "--no-audit", "--no-fund",
        f"{name}@{version}", external=True,
    )  # fmt: skip
    return folder


def _stop_azure_testserver(session: nox.Session, pidfile: Path) -> None:
    """Stop the test server by its process id if the tests could not (pytest was killed)."""
    try:
        pid = int(pidfile.read_text())
    except (OSError, ValueError):
        return
    pidfile.unlink(missing_ok=True)
    cmdline = Path(f"/proc/{pid}/cmdline")
    if Path("/proc").is_dir() and (
        not cmdline.exists() or b"autorest.testserver" not in cmdline.read_bytes()
    ):
        return  # already gone (or the id now belongs to another process)
    try:
        os.kill(pid, signal.SIGTERM)
        session.log(f"stopped the Azure test server left running (pid {pid})")
    except ProcessLookupError:
        pass


@nox.session
def interop(session: nox.Session) -> None:
    """Opt-in: tarry against servers other people wrote. Azure: every LRO route of the
    autorest test server (npm; needs Node.js), with azure-core's pollers beside tarry's.
    AWS: botocore's waiters and tarry.aws side by side on moto server, which runs in a
    thread of pytest on 127.0.0.1 and so stops with it, pass or fail."""
    session.install("-e", ".[test]", *AZURE_PYTHON, *AWS_PYTHON)
    azure = _azure_testserver(session)
    pidfile = azure / "server.pid"
    env = {
        "TARRY_INTEROP": "1",
        "TARRY_AZURE_TESTSERVER_DIR": str(azure),
        "TARRY_AZURE_PIDFILE": str(pidfile),
        "TARRY_AWS_REPORT": str(ROOT / ".cache" / "interop-aws.md"),
    }
    try:
        session.run(
            "pytest", "tests/interop", "tests/test_aws_botocore.py", *session.posargs, env=env
        )
    finally:
        _stop_azure_testserver(session, pidfile)
