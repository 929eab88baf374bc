"""Stored notebook outputs read cleanly on GitHub, nbviewer and VS Code: no terminal control
characters, no library warnings, no machine paths, no pile of progress-bar redraws."""

from __future__ import annotations

import re

import nbformat
import pytest

from helpers._scrub import _scrub_outputs, terminal_text
from helpers.suite import notebook_paths

PATHS = notebook_paths()
CONTROL = re.compile(r"[\x08\r]|\x1b\[")
WARNING_LINE = re.compile(r"^(WARNING:|INFO:(tensorflow|absl)|[IWEF]\d{4} \d\d:\d\d|\S+:\d+: \w*Warning:)", re.M)
# A path on this machine (a message's own text may hold paths such as /pub/gopher: not ours).
ABSOLUTE_PATH = re.compile(r"(?:^|[\s'\"(=\[])/(?:home|root|tmp|work|usr|opt|var|proc|etc|srv|mnt|Users)/[\w./-]+")
PROGRESS_LINE = re.compile(r"\d+%\||\d+/\d+ \[[=>.]*\]")
SKIPPED_MIMES = ("image/", "application/vnd.jupyter.widget-view+json")
MAX_STREAMS_PER_CELL = 4
MAX_PROGRESS_LINES_PER_CELL = 6


def stored_texts(cell) -> list[str]:
    """Every text a reader sees in a cell's outputs (images and widget state excluded)."""
    texts = []
    for output in cell.get("outputs", []):
        if "text" in output:
            texts.append(output["text"])
        for mime, value in output.get("data", {}).items():
            if isinstance(value, str) and not mime.startswith(SKIPPED_MIMES):
                texts.append(value)
        texts += output.get("traceback", [])
    return texts


def problems(nb) -> list[str]:
    """What is wrong with a notebook's stored outputs, one line per cell and kind."""
    found = []
    for index, cell in enumerate(nb.cells):
        texts = stored_texts(cell)
        joined = "\n".join(texts)
        without_html_tags = re.sub(r"<[^>]*>", " ", joined)
        checks = {
            "control characters": CONTROL.search(joined),
            "a warning line": WARNING_LINE.search(joined),
            "site-packages": "site-packages" in joined,
            "an absolute path": ABSOLUTE_PATH.search(without_html_tags),
            "too many stream outputs": sum(o.get("output_type") == "stream" for o in cell.get("outputs", []))
            > MAX_STREAMS_PER_CELL,
            "too many progress lines": len(PROGRESS_LINE.findall(joined)) > MAX_PROGRESS_LINES_PER_CELL,
        }
        found += [f"cell {index}: {kind}" for kind, hit in checks.items() if hit]
    return found


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_committed_outputs_are_clean(path):
    assert problems(nbformat.read(path, as_version=4)) == []


def noisy_cell():
    bars = "".join(f"\r{k}/142 [{'=' * (k // 5)}>] - ETA: 3s - loss: 0.5" for k in range(1, 143))
    outputs = [nbformat.v4.new_output("stream", name="stdout", text="Epoch 1/4\n")]
    outputs += [nbformat.v4.new_output("stream", name="stdout", text=chunk)
                for chunk in (bars[:2000], bars[2000:], "\x08" * 10 + "\r" + "142/142 - 168s - loss: 0.02".ljust(70) + "\n")]
    outputs.append(nbformat.v4.new_output("stream", name="stdout", text=(
        "WARNING:tensorflow:5 out of the last 5 calls to <function f at 0x7f> triggered tf.function retracing.\n"
        "WARNING:tensorflow:From /x/.venv/lib/python3.11/site-packages/transformers/m.py:130: deprecated\n")))
    outputs.append(nbformat.v4.new_output("stream", name="stderr", text="\x1b[31mlr_find: 100%|##| 8/8\x1b[0m\n"))
    return nbformat.v4.new_code_cell("fit()", outputs=outputs)


def test_the_check_catches_each_kind_of_noise():
    nb = nbformat.v4.new_notebook(cells=[noisy_cell(), nbformat.v4.new_code_cell("x", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="saved to /home/ann/project/artifacts\n")])])
    found = " | ".join(problems(nb))
    for kind in ("control characters", "a warning line", "site-packages", "too many stream outputs",
                 "cell 1: an absolute path"):
        assert kind in found


def test_cleaning_keeps_what_a_reader_would_see():
    nb = nbformat.v4.new_notebook(cells=[noisy_cell()])
    _scrub_outputs(nb)
    assert problems(nb) == []
    texts = [o["text"] for o in nb.cells[0].outputs]
    assert texts == ["Epoch 1/4\n142/142 - 168s - loss: 0.02\n", "lr_find: 100%|##| 8/8\n"]


def test_terminal_text_overwrites_like_a_terminal():
    assert terminal_text("abcdef\rxy") == "xycdef"
    assert terminal_text("abc\b\bZ\nnext") == "aZc\nnext"
    assert terminal_text("\x1b[1mbold\x1b[0m") == "bold"


def test_urls_and_fractions_are_not_paths():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="see https://arxiv.org/abs/1803.09820, 3/4 done\n"),
        nbformat.v4.new_output("display_data", data={"text/html": "<p>a</p><b>artifacts/predictor</b>"})])])
    assert problems(nb) == []


def test_measured_times_are_stamped_from_runs(tmp_path, monkeypatch):
    from helpers.suite import record_time, stamp_time, time_line

    monkeypatch.setenv("NOTEBOOK_ARTIFACTS", str(tmp_path))
    assert time_line("01_data.ipynb") is None
    record_time("smoke", "01_data.ipynb", 17.4)
    record_time("full", "01_data.ipynb", 7.2)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("## Run mode\n\nWhat each mode does.")])
    stamp_time(nb, "01_data.ipynb")
    assert nb.cells[0].source.endswith("full 7 s · smoke 17 s.")
    record_time("smoke", "01_data.ipynb", 20)
    stamp_time(nb, "01_data.ipynb")
    assert nb.cells[0].source.count("**Measured time**") == 1 and "smoke 20 s" in nb.cells[0].source
