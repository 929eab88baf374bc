"""Every "Try this" exercise runs as written: each fenced ```python block of a notebook's
"Try this" cell is appended to that notebook and run after it, in smoke mode, in a fresh kernel.

A block whose first line is a comment starting ``# needs:`` depends on something a terminal
command makes first (a second full training, say); it is listed, not run."""

from __future__ import annotations

import re
import textwrap

import nbformat
import pytest

from helpers.suite import NOTEBOOKS, notebook_paths

FENCE = re.compile(r"^[ \t]*```python\n(?P<code>.*?)^[ \t]*```", re.M | re.S)
NEEDS = "# needs:"


def exercises(nb) -> list[str]:
    """The fenced Python blocks of the notebook's "Try this" cell, dedented."""
    cells = [c for c in nb.cells if c.cell_type == "markdown" and "## Try this" in c.source]
    return [textwrap.dedent(m["code"]) for c in cells for m in FENCE.finditer(c.source)]


PATHS = [p for p in notebook_paths() if exercises(nbformat.read(p, as_version=4))]


def test_blocks_are_found_inside_list_items():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "## Try this\n\n- one:\n  ```python\n  x = 1\n  print(x)\n  ```\n- two: `inline`\n")])
    assert exercises(nb) == ["x = 1\nprint(x)\n"]


def test_most_notebooks_have_runnable_exercises():
    assert len(PATHS) >= 5, [p.name for p in PATHS]


@pytest.mark.slow
@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_try_this_runs_after_the_notebook(path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("NOTEBOOK_MODE", "smoke")
    monkeypatch.setenv("HELPERS_PROGRESS", "text")
    nb = nbformat.read(path, as_version=4)
    blocks = exercises(nb)
    runnable = [b for b in blocks if not b.lstrip().startswith(NEEDS)]
    assert runnable, f"{path.name}: every exercise needs a terminal step first"
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    nb.cells += [nbformat.v4.new_code_cell(block) for block in runnable]
    NotebookClient(nb, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
