"""`make bench`: run the benchmarks, write bench/results.json and bench/results.md.

Each area has its own module with a `run(...) -> dict`:

- training    bench_training.py  examples/s, dynamic vs static padding, lr_find seconds
- models      bench_models.py    compatibility table and cost table
- precision   bench_precision.py float32 against bfloat16: training and prediction speed
- predict     bench_predict.py   predictions/s, latency, LIME time and agreement (needs a predictor)
- lime_sampling  lime_sampling.py  how LIME's agreement grows with its sample count (~45 min)
- saved_model  saved_model.py      the SavedModel export against the predictor: agreement, texts/s
- inference   bench_inference.py TensorFlow's inference against PyTorch's on the same model (PyTorch
              from .venv-torch, `make bench-torch-env`; skipped with a message without it)

The full run's record (`python -m helpers.full_run`, i.e. `make run`) is kept under
`full_run`. Results of areas not run this time are kept as they were.

    python bench/run.py --quick --only training
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from helpers.full_run import PREDICTOR_DIR, REFERENCE_RECORDS, save_record  # noqa: E402
from helpers.paths import project_dir  # noqa: E402

AREAS = ("training", "models", "precision", "inference", "predict", "lime_sampling", "saved_model")


def run_area(area: str, quick: bool, predictor_dir: Path) -> dict:
    if area == "training":
        import bench_training

        return bench_training.run(quick)
    if area == "models":
        import bench_models

        return bench_models.run(quick)
    if area == "precision":
        import bench_precision

        return bench_precision.run(quick)
    if area == "inference":
        import bench_inference

        return bench_inference.run(quick)
    if not (predictor_dir / "predictor.json").is_file():
        raise SystemExit(f"bench {area} needs a saved predictor at {predictor_dir}: run `make run` first.")
    if area == "saved_model":
        import saved_model

        return saved_model.run(predictor_dir)
    if area == "lime_sampling":
        import lime_sampling

        return lime_sampling.run(str(predictor_dir), quick)
    import bench_predict

    return bench_predict.run(str(predictor_dir), quick)


def write_markdown(results: dict, path: Path = HERE / "results.md") -> None:
    """A short human-readable summary of results.json."""
    lines = ["# Benchmark results", "", f"Written {dt.date.today()} from `bench/results.json`.", ""]
    for key, record in results.items():
        lines += [f"## {key}", "", "```json", json.dumps(record, indent=1)[:4000], "```", ""]
    path.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and texts")
    parser.add_argument("--only", nargs="+", choices=AREAS, default=list(AREAS))
    parser.add_argument("--predictor", type=Path, default=project_dir() / PREDICTOR_DIR)
    args = parser.parse_args()
    for area in args.only:
        print(f"== bench {area}{' (quick)' if args.quick else ''}", flush=True)
        record = run_area(area, args.quick, args.predictor)
        record["quick"] = args.quick
        record["date"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        results = save_record(record, area, REFERENCE_RECORDS)  # make bench: the reference records
    write_markdown(json.loads(results.read_text()))
    print(f"results: {results} and {HERE / 'results.md'}")


if __name__ == "__main__":
    main()
