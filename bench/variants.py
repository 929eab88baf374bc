"""The variant table: every run on the date-ordered validation split, as a Markdown table.

Reads the ``date_validation`` records of ``bench/results.json`` (``bench/date_validation.py``
appends one per run) and prints, per run, what differed from today's recipe, the learning
rate and where it came from, the precision, the validation accuracy and the seconds:

    .venv/bin/python bench/variants.py               # runs of the current recipe's era
    .venv/bin/python bench/variants.py --all         # every run ever recorded
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.full_run import REFERENCE_RECORDS, RunSettings  # noqa: E402
from helpers.paths import project_dir  # noqa: E402

# Settings that do not change what is learned, or that every run shares.
IGNORED = {"lr_max", "lr_suggestion", "lr_find_steps", "lr_find_maxlen", "val_size", "remove", "precision"}


def changes(settings: dict) -> str:
    """What a run's settings change from today's defaults, e.g. ``"tail=64, epochs=5"``.

    >>> changes({**dataclasses.asdict(RunSettings()), "tail": 64})
    'tail=64'
    """
    defaults = dataclasses.asdict(RunSettings())
    diff = [f"{k}={v}" for k, v in settings.items() if k not in IGNORED and k in defaults and v != defaults[k]]
    return ", ".join(diff) or "the recipe"


def table(records: list[dict]) -> str:
    """One Markdown row per record."""
    rows = ["| change | learning rate | precision | validation accuracy | seconds (train / all) | CPU flags |",
            "| --- | --- | --- | --- | --- | --- |"]
    for r in records:
        lr = f"{r['lr_max']:.2e} ({r.get('lr_source') or 'set by hand'})"
        policy = (r.get("precision") or {}).get("policy", "float32")
        seconds = f"{r['seconds'].get('train', 0):.0f} / {r['seconds'].get('total', 0):.0f}"
        flags = ", ".join(f for f in r.get("cpu_flags", []) if "bf16" in f or "amx" in f) or "-"
        rows.append(f"| {changes(r['settings'])} | {lr} | {policy} | {r['accuracy']:.2%} | {seconds} | {flags} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="also the runs before the LR finder chose the rate")
    args = parser.parse_args()
    records = json.loads((project_dir() / REFERENCE_RECORDS).read_text()).get("date_validation", [])
    if not args.all:
        records = [r for r in records if "lr_max" in r and "cpu_flags" in r]
    print(table(records))


if __name__ == "__main__":
    main()
