"""The notebook suite's shape: every notebook has what a reader needs, and nothing it must not.

Running the notebooks themselves is nbval's job (`make test` runs them in smoke mode).
"""

from __future__ import annotations

import json
import re

import nbformat
import pytest

from helpers._scrub import scrub
from helpers.suite import NOTEBOOKS, notebook_paths

PATHS = notebook_paths()
EXPECTED = ["01_data", "02_model_selection", "03_lr_finder", "04_one_cycle_training",
            "05_top_losses", "06_lime_explanations", "07_predict_and_deploy"]


def test_the_suite_is_numbered_in_order():
    assert [p.stem for p in PATHS] == EXPECTED


@pytest.fixture(params=PATHS, ids=[p.stem for p in PATHS])
def notebook(request):
    return nbformat.read(request.param, as_version=4)


def test_starts_with_a_title_and_what_you_will_learn(notebook):
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    assert "what you will learn" in first.source.lower()


def test_has_one_parameters_cell_that_sets_the_mode(notebook):
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert tagged[0].cell_type == "code"
    assert re.match(r'MODE = "(full|quick|smoke)"', tagged[0].source)
    # the next code cell applies it (NOTEBOOK_MODE overrides) and shows what the mode changes
    after = notebook.cells[notebook.cells.index(tagged[0]) + 1]
    assert "get_mode(MODE)" in after.source and "mode.describe()" in after.source


def test_ends_with_a_try_this_section(notebook):
    last = notebook.cells[-1]
    assert last.cell_type == "markdown" and "## Try this" in last.source


def test_code_cells_stay_short_and_prose_sits_between_them(notebook):
    code = [c for c in notebook.cells if c.cell_type == "code"]
    too_long = [c.source.splitlines()[0] for c in code if len(c.source.splitlines()) > 25]
    assert not too_long, f"code cells over 25 lines: {too_long}"
    markdown = [c for c in notebook.cells if c.cell_type == "markdown"]
    assert len(markdown) >= len(code) / 3


def test_committed_outputs_hold_no_machine_paths_or_errors(notebook):
    text = json.dumps([c.get("outputs", []) for c in notebook.cells])
    assert not re.search(r"(/work/|/root/|/home/|/Users/)", text)
    assert '"output_type": "error"' not in text


def test_steps_call_helpers_not_inline_logic(notebook):
    source = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    assert "from helpers." in source
    assert not re.search(r"^\s*(def|class) ", source, re.M), "logic belongs in helpers/, not in notebooks"


def test_scrub_removes_repository_and_home_paths(tmp_path):
    from helpers.suite import ROOT

    line = f"saved to {ROOT}/artifacts/predictor and {tmp_path}/x.json"
    cleaned = scrub(line)
    assert str(ROOT) not in cleaned and "./artifacts/predictor" in cleaned
    assert str(tmp_path) not in cleaned


def test_stored_outputs_drop_tensorflow_native_log_lines_but_keep_real_stderr():
    import nbformat

    from helpers._scrub import _scrub_outputs

    chatter = ("E0000 00:00:1795750975.773103   16522 util.cc:131] oneDNN supports DT_INT32 only on "
               "platforms with AVX-512. Falling back to the default Eigen-based implementation.\n")
    cell = nbformat.v4.new_code_cell("x", outputs=[
        nbformat.v4.new_output("stream", name="stderr", text=chatter),
        nbformat.v4.new_output("stream", name="stderr", text=chatter + "UserWarning: check this\n"),
        nbformat.v4.new_output("stream", name="stdout", text="4 classes\n")])
    nb = nbformat.v4.new_notebook(cells=[cell])
    _scrub_outputs(nb)
    assert [o["text"] for o in nb.cells[0].outputs] == ["UserWarning: check this\n", "4 classes\n"]


def test_notebooks_folder_is_where_the_suite_looks():
    assert NOTEBOOKS.is_dir() and all(p.parent == NOTEBOOKS for p in PATHS)


@pytest.mark.slow
def test_a_later_notebook_runs_alone_in_a_fresh_kernel(tmp_path, monkeypatch):
    """No artifacts at all: notebook 06 must say 04 makes the predictor, train one, and finish."""
    from helpers.suite import run_notebook

    monkeypatch.setenv("NOTEBOOK_ARTIFACTS", str(tmp_path / "empty"))
    run_notebook(NOTEBOOKS / "06_lime_explanations.ipynb", "smoke", tmp_path / "out")
    executed = nbformat.read(tmp_path / "out" / "06_lime_explanations.ipynb", as_version=4)
    printed = json.dumps([c.get("outputs", []) for c in executed.cells])
    assert "04_one_cycle_training.ipynb makes it" in printed
    assert (tmp_path / "empty" / "smoke" / "predictor" / "predictor.json").is_file()
