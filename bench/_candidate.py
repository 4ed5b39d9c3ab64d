"""A second copy of tarry, loaded under another name, to race against the installed one.

``python bench/run.py --candidate /path/to/other/src`` loads ``/path/to/other/src/tarry``
as the package ``tarry_candidate`` and adds it to workloads 1 to 3 beside ``tarry``, in
the same interleaved rounds: the way to measure a change to the core before and after
on a noisy machine. Only the core, the drivers and ``testing`` are used; the core
imports itself relatively, so the two copies never mix.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

NAME = "tarry_candidate"
_loaded: ModuleType | None = None


NEEDED = ("Spec", "wait", "async_wait", "Machine", "Policy")
"""What workloads 1 to 3 use of a candidate."""


class CandidateError(Exception):
    """The candidate folder holds no usable tarry."""


def load(src: Path) -> ModuleType:
    """Import ``src/tarry`` as ``tarry_candidate`` (once)."""
    global _loaded
    if _loaded is not None:
        return _loaded
    if not src.is_dir():
        raise CandidateError(f"no folder {src}")
    package = src / "tarry"
    init = package / "__init__.py"
    if not init.is_file():
        raise CandidateError(f"no tarry package at {package} (give the src folder)")
    spec = importlib.util.spec_from_file_location(
        NAME, init, submodule_search_locations=[str(package)]
    )
    if spec is None or spec.loader is None:
        raise CandidateError(f"cannot import {package}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[NAME] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[NAME]
        raise CandidateError(f"importing {package} failed: {type(exc).__name__}: {exc}") from exc
    missing = [name for name in NEEDED if not hasattr(module, name)]
    if missing:
        del sys.modules[NAME]
        raise CandidateError(f"{package} has no {', '.join(missing)}")
    _loaded = module
    return module


def loaded() -> ModuleType | None:
    """The candidate, if ``--candidate`` was given."""
    return _loaded
