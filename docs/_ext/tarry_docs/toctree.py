"""``optional-toctree``: a toctree that keeps only the entries whose page exists.

Some pages (benchmarks, interop and reliability tables) are written alongside other
work and may not exist yet in a given checkout; the site must still build without a
warning, and list them as soon as they appear. Entries may be globs. They are matched
against document names from the root, so the directive belongs on the root page.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.directives.other import TocTree


class OptionalTocTree(TocTree):
    """Like ``toctree``, but entries naming no page are dropped instead of warned about."""

    def run(self) -> list[nodes.Node]:
        found = self.env.found_docs
        kept: list[str] = []
        for line in self.content:
            entry = line.strip()
            if not entry:
                continue
            matches = sorted(d for d in found if fnmatch.fnmatchcase(d, entry))
            kept.extend(m for m in matches if m not in kept)
        if not kept:
            return []
        self.content = type(self.content)(kept, source=self.content.source(0))
        return super().run()


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("optional-toctree", OptionalTocTree)
    return {}
