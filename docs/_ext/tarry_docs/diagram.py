"""``tarry-state-diagram``: the core's state diagram, drawn from ``tarry.TRANSITIONS``.

The picture is computed from the table at build time, so it cannot drift from the
code: phases are placed in rows by their distance from the start, every (phase, event)
pair becomes an arrow, and phases with no way out are drawn with a double border.
A table of the same transitions follows the picture, for readers who cannot see it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from enum import Enum
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from . import svg

NODE_HEIGHT = 38.0
ROW_GAP = 110.0
COLUMN_GAP = 36.0
MARGIN = 24.0
LOOP_ROOM = 190.0  # room on the right of a row for a self-loop's labels


def _name(value: Enum) -> str:
    return str(value.value)


def layout(transitions: Mapping[tuple[Enum, Enum], Enum]) -> tuple[str, float, float]:
    """SVG body, width and height for a transition table of (phase, event) -> phase."""
    edges: dict[tuple[Enum, Enum], list[str]] = defaultdict(list)
    phases: list[Enum] = []
    for (source, event), target in transitions.items():
        edges[source, target].append(_name(event))
        for phase in (source, target):
            if phase not in phases:
                phases.append(phase)
    targets = {t for (s, t) in edges if s != t}
    starts = [p for p in phases if p not in targets] or phases[:1]
    rank: dict[Enum, int] = dict.fromkeys(starts, 0)
    frontier = list(starts)
    while frontier:
        nxt = []
        for source in frontier:
            for s, t in edges:
                if s is source and t not in rank:
                    rank[t] = rank[source] + 1
                    nxt.append(t)
        frontier = nxt
    for phase in phases:  # unreachable phases still get drawn, in a last row
        rank.setdefault(phase, max(rank.values()) + 1)
    rows: dict[int, list[Enum]] = defaultdict(list)
    for phase in phases:
        rows[rank[phase]].append(phase)

    widths = {p: max(96.0, svg.text_width(_name(p)) + 32) for p in phases}
    row_width = {
        r: sum(widths[p] for p in ps) + COLUMN_GAP * (len(ps) - 1) for r, ps in rows.items()
    }
    loops = {s for (s, t) in edges if s == t}
    inner = max(row_width.values())
    width = inner + 2 * MARGIN + (LOOP_ROOM if loops else 0)
    height = MARGIN * 2 + NODE_HEIGHT + ROW_GAP * (len(rows) - 1) + 10
    centre = MARGIN + inner / 2
    where: dict[Enum, tuple[float, float]] = {}
    for r, ps in sorted(rows.items()):
        x = centre - row_width[r] / 2
        y = MARGIN + r * ROW_GAP + NODE_HEIGHT / 2
        for phase in ps:
            where[phase] = (x + widths[phase] / 2, y)
            x += widths[phase] + COLUMN_GAP

    outgoing = {s for (s, t) in edges if s != t}
    parts = [f"<defs>{svg.arrow_marker('tarry-arrow')}</defs>"]
    for (source, target), labels in edges.items():
        parts.append(_edge(where, widths, source, target, labels))
    for phase in phases:
        parts.append(_node(where[phase], widths[phase], _name(phase), phase not in outgoing))
    return "".join(parts), width, height


def _node(at: tuple[float, float], width: float, label: str, final: bool) -> str:
    x, y = at
    left, top = x - width / 2, y - NODE_HEIGHT / 2
    shape = (
        f'<rect class="node" x="{left:.1f}" y="{top:.1f}" width="{width:.1f}"'
        f' height="{NODE_HEIGHT:.1f}" rx="9"/>'
    )
    if final:
        shape += (
            f'<rect class="node-inner" x="{left + 4:.1f}" y="{top + 4:.1f}"'
            f' width="{width - 8:.1f}" height="{NODE_HEIGHT - 8:.1f}" rx="6"/>'
        )
    return shape + svg.text(x, y + 4.5, label, cls="node-label")


def _edge(
    where: dict[Enum, tuple[float, float]],
    widths: dict[Enum, float],
    source: Enum,
    target: Enum,
    labels: list[str],
) -> str:
    (sx, sy), (tx, ty) = where[source], where[target]
    half = NODE_HEIGHT / 2
    if source == target:
        right = sx + widths[source] / 2
        path = (
            f"M {right:.1f} {sy - 9:.1f} C {right + 70:.1f} {sy - 46:.1f}"
            f" {right + 70:.1f} {sy + 46:.1f} {right + 2:.1f} {sy + 9:.1f}"
        )
        words = "".join(
            svg.text(right + 62, sy - 6 + 16 * i, label, anchor="start", cls="edge-label")
            for i, label in enumerate(labels)
        )
        return f'<path class="edge" d="{path}" marker-end="url(#tarry-arrow)"/>{words}'
    if ty > sy:
        start, end = (sx, sy + half), (tx, ty - half - 2)
    else:  # same row or upwards: bow out to the side
        start, end = (sx, sy - half), (tx, ty + half + 2)
    mid_x, mid_y = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2
    path = f"M {start[0]:.1f} {start[1]:.1f} L {end[0]:.1f} {end[1]:.1f}"
    # Labels sit 62% of the way down, where arrows fanning out are furthest apart.
    lx = start[0] + (end[0] - start[0]) * 0.62
    ly = start[1] + (end[1] - start[1]) * 0.62
    if ty <= sy:
        lx, ly = mid_x, mid_y
    words = "".join(
        svg.text(lx, ly + 4 + 15 * i, label, cls="edge-label halo")
        for i, label in enumerate(labels)
    )
    return f'<path class="edge" d="{path}" marker-end="url(#tarry-arrow)"/>{words}'


def _transitions(source: str) -> Mapping[tuple[Enum, Enum], Enum]:
    module_name, _, attr = source.rpartition(".")
    module = __import__(module_name, fromlist=[attr])
    table: Mapping[tuple[Enum, Enum], Enum] = getattr(module, attr)
    return table


class StateDiagram(SphinxDirective):
    """Draw the state diagram of a transition table, then list it as a table."""

    optional_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        source = self.arguments[0] if self.arguments else "tarry.TRANSITIONS"
        transitions = _transitions(source)
        body, width, height = layout(transitions)
        picture = svg.figure(
            body, width, height, title=f"State diagram of {source}", css_class="tarry-states"
        )
        rows = [[_name(s), _name(e), _name(t)] for (s, e), t in transitions.items()]
        return [picture, svg.table(["phase", "event", "next phase"], rows)]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("tarry-state-diagram", StateDiagram)
    return {}
