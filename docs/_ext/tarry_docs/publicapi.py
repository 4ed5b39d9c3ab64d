"""Fail the build when a public name has no docstring or no place in the reference.

The public names are those in ``__all__`` of each module in ``tarry_public_modules``.
Each must be documented somewhere in the site (an autodoc entry or a hand-written
``py:`` directive) and, when autodoc documents it, its docstring must not be empty.

Data re-exported by a package (``tarry.DEFAULT_TIMEOUT`` is defined in a private
module) would otherwise show its type's docstring (``timedelta``'s): the attribute
docstring written under it where it is defined is used instead.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.errors import PycodeError
from sphinx.pycode import ModuleAnalyzer
from sphinx.util import logging

logger = logging.getLogger(__name__)


def public_names(modules: list[str]) -> list[str]:
    """Every ``module.name`` that the public modules export."""
    names = []
    for module_name in modules:
        module = importlib.import_module(module_name)
        exported = getattr(module, "__all__", None)
        if exported is None:
            logger.warning("%s has no __all__", module_name, type="tarry", subtype="public")
            continue
        names.extend(f"{module_name}.{name}" for name in exported)
    return names


def defining_docstring(name: str, obj: object) -> list[str] | None:
    """The attribute docstring of ``obj`` in the module of the package that defines it."""
    package, _, attr = name.rpartition(".")
    root = package.split(".", 1)[0]
    for module_name, module in sorted(sys.modules.items()):
        if module_name != root and not module_name.startswith(root + "."):
            continue
        if module_name == package or getattr(module, attr, None) is not obj:
            continue
        try:
            docs = ModuleAnalyzer.for_module(module_name).find_attr_docs()
        except PycodeError:
            continue
        found = docs.get(("", attr))
        if found:
            return list(found)
    return None


def _record_docstring(
    app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    """Fix re-exported data's docstring; remember public names without one."""
    if what == "data":
        own = defining_docstring(name, obj)
        lines[:] = own if own is not None else []
    if not any(line.strip() for line in lines):
        empty: set[str] = app.env.tarry_empty_docstrings  # type: ignore[attr-defined]
        empty.add(name)


def _reset(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    if not hasattr(env, "tarry_empty_docstrings"):
        env.tarry_empty_docstrings = set()  # type: ignore[attr-defined]


def _merge(app: Sphinx, env: BuildEnvironment, docnames: set[str], other: Any) -> None:
    env.tarry_empty_docstrings |= other.tarry_empty_docstrings  # type: ignore[attr-defined]


def _check(app: Sphinx, env: BuildEnvironment) -> None:
    objects = env.get_domain("py").objects  # type: ignore[attr-defined]
    empty: set[str] = env.tarry_empty_docstrings  # type: ignore[attr-defined]
    for name in public_names(app.config.tarry_public_modules):
        if name not in objects:
            logger.warning(
                "public name %s is missing from the API reference",
                name,
                type="tarry",
                subtype="public",
            )
        elif name in empty:
            logger.warning("public name %s has no docstring", name, type="tarry", subtype="public")


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("tarry_public_modules", ["tarry"], "env", types=[list])
    app.connect("env-before-read-docs", _reset)
    app.connect("env-merge-info", _merge)
    app.connect("autodoc-process-docstring", _record_docstring)
    app.connect("env-check-consistency", _check)
    return {}
