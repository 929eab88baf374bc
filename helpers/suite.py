"""Run the whole notebook suite headlessly, in order, and write a one-page summary.

    python -m helpers.suite                    # full mode: what `make run` does (~20 min)
    python -m helpers.suite --mode quick       # the classroom run (~10 min)
    python -m helpers.suite --update           # also store the outputs in notebooks/ (to commit)
    python -m helpers.suite --clean            # clean notebooks/' stored outputs in place, run nothing

Executed copies go to ``artifacts/executed/`` (git-ignored), the summary to
``artifacts/summary.md``. Stored outputs are cleaned
(``helpers._scrub``): progress bars in their final state, no library warnings, no machine paths.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

from helpers._scrub import _scrub_outputs, clean_notebook  # noqa: F401  (the suite cleans what it stores)
from helpers.paths import RESULTS_FILE, project_dir, shown

ROOT = project_dir()
NOTEBOOKS = ROOT / "notebooks"
KERNEL_ENV = {"HELPERS_PROGRESS": "text"}  # a widget progress bar would be stored as "0%"


def notebook_paths() -> list[Path]:
    """The numbered notebooks, in the order a learner follows them.
    Not in a notebook.

    >>> [p.name[:2] for p in notebook_paths()][:2]
    ['01', '02']
    """
    return sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def run_notebook(path: Path, mode: str, out_dir: Path, timeout: int = 3600, then: tuple[str, ...] = ()) -> float:
    """Execute one notebook in a fresh kernel with ``NOTEBOOK_MODE=mode``; returns seconds.
    ``then``: code run as extra cells after the notebook's own (its "Try this" blocks, say).

    The kernel's own console (start-up notices, TensorFlow's native log lines) goes to
    ``out_dir/NAME.kernel.log``, not to the terminal; what the cells print is in the notebook.
    Not in a notebook.

    >>> run_notebook(NOTEBOOKS / "01_data.ipynb", "smoke", Path("/tmp/out"))  # doctest: +SKIP
    """
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    nb.cells += [nbformat.v4.new_code_cell(code) for code in then]
    saved = {key: os.environ.get(key) for key in ("NOTEBOOK_MODE", *KERNEL_ENV)}
    os.environ.update({"NOTEBOOK_MODE": mode, **KERNEL_ENV})  # the kernel inherits them
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        with open(out_dir / f"{path.stem}.kernel.log", "w") as kernel_log:
            NotebookClient(nb, timeout=timeout, kernel_name="python3",
                           resources={"metadata": {"path": str(NOTEBOOKS)}}).execute(
                               stdout=kernel_log, stderr=kernel_log)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        seconds = time.perf_counter() - start
        _scrub_outputs(nb)
        nbformat.write(nb, out_dir / path.name)
    return seconds


TIMES_FILE = "times.json"
_TIME_LINE = re.compile(r"^\*\*Measured time\*\*.*$", re.MULTILINE)


def record_time(mode: str, notebook: str, seconds: float) -> None:
    """Keep a notebook's run time for this mode in ``artifacts/<mode>/times.json``.
    Not in a notebook.
    """
    from helpers.artifacts import artifacts_dir
    from helpers._files import write_json
    from helpers.run import MODES

    path = artifacts_dir(MODES[mode]) / TIMES_FILE
    times = json.loads(path.read_text()) if path.is_file() else {}
    times[notebook] = round(seconds)
    write_json(path, times)


def time_line(notebook: str) -> str | None:
    """The line stamped at the top of a notebook: its last measured time in each mode.
    Not in a notebook.

    >>> time_line("01_data.ipynb")  # doctest: +SKIP
    '**Measured time** (this notebook alone, ...): full 7 s · quick 7 s · smoke 7 s.'
    """
    from helpers.artifacts import artifacts_dir
    from helpers.run import MODES

    found = []
    for name, mode in MODES.items():
        path = artifacts_dir(mode) / TIMES_FILE
        seconds = json.loads(path.read_text()).get(notebook) if path.is_file() else None
        if seconds is not None:
            found.append(f"{name} {seconds:.0f} s")
    if not found:
        return None
    from helpers.precision import cpu_summary

    return ("**Measured time** (this notebook in a fresh kernel, `python -m helpers.suite`, on the machine "
            f"that stored these outputs, {cpu_summary()}; each mode's last run): {' · '.join(found)}.")


def stamp_time(nb, notebook: str) -> None:
    """Write ``time_line`` into the notebook's "## Run mode" cell (replacing an older one).
    Not in a notebook.
    """
    line = time_line(notebook)
    cells = [c for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("## Run mode")]
    if line is None or not cells:
        return
    cell = cells[0]
    cell.source = _TIME_LINE.sub(line, cell.source) if _TIME_LINE.search(cell.source) else cell.source.rstrip() + "\n\n" + line


def summary(mode: str, times: dict[str, float], failed: str | None = None) -> str:
    """The one-page summary: accuracy, each notebook's time, where the plots are.
    Not in a notebook.
    """
    from helpers.artifacts import artifacts_dir
    from helpers.run import get_mode

    folder = artifacts_dir(get_mode(mode))
    lines = [f"# Notebook suite, {mode} mode", "",
             f"{len(times)} notebook(s) run in {sum(times.values()) / 60:.1f} min"
             + (f"; **{failed} failed** (see its executed copy)" if failed else "") + ".", "",
             "| notebook | seconds |", "| --- | --- |"]
    lines += [f"| {name} | {seconds:.0f} |" for name, seconds in times.items()]
    results_path = folder / RESULTS_FILE
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
    """Command line: ``python -m helpers.suite --help``.
    Not in a notebook.
    """
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    from helpers.artifacts import artifacts_dir
    from helpers.run import MODES, get_mode

    parser = argparse.ArgumentParser(prog="python -m helpers.suite", description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=sorted(MODES), default="full")
    parser.add_argument("--only", nargs="*", help="run only notebooks whose name starts with these (e.g. 01 05)")
    parser.add_argument("--update", action="store_true", help="copy the executed notebooks into notebooks/")
    parser.add_argument("--clean", action="store_true",
                        help="only clean the stored outputs of notebooks/ in place (no run)")
    args = parser.parse_args(argv)
    if args.clean:
        for path in notebook_paths():
            clean_notebook(path)
        return 0

    folder = artifacts_dir(get_mode(args.mode))
    out_dir = folder / "executed"
    times, failed = {}, None
    for path in notebook_paths():
        if args.only and not path.name.startswith(tuple(args.only)):
            continue
        print(f"{path.name:<32} ({args.mode}) ", end="", flush=True)
        try:
            times[path.name] = run_notebook(path, args.mode, out_dir)
        except (CellExecutionError, DeadKernelError, CellTimeoutError) as err:  # keep its copy, stop
            failed = path.name
            print("FAILED", flush=True)
            print(f"!! {path.name} failed: {' '.join(str(err).split())[:500]}", file=sys.stderr)
            break
        print(f"{times[path.name]:5.0f} s", flush=True)
        record_time(args.mode, path.name, times[path.name])
        if args.update:
            import nbformat

            executed = nbformat.read(out_dir / path.name, as_version=4)
            stamp_time(executed, path.name)
            nbformat.write(executed, NOTEBOOKS / path.name)
    text = summary(args.mode, times, failed)
    (folder / "summary.md").write_text(text)
    print(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
