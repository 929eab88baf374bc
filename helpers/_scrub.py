"""Notebook outputs as a reader should see them: progress bars in their final state, no library
warnings or native log lines, no machine paths. Plumbing behind ``helpers.suite`` (``make run``
stores notebooks cleaned this way); a learner can skip it.

    >>> terminal_text("epoch 1: 50%\\repoch 1: 100%\\n")
    'epoch 1: 100%\\n'
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from helpers.paths import project_dir


def scrub(text: str) -> str:
    """Machine paths out of an output: the repository becomes ``.``, the home folder ``~``.
    Not in a notebook.

    >>> scrub(str(project_dir() / "artifacts")) == "./artifacts"
    True
    """
    text = text.replace(str(project_dir()), ".")
    home = os.path.expanduser("~")
    if home not in ("", "/"):
        text = text.replace(home, "~")
    text = re.sub(r"[^\s'\"]*/site-packages/", "<library>/", text)
    return re.sub(r"/tmp/[\w./-]+", "<tmp>", text)


# TensorFlow's C++ log lines ("E0000 00:00:17957... util.cc:131] oneDNN supports ..."):
# start-up chatter written straight to the kernel's stderr, not part of the lesson.
_NATIVE_LOG_LINE = re.compile(r"^[IWEF]\d{4} [\d:. ]+\d+ [\w.]+:\d+\] .*\n?", re.MULTILINE)
# TensorFlow's and absl's Python warnings ("WARNING:tensorflow:5 out of the last 5 calls ...
# triggered tf.function retracing"): the helpers avoid or record what matters in them.
_LIBRARY_WARNING_LINE = re.compile(
    r"^(WARNING|INFO):(tensorflow|absl):.*(\nInstructions for updating:\n.*)?\n?", re.MULTILINE)
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def terminal_text(text: str) -> str:
    """What a terminal finally shows for ``text``: ``\\r`` returns to the start of the line,
    ``\\b`` steps back one character, later characters overwrite earlier ones, colour codes
    go (and a redrawn line its trailing blanks). A progress bar redrawn 500 times becomes its
    last state.
    Not in a notebook.

    >>> terminal_text("step 1/3\\rstep 2/3\\rstep 3/3 done\\n")
    'step 3/3 done\\n'
    >>> terminal_text("loss 0.52\\b\\b\\b\\b0.31")
    'loss 0.31'
    """
    lines = []
    for line in _ANSI_ESCAPE.sub("", text).split("\n"):
        shown_chars: list[str] = []
        column = 0
        for char in line:
            if char == "\r":
                column = 0
            elif char == "\b":
                column = max(column - 1, 0)
            else:
                if column < len(shown_chars):
                    shown_chars[column] = char
                else:
                    shown_chars.append(char)
                column += 1
        redrawn = "\r" in line or "\b" in line
        lines.append("".join(shown_chars).rstrip() if redrawn else "".join(shown_chars))
    return "\n".join(lines)


def _merge_streams(outputs: list) -> list:
    """Consecutive stream outputs of one name joined into one (as Jupyter displays them)."""
    merged: list = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (output.get("output_type") == "stream" and previous is not None
                and previous.get("output_type") == "stream" and previous.get("name") == output.get("name")):
            previous["text"] += output["text"]
        else:
            merged.append(output)
    return merged


def _clean_stream(text: str) -> str:
    text = terminal_text(text)
    text = _LIBRARY_WARNING_LINE.sub("", _NATIVE_LOG_LINE.sub("", text))
    return re.sub(r"\n{3,}", "\n\n", text)


def _scrub_outputs(nb) -> None:
    """Store outputs as a reader sees them: each stream joined and shown in its final state
    (no progress-bar redraws), no library warnings or native log lines, no machine paths."""
    for cell in nb.cells:
        if not cell.get("outputs"):
            continue
        cell["outputs"] = _merge_streams(cell["outputs"])
        for output in cell["outputs"]:
            if output.get("output_type") == "stream":
                output["text"] = _clean_stream(output["text"])
        cell["outputs"] = [o for o in cell["outputs"] if o.get("output_type") != "stream" or o["text"].strip()]
        for output in cell["outputs"]:
            if "text" in output:
                output["text"] = scrub(output["text"])
            for mime, value in output.get("data", {}).items():
                if isinstance(value, str) and not mime.startswith("image/"):
                    output["data"][mime] = scrub(value)
            if "traceback" in output:
                output["traceback"] = [scrub(line) for line in output["traceback"]]


def clean_notebook(path: Path) -> None:
    """Apply the stored-output cleaning to a notebook file in place (``--clean``).
    Not in a notebook.
    """
    import nbformat

    nb = nbformat.read(path, as_version=4)
    _scrub_outputs(nb)
    nbformat.write(nb, path)
