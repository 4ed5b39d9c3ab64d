"""``tarry-cli``: the command-line reference, rendered from the argument parser.

``tarry.__main__.build_parser()`` is the one source of truth: the directive prints the
top-level help, then one section per subcommand with its own ``--help``, at a fixed
width so the build does not depend on the terminal that ran it.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

WIDTH = "88"


def _help(parser: argparse.ArgumentParser) -> str:
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH
    try:
        return parser.format_help()
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parser's subcommands by name, in the order they were added."""
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                if sub not in found.values():
                    found[name] = sub
    return found


class CommandLine(SphinxDirective):
    """Render ``tarry --help`` and ``tarry COMMAND --help`` for every command."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        from tarry.__main__ import build_parser

        parser = build_parser()
        out: list[nodes.Node] = [self._block(f"$ {parser.prog} --help\n{_help(parser)}")]
        for name, sub in subcommands(parser).items():
            section = nodes.section(ids=[nodes.make_id(f"command-{name}")])
            section += nodes.title(text=f"{parser.prog} {name}")
            section += self._block(f"$ {parser.prog} {name} --help\n{_help(sub)}")
            out.append(section)
        return out

    @staticmethod
    def _block(text: str) -> nodes.literal_block:
        block = nodes.literal_block(text, text)
        block["language"] = "text"
        return block


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("tarry-cli", CommandLine)
    return {}
