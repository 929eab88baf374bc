"""Run the whole notebook suite headlessly, in order, and write a one-page summary.

    python -m helpers.suite                    # full mode: what `make run` does (~20 min)
    python -m helpers.suite --mode quick       # the classroom run (~10 min)
    python -m helpers.suite --update           # also store the outputs in notebooks/ (to commit)

Executed copies go to ``artifacts/executed/`` (git-ignored), the summary to
``artifacts/summary.md``. Machine paths are scrubbed from stored outputs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

from helpers.artifacts import shown
from helpers.paths import project_dir

ROOT = project_dir()
NOTEBOOKS = ROOT / "notebooks"
KERNEL_ENV = {"HELPERS_PROGRESS": "text"}  # a widget progress bar would be stored as "0%"


def notebook_paths() -> list[Path]:
    """The numbered notebooks, in the order a learner follows them.

    >>> [p.name[:2] for p in notebook_paths()][:2]
    ['01', '02']
    """
    return sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def scrub(text: str) -> str:
    """Machine paths out of an output: the repository becomes ``.``, the home folder ``~``.

    >>> scrub(str(ROOT / "artifacts")) == "./artifacts"
    True
    """
    text = text.replace(str(ROOT), ".")
    home = os.path.expanduser("~")
    if home not in ("", "/"):
        text = text.replace(home, "~")
    return re.sub(r"/tmp/[\w./-]+", "<tmp>", text)


# TensorFlow's C++ log lines ("E0000 00:00:17957... util.cc:131] oneDNN supports ..."):
# start-up chatter written straight to the kernel's stderr, not part of the lesson.
_NATIVE_LOG_LINE = re.compile(r"^[IWEF]\d{4} [\d:. ]+\d+ [\w.]+:\d+\] .*\n?", re.MULTILINE)


def _scrub_outputs(nb) -> None:
    for cell in nb.cells:
        if cell.get("outputs"):
            for output in cell["outputs"]:
                if output.get("name") == "stderr":
                    output["text"] = _NATIVE_LOG_LINE.sub("", output["text"])
            cell["outputs"] = [o for o in cell["outputs"] if o.get("name") != "stderr" or o["text"]]
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = scrub(output["text"])
            for mime, value in output.get("data", {}).items():
                if isinstance(value, str) and not mime.startswith("image/"):
                    output["data"][mime] = scrub(value)
            if "traceback" in output:
                output["traceback"] = [scrub(line) for line in output["traceback"]]


def run_notebook(path: Path, mode: str, out_dir: Path, timeout: int = 3600) -> float:
    """Execute one notebook in a fresh kernel with ``NOTEBOOK_MODE=mode``; returns seconds.

    >>> run_notebook(NOTEBOOKS / "01_data.ipynb", "smoke", Path("/tmp/out"))  # doctest: +SKIP
    """
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    saved = {key: os.environ.get(key) for key in ("NOTEBOOK_MODE", *KERNEL_ENV)}
    os.environ.update({"NOTEBOOK_MODE": mode, **KERNEL_ENV})  # the kernel inherits them
    start = time.perf_counter()
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        seconds = time.perf_counter() - start
        _scrub_outputs(nb)
        out_dir.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out_dir / path.name)
    return seconds


def summary(mode: str, times: dict[str, float], failed: str | None = None) -> str:
    """The one-page summary: accuracy, each notebook's time, where the plots are."""
    from helpers.artifacts import artifacts_dir
    from helpers.modes import get_mode

    folder = artifacts_dir(get_mode(mode))
    lines = [f"# Notebook suite, {mode} mode", "",
             f"{len(times)} notebook(s) run in {sum(times.values()) / 60:.1f} min"
             + (f"; **{failed} failed** (see its executed copy)" if failed else "") + ".", "",
             "| notebook | seconds |", "| --- | --- |"]
    lines += [f"| {name} | {seconds:.0f} |" for name, seconds in times.items()]
    results_path = folder / "results.json"
    if results_path.is_file():
        lines += ["", "## Results", ""]
        for notebook, numbers in json.loads(results_path.read_text()).items():
            shown_numbers = ", ".join(f"{k} {v}" for k, v in numbers.items())
            lines.append(f"- {notebook}: {shown_numbers}")
    from helpers.artifacts import records_path

    record_path = records_path()
    if mode == "full" and record_path.is_file():
        record = json.loads(record_path.read_text()).get("full_run")
        if record:
            lines += ["", f"Full-run record ({shown(record_path)}, `full_run`): test accuracy "
                      f"**{record['accuracy']:.2%}**, whole run {record['seconds']['total']:.0f} s "
                      f"({record['date']})."]
    plots = sorted((folder / "plots").glob("*.png")) if (folder / "plots").is_dir() else []
    if plots:
        lines += ["", "## Plots", ""] + [f"- {shown(p)}" for p in plots]
    lines += ["", f"Executed notebooks: {shown(folder / 'executed')}/"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m helpers.suite --help``."""
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    from helpers.artifacts import artifacts_dir
    from helpers.modes import MODES, get_mode

    parser = argparse.ArgumentParser(prog="python -m helpers.suite", description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=sorted(MODES), default="full")
    parser.add_argument("--only", nargs="*", help="run only notebooks whose name starts with these (e.g. 01 05)")
    parser.add_argument("--update", action="store_true", help="copy the executed notebooks into notebooks/")
    args = parser.parse_args(argv)

    folder = artifacts_dir(get_mode(args.mode))
    out_dir = folder / "executed"
    times, failed = {}, None
    for path in notebook_paths():
        if args.only and not path.name.startswith(tuple(args.only)):
            continue
        print(f">> {path.name} ({args.mode})", flush=True)
        try:
            times[path.name] = run_notebook(path, args.mode, out_dir)
        except (CellExecutionError, DeadKernelError, CellTimeoutError) as err:  # keep its copy, stop
            failed = path.name
            print(f"!! {path.name} failed: {' '.join(str(err).split())[:500]}", file=sys.stderr)
            break
        print(f"   {times[path.name]:.0f} s", flush=True)
        if args.update:
            (NOTEBOOKS / path.name).write_text((out_dir / path.name).read_text())
    text = summary(args.mode, times, failed)
    (folder / "summary.md").write_text(text)
    print(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
