"""Every "Try this" exercise runs as written: each fenced ```python block of a notebook's
"Try this" cell is appended to that notebook and run after it, in smoke mode, in a fresh kernel;
and what each printed in a real run is written down in docs/exercises.md, for the code as it is.

A block whose first line is a comment starting ``# needs:`` depends on something a terminal
command makes first (a second full training, say); it is listed, not run."""

from __future__ import annotations

import nbformat
import pytest

from helpers._exercises import DOC, block_id, exercises, recorded_ids, runnable
from helpers.suite import notebook_paths, run_notebook

PATHS = [p for p in notebook_paths() if exercises(nbformat.read(p, as_version=4))]


def test_blocks_are_found_inside_list_items():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "## Try this\n\n- one:\n  ```python\n  x = 1\n  print(x)\n  ```\n- two: `inline`\n")])
    assert exercises(nb) == ["x = 1\nprint(x)\n"]


def test_most_notebooks_have_runnable_exercises():
    assert len(PATHS) >= 5, [p.name for p in PATHS]


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_every_exercise_has_its_measured_output_written_down(path):
    blocks = exercises(nbformat.read(path, as_version=4))
    missing = [n for n, b in enumerate(blocks, 1) if block_id(b) not in recorded_ids()]
    assert not missing, (f"{path.name}: block(s) {missing} of 'Try this' changed since {DOC} was written; "
                         f"run python -m helpers._exercises --only {path.name[:2]}")


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_the_answers_point_at_the_measured_outputs(path):
    nb = nbformat.read(path, as_version=4)
    answers = [c.source for c in nb.cells if c.cell_type == "markdown" and "<summary>Answers" in c.source]
    assert answers and f"{DOC}#{path.stem}" in answers[0], f"{path.name}: its answers do not link {DOC}"


@pytest.mark.slow
@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_try_this_runs_after_the_notebook(path, tmp_path):
    from nbclient.exceptions import CellExecutionError

    blocks = [b for b in exercises(nbformat.read(path, as_version=4)) if runnable(b)]
    assert blocks, f"{path.name}: every exercise needs a terminal step first"
    try:
        run_notebook(path, "smoke", tmp_path, timeout=900, then=tuple(blocks))
    except CellExecutionError as err:
        pytest.fail(f"{path.name} or one of its exercises failed:\n{str(err)[-2000:]}")


def test_no_written_down_exercise_failed_or_wrote_to_stderr():
    from helpers.paths import project_dir

    text = (project_dir() / DOC).read_text()
    assert "[error]" not in text and "[on stderr]" not in text, f"{DOC}: an exercise failed or warned; fix and re-run"
