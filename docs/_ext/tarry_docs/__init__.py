"""Sphinx extensions of the tarry docs: generated pictures, the CLI reference, checks.

- ``tarry-state-diagram``: the core's state diagram, drawn from ``tarry.TRANSITIONS``.
- ``tarry-timeline``: the timing rules, drawn from real runs of ``tarry.Machine``.
- ``tarry-cli``: ``tarry --help`` and each subcommand's help, from the argument parser.
- ``optional-toctree``: a toctree that lists only the pages that exist.
- a check that every public name has a docstring and a place in the reference;
- links to the Python and library docs for names outside tarry, without network.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx

from . import cli, diagram, publicapi, refs, timeline, toctree


def setup(app: Sphinx) -> dict[str, Any]:
    for part in (diagram, timeline, cli, toctree, publicapi, refs):
        part.setup(app)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
