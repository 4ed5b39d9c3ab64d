"""A few helpers to write small inline SVG pictures that follow the page's colours."""

from __future__ import annotations

from html import escape

from docutils import nodes

CHAR_WIDTH = 7.4  # average width of a 13px sans-serif character, for layout only


def text_width(text: str) -> float:
    return len(text) * CHAR_WIDTH


def text(x: float, y: float, label: str, *, anchor: str = "middle", cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{klass}>{escape(label)}</text>'


def arrow_marker(marker_id: str) -> str:
    return (
        f'<marker id="{marker_id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7"'
        ' markerHeight="7" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" fill="currentColor"/></marker>'
    )


def figure(svg_body: str, width: float, height: float, *, title: str, css_class: str) -> nodes.raw:
    """An inline SVG (no file, no script, no network) as a raw HTML node."""
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="tarry-svg {css_class}" role="img"'
        f' viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}"'
        f' style="max-width: 100%; height: auto">'
        f"<title>{escape(title)}</title>{svg_body}</svg>"
    )
    return nodes.raw("", f'<div class="tarry-figure">{svg}</div>', format="html")


def table(header: list[str], rows: list[list[str]], literal: set[int] | None = None) -> nodes.table:
    """A plain docutils table; the columns in ``literal`` (default: all) are code."""
    tbl = nodes.table(classes=["tarry-table"])
    group = nodes.tgroup(cols=len(header))
    tbl += group
    for _ in header:
        group += nodes.colspec(colwidth=1)
    head = nodes.thead()
    group += head
    head += _row(header, set())
    body = nodes.tbody()
    group += body
    columns = set(range(len(header))) if literal is None else literal
    for row in rows:
        body += _row(row, columns)
    return tbl


def _row(cells: list[str], literal: set[int]) -> nodes.row:
    row = nodes.row()
    for index, cell in enumerate(cells):
        entry = nodes.entry()
        para = nodes.paragraph()
        para += nodes.literal(cell, cell) if index in literal else nodes.Text(cell)
        entry += para
        row += entry
    return row
