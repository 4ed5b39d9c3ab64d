"""docs/interop-azure.md shows exactly the recorded outcomes (no server needed)."""

from __future__ import annotations

from pathlib import Path

from .azure_routes import ROUTES
from .azure_table import BEGIN, END, counts, table

PAGE = Path(__file__).resolve().parents[2] / "docs" / "interop-azure.md"


def test_the_docs_table_is_the_recorded_data() -> None:
    """The generated route table in the docs matches azure_routes and azure_recorded."""
    text = PAGE.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    assert text[start:end] == table(), "regenerate it: cd tests && python -m interop.azure_table"


def test_the_docs_summary_counts_are_the_tables() -> None:
    """The results summary quotes the same counts as the table's last line."""
    text = PAGE.read_text(encoding="utf-8")
    for name, agreed in counts().items():
        assert f"| {agreed} of {len(ROUTES)} |" in text, name
