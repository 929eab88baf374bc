"""A committed notebook never shows a failed verdict, a NaN, a failed self-check, an error or
output on stderr (Jupyter renders stderr on a red background, as an error).

The stored outputs are what a reader sees on the web; a check that passes while a notebook
prints ``fails`` is worse than none, so this scans every stored text a reader sees."""

from __future__ import annotations

import re

import nbformat
import pytest

from helpers.suite import notebook_paths
from tests.test_output_hygiene import stored_texts

PATHS = notebook_paths()
# A verdict column or line that says a check failed, e.g. a compatibility table's "fails".
FAILED_VERDICT = re.compile(r"\bfails?\b|\bFAILED\b")
NOT_A_NUMBER = re.compile(r"\bNaN\b|(?<![\w.])nan(?![\w.])|(?<![\w.])-?inf(?![\w.])")  # not "inf..." or "nan." in a text
# A self-check that prints its outcome ("same probabilities after reload: False").
FALSE_CHECK = re.compile(r":\s*False\s*$", re.M)


def verdict_problems(nb) -> list[str]:
    """Each failed verdict, NaN, failed self-check, error or stderr output, as 'cell N: what'."""
    found = []
    for index, cell in enumerate(nb.cells):
        outputs = cell.get("outputs", [])
        text = re.sub(r"<[^>]*>", " ", "\n".join(stored_texts(cell)))
        checks = {
            "an error": any(o.get("output_type") == "error" for o in outputs),
            "output on stderr": any(o.get("name") == "stderr" for o in outputs),
            "a failed verdict": FAILED_VERDICT.search(text),
            "a NaN": NOT_A_NUMBER.search(text),
            "a self-check that is False": FALSE_CHECK.search(text),
        }
        found += [f"cell {index}: {kind}" for kind, hit in checks.items() if hit]
    return found


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_committed_notebooks_show_no_failure(path):
    assert verdict_problems(nbformat.read(path, as_version=4)) == []


def cell_with(*outputs):
    return nbformat.v4.new_code_cell("x", outputs=list(outputs))


def test_the_scan_catches_each_kind_of_failure():
    stream = lambda text, name="stdout": nbformat.v4.new_output("stream", name=name, text=text)  # noqa: E731
    table = nbformat.v4.new_output("execute_result", data={
        "text/plain": "  family verdict\n0   bert   fails", "text/html": "<td>fails</td>"})
    nb = nbformat.v4.new_notebook(cells=[
        cell_with(table),
        cell_with(stream("loss: nan\n")),
        cell_with(stream("same probabilities after reload: False\n")),
        cell_with(stream("lr_find: 100%|##| 8/8\n", name="stderr")),
        cell_with(nbformat.v4.new_output("error", ename="AssertionError", evalue="", traceback=[])),
        cell_with(stream("weights restored exactly: True\naccuracy 94.2%, 87 of 1,502 wrong\n")),
    ])
    assert verdict_problems(nb) == ["cell 0: a failed verdict", "cell 1: a NaN",
                                    "cell 2: a self-check that is False", "cell 3: output on stderr",
                                    "cell 4: an error"]
