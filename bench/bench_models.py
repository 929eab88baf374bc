"""Benchmark the registry models offline: does each family work here, and what does it cost?

``run(quick)`` returns both tables as records; from the shell it prints them:

    .venv/bin/python bench/bench_models.py --quick          # maxlen 128 and 256, 2 steps
    .venv/bin/python bench/bench_models.py --json out.json  # maxlen 128, 256, 512, 3 steps

Times are seconds per example on this machine's CPU. Models whose weights are on this
machine (the embedded MiniLM, anything in the Hugging Face cache) are measured; the
others get an estimate from their config, clearly marked as such.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import pandas as pd

import helpers  # noqa: F401  (Keras 2 before TensorFlow)
from helpers.costs import cost_table  # noqa: F401  (re-exported for the bench)
from helpers.compatibility import check_compatibility


def run(quick: bool = False) -> dict:
    """Both tables as records: ``{"compatibility": [...], "cost": [...], "seconds": ...}``.

    ``quick``: cost at maxlen 128 and 256 with 2 timed steps, instead of 128/256/512 and 3.
    The load average before and after says whether other work shared the CPU meanwhile.
    """
    maxlens, steps = ((128, 256), 2) if quick else ((128, 256, 512), 3)
    start, load_before = time.perf_counter(), os.getloadavg()[0]
    compatibility = check_compatibility()
    cost = cost_table(maxlens, steps=steps)
    return {"compatibility": compatibility.to_dict("records"), "cost": cost.to_dict("records"),
            "quick": quick, "seconds": round(time.perf_counter() - start, 1),
            "load_average": (load_before, os.getloadavg()[0]), "cpu_count": os.cpu_count()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="maxlen 128 and 256, 2 timed steps")
    parser.add_argument("--json", help="also write the records to this file")
    args = parser.parse_args()
    result = run(args.quick)
    display = ("display.width", 200, "display.max_columns", 20, "display.max_colwidth", 70)
    with pd.option_context(*display):
        print(pd.DataFrame(result["compatibility"]).drop(columns=["tokenizer_tested"]).to_string())
        print(pd.DataFrame(result["cost"]).drop(columns=["flops"]).to_string())
    print(f"{result['seconds']} s; 1-min load average before/after {result['load_average']} "
          f"on {result['cpu_count']} CPUs")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out, indent=1, default=str)


if __name__ == "__main__":
    main()
