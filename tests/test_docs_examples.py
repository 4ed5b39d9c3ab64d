"""Every Python example in the docs and the README runs, so none of them can rot.

Each page's fenced ``python`` blocks run in order in one fresh module, the way a reader
would paste them one after another. A block that cannot run here (it needs a real cloud
account) is opted out by an HTML comment on the line just before its fence, which MyST
does not render and which must give a reason:

    <!-- not run: needs a real AWS account -->

Pages about the command line opt in to running their ``sh`` blocks too, with the
comment ``<!-- shell examples run: ... -->`` on their first line: the blocks run in
order in one ``bash -euo pipefail``, with ``API`` set to a fresh embedded operations
server and ``tarry`` on the PATH.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import textwrap
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})\s*(?P<info>[^\s`]*)")
NOT_RUN = re.compile(r"^<!--\s*not run:\s*(?P<reason>\S.*?)\s*-->$")
PYTHON = {"python", "py", "python3"}
SHELL = {"sh", "bash", "shell"}
SHELL_PAGE = "<!-- shell examples run:"
MOST_OPTED_OUT = 5  # a budget, so opting out stays the rare exception it should be


@dataclass(frozen=True)
class Block:
    """One fenced Python block: where it starts, its code, and why it is not run."""

    line: int  # 1-based line of the first line of code
    code: str
    not_run: str | None


def pages() -> list[Path]:
    """The Markdown pages whose examples must run."""
    found = [p for p in sorted(DOCS.rglob("*.md")) if "_build" not in p.parts]
    return [*found, ROOT / "README.md"]


def blocks(text: str, languages: set[str] = PYTHON) -> Iterator[Block]:
    """The fenced blocks in ``languages`` of a Markdown page, with their opt-out reasons."""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index].strip())
        if opening is None:
            index += 1
            continue
        fence = opening["fence"]
        start = index + 1
        end = start
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        if opening["info"].lower() in languages:
            before = lines[index - 1].strip() if index else ""
            marker = NOT_RUN.match(before)
            code = textwrap.dedent("\n".join(lines[start:end]))  # blocks inside list items
            yield Block(start + 1, code, marker and marker["reason"])
        index = end + 1


def _name(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def _run_page(page: Path) -> int:
    """Run the page's blocks in one module namespace; return how many ran."""
    text = page.read_text(encoding="utf-8")
    module_name = "docs_example_" + re.sub(r"\W", "_", _name(page))
    module = types.ModuleType(module_name)
    module.__file__ = str(page)
    sys.modules[module_name] = module  # dataclasses look their module up
    ran = 0
    try:
        for block in blocks(text):
            if block.not_run is not None:
                continue
            # Pad with blank lines so tracebacks point at the page's own line numbers.
            source = "\n" * (block.line - 1) + block.code
            exec(compile(source, str(page), "exec"), module.__dict__)
            ran += 1
    finally:
        del sys.modules[module_name]
    return ran


def shell_pages() -> list[Path]:
    """The pages whose shell blocks run."""
    return [p for p in pages() if p.read_text(encoding="utf-8").startswith(SHELL_PAGE)]


def _shell_script(text: str) -> str:
    """The page's shell blocks as one script whose line numbers are the page's."""
    lines = [""] * (text.count("\n") + 1)
    for block in blocks(text, SHELL):
        for offset, line in enumerate(block.code.splitlines()):
            lines[block.line - 1 + offset] = line
    lines[0] = "trap 'echo \"failed at line $LINENO\" >&2' ERR"
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("page", shell_pages(), ids=_name)
def test_page_shell_examples_run(page: Path, tmp_path: Path) -> None:
    """The page's sh blocks run in bash against an embedded server, and all succeed."""
    from tarry.testing import OperationsServer

    for tool in ("bash", "curl", "jq"):
        assert shutil.which(tool), f"the shell examples need {tool} on the PATH"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "tarry"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m tarry "$@"\n')
    wrapper.chmod(0o755)
    script = _shell_script(page.read_text(encoding="utf-8"))
    with OperationsServer() as server:
        env = {
            **os.environ,
            "API": server.url,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        }
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, f"{_name(page)}: {done.stderr}\n{done.stdout}"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Examples may configure logging; put the loggers they touch back afterwards."""
    loggers = [logging.getLogger(name) for name in (None, "tarry", "tarry.http", "httpx")]
    saved = [(lg, lg.level, list(lg.handlers), lg.propagate) for lg in loggers]
    yield
    for lg, level, handlers, propagate in saved:
        for handler in lg.handlers:
            if handler not in handlers:
                handler.close()
        lg.setLevel(level)
        lg.handlers[:] = handlers
        lg.propagate = propagate


@pytest.mark.parametrize("page", pages(), ids=_name)
def test_page_examples_run(
    page: Path, restore_logging: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The page's Python blocks run top to bottom in one namespace without an error."""
    monkeypatch.chdir(tmp_path)
    _run_page(page)


def test_opting_out_is_rare_and_explained() -> None:
    """At most a handful of blocks are not run, and each one says why."""
    opted_out = [
        f"{_name(page)}:{block.line}: {block.not_run}"
        for page in pages()
        for block in blocks(page.read_text(encoding="utf-8"))
        if block.not_run is not None
    ]
    assert len(opted_out) <= MOST_OPTED_OUT, opted_out


def test_markers_stand_right_before_a_python_block() -> None:
    """A not-run marker that is not directly above a Python fence opts nothing out: a typo."""
    for page in pages():
        lines = page.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if "not run" in line and line.strip().startswith("<!--"):
                assert NOT_RUN.match(line.strip()), f"{_name(page)}:{number + 1}: malformed"
                following = lines[number + 1].strip() if number + 1 < len(lines) else ""
                opening = FENCE.match(following)
                where = f"{_name(page)}:{number + 1}"
                assert opening, f"{where}: the marker is not right above a fence"
                assert opening["info"].lower() in PYTHON, f"{where}: not above a python block"


def test_unrun_code_blocks_only_compare_other_libraries() -> None:
    """A ``{code-block} python`` is not run, so it may only show another SDK's code."""
    for page in pages():
        text = page.read_text(encoding="utf-8")
        for match in re.finditer(r"^`{3,}\{code-block\}\s*python.*\n(.*)$", text, re.M):
            where = f"{_name(page)}: {match.group(0).splitlines()[0]}"
            assert page.parent.name == "coming-from", f"{where}: use a python fence"
            assert "(for comparison; not run)" in match.group(1), f"{where}: needs the caption"


def test_the_docs_have_examples_to_run() -> None:
    """The extractor finds the examples: a change of fence style cannot silently skip them."""
    counted = sum(
        1
        for page in pages()
        for block in blocks(page.read_text(encoding="utf-8"))
        if block.not_run is None
    )
    assert counted >= 60, counted
    assert shell_pages(), "the command-line tutorial's shell examples are no longer run"


def test_extractor_reads_fences_and_markers() -> None:
    """Blocks are found with their first code line; other languages and markers are honoured."""
    text = "\n".join(
        [
            "# Page",
            "```python",
            "x = 1",
            "```",
            "```sh",
            "echo no",
            "```",
            "<!-- not run: needs a cloud -->",
            "````python",
            "y = 2",
            "````",
        ]
    )
    found = list(blocks(text))
    assert found == [Block(3, "x = 1", None), Block(10, "y = 2", "needs a cloud")]
