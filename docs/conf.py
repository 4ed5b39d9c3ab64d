"""Sphinx configuration for the tarry documentation.

Pages are Markdown (MyST); the API reference comes from the docstrings through autodoc;
the state diagram, the timeline picture and the command-line reference are generated at
build time by the small extensions in ``_ext/``. Build with warnings as errors:
``sphinx-build -W --keep-going -n docs docs/_build/html`` (or ``nox -s docs``).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent / "src"))

import tarry  # noqa: E402

project = "tarry"
author = "The tarry authors"
copyright = "The tarry authors"
release = tarry.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "tarry_docs",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path: list[str] = []

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# Names are written short in the pages (``tarry.Wait``), long in the modules.
add_module_names = False
autodoc_typehints = "description"
autodoc_typehints_description_target = "all"
autodoc_member_order = "bysource"
autodoc_preserve_defaults = False
autodoc_default_options = {"members": True}
napoleon_google_docstring = False
napoleon_numpy_docstring = False

nitpicky = True
# Type variables and private aliases the signatures mention: not pages of their own.
nitpick_ignore_regex = [
    (r"py:(class|obj|data)", r"(tarry\.[\w.]+\.)?_?[A-Z]"),
    (r"py:(class|obj|data)", r"tarry\._\w+\.\w+"),
    (r"py:class", r"tarry\.[\w.]*\._[A-Z]\w*"),  # private base classes
    # Type aliases and protocols that signatures name but the modules do not export.
    (r"py:class", r"(tarry\.[\w.]*\.)?(States|Path|StepLike|AsyncClock|Extras)"),
]

# The public modules: every name in their __all__ must have a docstring and an entry
# in the reference, or the build fails. A module is checked once it exists and has __all__.
tarry_public_modules = [
    name
    for name in ("tarry", "tarry.testing", "tarry.http", "tarry.aws")
    if importlib.util.find_spec(name) is not None
    and hasattr(importlib.import_module(name), "__all__")
]

html_theme = "furo"
html_title = f"tarry {release}"
html_static_path = ["_static"]
html_css_files = ["tarry.css"]
html_theme_options = {"navigation_with_keys": True}
html_show_sourcelink = False
