"""The variant table: every run on the date-ordered validation split, as a Markdown table.

Reads the ``date_validation`` records of ``bench/results.json`` (``bench/date_validation.py``
appends one per run) and prints, per run, what differed from today's recipe, the learning
rate and where it came from, the precision, the validation accuracy and the seconds:

    .venv/bin/python bench/variants.py               # runs of the current recipe's era
    .venv/bin/python bench/variants.py --all         # every run ever recorded
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers._readme import variants_table  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="also the runs before the LR finder chose the rate")
    args = parser.parse_args()
    print(variants_table(all_runs=args.all))


if __name__ == "__main__":
    main()
