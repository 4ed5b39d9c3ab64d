"""The fuzz targets in fuzz/, replayed in the normal test run so they never rot.

Every committed seed (crashing inputs found by the fuzzer included) goes through its
target's ``test_one_input``, and hypothesis feeds each target arbitrary bytes too. A
target raises only when its invariant is broken, so any failure here is a real bug.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ = Path(__file__).resolve().parent.parent / "fuzz"
TARGETS = sorted(p.stem for p in FUZZ.glob("fuzz_*.py"))
SEEDS = sorted(
    (target, seed.name)
    for target in TARGETS
    for seed in (FUZZ / "corpus" / target).glob("*")
    if seed.is_file()
)

# Crashing inputs kept as seeds whose bug is not fixed yet, with what goes wrong. Strict
# xfail: once the bug is fixed the seed passes, the test fails, and the entry must go.
KNOWN: dict[str, str] = {}

# How many arbitrary inputs hypothesis tries per target; the server target talks over
# a socket for each one, so it gets fewer.
EXAMPLES = {"fuzz_server": 40}


def _load(target: str) -> ModuleType:
    if str(FUZZ) not in sys.path:
        sys.path.insert(0, str(FUZZ))
    return importlib.import_module(target)


def _entry(target: str) -> Callable[[bytes], None]:
    return cast(Callable[[bytes], None], _load(target).test_one_input)


def test_targets_found() -> None:
    """fuzz/ holds the five targets the README describes."""
    assert set(TARGETS) >= {
        "fuzz_core",
        "fuzz_retry_after",
        "fuzz_conventions",
        "fuzz_urls",
        "fuzz_server",
    }


@pytest.mark.parametrize("target", TARGETS)
def test_target_is_documented_and_needs_no_atheris(target: str) -> None:
    """Each target states its invariant at the top, imports without atheris, has seeds."""
    had_atheris = "atheris" in sys.modules
    module = _load(target)
    assert module.__doc__ is not None
    assert "Invariant" in module.__doc__
    assert callable(module.test_one_input)
    assert had_atheris or "atheris" not in sys.modules
    assert any((FUZZ / "corpus" / target).iterdir())


def _seed_param(target: str, seed: str) -> Any:
    reason = KNOWN.get(f"{target}/{seed}")
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(target, seed, id=f"{target}/{seed}", marks=marks)


@pytest.mark.parametrize(("target", "seed"), [_seed_param(t, s) for t, s in SEEDS])
def test_seed(target: str, seed: str) -> None:
    """A committed seed input keeps its target's invariant."""
    _entry(target)((FUZZ / "corpus" / target / seed).read_bytes())


@pytest.fixture(autouse=True, scope="module")
def _stop_servers() -> Iterator[None]:
    """Targets that start a server (fuzz_server) stop it when this module is done."""
    yield
    for target in TARGETS:
        module = sys.modules.get(target)
        stop = getattr(module, "stop", None)
        if callable(stop):
            stop()


@pytest.mark.parametrize("target", TARGETS)
def test_arbitrary_bytes(target: str) -> None:
    """Arbitrary bytes keep each target's invariant."""
    entry = _entry(target)

    @settings(
        max_examples=EXAMPLES.get(target, 150),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        database=None,
        derandomize=True,
    )
    @given(st.binary(max_size=512))
    def check(data: bytes) -> None:
        entry(data)

    check()
