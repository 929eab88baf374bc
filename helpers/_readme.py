"""The tables of README.md and docs/results.md, written from the code and the records. Plumbing
behind ``make docs``; a learner can skip it.

No table a reader sees there is typed by hand: each sits between two markers,

    <!-- generated: NAME (make docs) -->
    ...
    <!-- end generated -->

and ``python -m helpers._readme`` rewrites every such block from its source: the run modes
from ``helpers.run.MODES``, the notebook times from the "Measured time" line the suite
stamps into each committed notebook, the results from the committed records in
``bench/results.json``. ``--check`` only says whether a file differs (a test runs it).

    >>> "| maxlen (tokens) |" in run_modes_table()
    True
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from typing import Callable

from helpers.paths import project_dir

FILES = ("README.md", "docs/results.md")
_BLOCK = re.compile(r"(<!-- generated: (?P<name>[\w-]+) \(make docs\) -->\n)(?P<body>.*?)(<!-- end generated -->)",
                    re.DOTALL)
_STAMP = re.compile(r"\*\*Measured time\*\*.*?(?:machine that stored these outputs, (?P<machine>[^;]*);)?"
                    r"[^;]*run\):\s*(?P<times>.*?)\.\s*$", re.MULTILINE)


def run_modes_table() -> str:
    """What each run mode changes, from ``helpers.run.MODES`` (the table notebooks show at the top)."""
    from helpers.run import MODES

    described = next(iter(MODES.values())).describe()
    described.columns = [c.lstrip("→ ") for c in described.columns]
    rows = ["| | " + " | ".join(described.columns) + " |", "| --- |" + " --- |" * len(described.columns)]
    rows += [f"| {name} | " + " | ".join(str(v) for v in values) + " |" for name, values in described.iterrows()]
    return "\n".join(rows)


def notebook_times() -> dict[str, dict[str, int]]:
    """Each committed notebook's measured seconds per mode, read from its stamped "Measured time" line;
    the machine it names, if any, under the key ``"machine"``."""
    import nbformat

    times = {}
    for path in sorted((project_dir() / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        found = {}
        for cell in nb.cells:
            match = _STAMP.search(cell.source) if cell.cell_type == "markdown" else None
            if match:
                found = {m: int(s) for m, s in re.findall(r"(\w+) (\d+) s", match["times"])}
                found["machine"] = match["machine"] or "a machine not recorded"
        times[path.name] = found
    return times


def notebooks_table() -> str:
    """One row per notebook: its title and its measured time in each mode, with the suite's total."""
    import nbformat

    from helpers.run import MODES

    times = notebook_times()
    rows = ["| notebook | what it teaches | " + " | ".join(MODES) + " |", "| --- | --- |" + " ---: |" * len(MODES)]
    for name, seconds in times.items():
        title = nbformat.read(project_dir() / "notebooks" / name, as_version=4).cells[0].source.splitlines()[0]
        title = title.lstrip("# ").split("·", 1)[-1].strip()
        cells = [f"{seconds[m]:,} s" if m in seconds else "not measured" for m in MODES]
        rows.append(f"| [`{name[:-6]}`](notebooks/{name}) | {title} | " + " | ".join(cells) + " |")
    totals = [f"{sum(t[m] for t in times.values()) / 60:.1f} min" if all(m in t for t in times.values())
              else "-" for m in MODES]
    rows.append("| whole suite | | " + " | ".join(totals) + " |")
    machines = sorted({t.get("machine", "a machine not recorded") for t in times.values()})
    return "\n".join(rows) + "\n\nMeasured on " + "; and on ".join(machines) + "."


def test_records_table() -> str:
    """Every committed run scored on the test set, oldest first (``helpers.standing.recorded_runs``)."""
    from helpers.standing import recorded_runs

    rows = ["| record | model | pooling | epochs | maxlen | learning rate | precision | seed | test accuracy | "
            "mistakes | minutes | CPU flags | date |",
            "| --- | --- | --- | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | --- | --- |"]
    for r in recorded_runs().to_dict("records"):
        rows.append(f"| `{r['record']}` | {r['model']} | {r['pooling']} | {r['epochs']} | {r['maxlen']} | "
                    f"{r['learning rate']} ({r['rate from']}) | {r['precision']} | {r['seed']} | "
                    f"{r['test accuracy']:.2%} | {r['mistakes']} of {r['n']:,} | {r['minutes']} | "
                    f"{r['CPU flags']} | {r['date']} |")
    return "\n".join(rows)


def changes(settings: dict) -> str:
    """What a run's settings change from today's defaults, e.g. ``"tail=64, epochs=5"``.

    >>> from helpers.full_run import RunSettings
    >>> changes({**dataclasses.asdict(RunSettings()), "tail": 64})
    'tail=64'
    """
    from helpers.full_run import RunSettings

    # Settings that do not change what is learned, or that every run shares.
    ignored = {"lr_max", "lr_suggestion", "lr_find_steps", "lr_find_maxlen", "val_size", "remove", "precision", "seed"}
    defaults = dataclasses.asdict(RunSettings())
    diff = [f"{k}={v}" for k, v in settings.items() if k not in ignored and k in defaults and v != defaults[k]]
    return ", ".join(diff) or "the recipe"


def variants_table(all_runs: bool = False) -> str:
    """Every run on the date-ordered validation split (``bench/date_validation.py``), in order."""
    from helpers.standing import describe_run, reference_records

    runs = reference_records().get("date_validation", [])
    if not all_runs:  # the runs since the finder chose the rate and CPU flags were recorded
        runs = [r for r in runs if "lr_max" in r and "cpu_flags" in r]
    rows = ["| change from today's defaults | seed | learning rate | precision | validation accuracy | "
            "seconds (train / all) | CPU flags | date |", "| --- | ---: | --- | --- | ---: | --- | --- | --- |"]
    for record in runs:
        r = describe_run(record)
        seconds = f"{record['seconds'].get('train', 0):,.0f} / {record['seconds'].get('total', 0):,.0f}"
        rows.append(f"| {changes(record['settings'])} | {r['seed']} | {r['learning rate']} ({r['rate from']}) | "
                    f"{r['precision']} | {r['accuracy']:.2%} | {seconds} | {r['CPU flags']} | {r['date']} |")
    return "\n".join(rows)


BLOCKS: dict[str, Callable[[], str]] = {
    "run-modes": run_modes_table,
    "notebooks": notebooks_table,
    "test-records": test_records_table,
    "variants": variants_table,
}


def render(text: str) -> str:
    """``text`` with every generated block rewritten; an unknown block name is an error.

    >>> render("<!-- generated: run-modes (make docs) -->\\nold\\n<!-- end generated -->").count("| epochs |")
    1
    """
    def block(match: re.Match) -> str:
        name = match["name"]
        if name not in BLOCKS:
            raise KeyError(f"unknown generated block {name!r}; known: {sorted(BLOCKS)}")
        return f"{match.group(1)}{BLOCKS[name]()}\n{match.group(4)}"

    return _BLOCK.sub(block, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers._readme", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a file differs from what would be written")
    args = parser.parse_args(argv)
    stale = []
    for name in FILES:
        path = project_dir() / name
        text = path.read_text()
        new = render(text)
        if new != text:
            stale.append(name)
            if not args.check:
                path.write_text(new)
    if args.check and stale:
        print(f"out of date: {', '.join(stale)}; run `make docs` and commit the result", file=sys.stderr)
        return 1
    print(("rewrote " + ", ".join(stale)) if stale and not args.check else "the generated tables are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
