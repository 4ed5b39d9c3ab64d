"""Development sessions. ``nox`` alone runs lint, types and tests on the current Python.

No session pins a Python version by default, so a machine with one interpreter runs
them all; ``nox -s tests_all_pythons`` is the opt-in run over every supported version.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

nox.options.sessions = ["lint", "types", "tests"]
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
