"""Benchmark: training speed with dynamic padding + bucketing vs static padding, and lr_find time.

Real model (the embedded MiniLM-L6) on the real task (20 Newsgroups, 4 groups, 2,257
training posts), batch size 16, on whatever CPU/GPU TensorFlow sees.

    .venv/bin/python bench/bench_training.py            # full: ~10-20 minutes on 2 CPU cores
    .venv/bin/python bench/bench_training.py --quick    # a rough look in a few minutes

Method: every setting (padding x maxlen) is compiled first (tracing is not training).
Then, for each repeat, dynamic and static are measured alternately (which goes first
flips every repeat), each on fresh shuffled batches: one warm-up step, then ``steps``
timed ``train_on_batch`` calls. Reported: the median examples/s over the repeats.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere in the repo

import helpers  # noqa: E402,F401  (Keras 2 before TensorFlow)
from helpers.model import EMBEDDED_MODEL, load_classifier  # noqa: E402
from helpers.lr_finder import lr_find  # noqa: E402
from helpers.tokenizer import TextEncoder  # noqa: E402

BATCH_SIZE = 16
PADDINGS = ("dynamic", "static")


def _batches(encoder: TextEncoder, texts, labels, padding: str, n: int, seed: int) -> list:
    """``n`` training batches drawn at random from one whole shuffled epoch.

    Dynamic padding comes with length bucketing. Drawing from the whole epoch matters:
    bucketing emits the fullest bucket's batches (the longest texts) first, so the first
    ``n`` batches would not be typical.
    """
    ds = encoder.dataset(texts, labels, batch_size=BATCH_SIZE, padding=padding,
                         bucket=padding == "dynamic", shuffle=True, seed=seed)
    epoch = list(ds)
    picks = np.random.default_rng(seed).choice(len(epoch), size=min(n, len(epoch)), replace=False)
    return [epoch[i] for i in picks]


def _examples_per_second(model, batches: list) -> tuple[float, float]:
    """One warm-up step, then time the rest; returns (examples/s, mean padded width)."""
    model.train_on_batch(*batches[0])
    start = time.perf_counter()
    for x, y in batches[1:]:
        model.train_on_batch(x, y)  # returns numpy logs, so the step has finished
    seconds = time.perf_counter() - start
    examples = sum(len(y) for _, y in batches[1:])
    width = float(np.mean([x["input_ids"].shape[1] for x, _ in batches[1:]]))
    return examples / seconds, width


def run(quick: bool, *, maxlens: tuple[int, ...] = (256, 512), steps: int | None = None,
        repeats: int | None = None, lr_find_steps: int | None = None, data=None) -> dict:
    """Measure and return the results as a dict (see ``main`` for a printed summary).

    ``quick`` means fewer steps and repeats; any of ``steps``, ``repeats`` and
    ``lr_find_steps`` overrides it. ``data`` is a ``LabeledTexts`` (default: 20 Newsgroups train).

    >>> run(quick=True, maxlens=(128,), steps=2, repeats=1, lr_find_steps=5)  # doctest: +SKIP
    """
    steps = steps or (3 if quick else 8)
    repeats = repeats or (2 if quick else 3)
    lr_find_steps = lr_find_steps or (20 if quick else 50)  # 50: what the full run uses
    if data is None:
        from helpers.data import load_newsgroups

        data, _ = load_newsgroups()
    model = load_classifier(EMBEDDED_MODEL, data.class_names, learning_rate=2e-5, seed=0)
    encoders = {maxlen: TextEncoder.from_model(EMBEDDED_MODEL, maxlen=maxlen) for maxlen in maxlens}

    # Compile every setting first: two batches each (dynamic shapes make Keras trace twice).
    for maxlen, encoder in encoders.items():
        for padding in PADDINGS:
            for x, y in _batches(encoder, data.texts, data.labels, padding, 2, seed=999):
                model.train_on_batch(x, y)

    runs = {(maxlen, padding): [] for maxlen in maxlens for padding in PADDINGS}
    widths = {key: [] for key in runs}
    for r in range(repeats):
        for maxlen, encoder in encoders.items():
            order = PADDINGS if r % 2 == 0 else PADDINGS[::-1]  # alternate who goes first
            for padding in order:
                batches = _batches(encoder, data.texts, data.labels, padding, steps + 1, seed=r)
                speed, width = _examples_per_second(model, batches)
                runs[maxlen, padding].append(speed)
                widths[maxlen, padding].append(width)

    throughput = [
        {"maxlen": maxlen, "padding": padding, "examples_per_s": statistics.median(values),
         "runs": values, "mean_width": float(np.mean(widths[maxlen, padding]))}
        for (maxlen, padding), values in runs.items()
    ]
    speedup = {str(m): statistics.median(runs[m, "dynamic"]) / statistics.median(runs[m, "static"]) for m in maxlens}

    lr_maxlen = 256 if 256 in encoders else maxlens[0]
    finder_data = encoders[lr_maxlen].dataset(data.texts, data.labels, batch_size=BATCH_SIZE, shuffle=True)
    start = time.perf_counter()
    result = lr_find(model, finder_data, num_steps=lr_find_steps, progress=not quick)
    seconds = time.perf_counter() - start
    return {
        "config": {"model": EMBEDDED_MODEL, "texts": len(data.texts), "batch_size": BATCH_SIZE,
                   "timed_steps": steps, "repeats": repeats, "quick": quick,
                   "note": "timed with train_on_batch, measured ~1.4x slower per step than model.fit "
                           "on the same batches here: compare the ratios; the full run's train "
                           "seconds are the model.fit figure"},
        "throughput": throughput,
        "speedup_dynamic_over_static": speedup,
        "lr_find": {"seconds": seconds, "maxlen": lr_maxlen, "padding": "dynamic", "num_steps": lr_find_steps,
                    "steps_run": len(result.lrs), "stop_reason": result.stop_reason,
                    "suggestions": result.suggestions},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps and repeats")
    parser.add_argument("--maxlen", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--steps", type=int, help="timed steps per measurement")
    parser.add_argument("--repeats", type=int, help="measurements per setting (median reported)")
    parser.add_argument("--lr-find-steps", type=int)
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    results = run(args.quick, maxlens=tuple(args.maxlen), steps=args.steps, repeats=args.repeats,
                  lr_find_steps=args.lr_find_steps)
    for row in results["throughput"]:
        print(f"maxlen {row['maxlen']:>4}  {row['padding']:<8} {row['examples_per_s']:7.1f} examples/s "
              f"(mean padded width {row['mean_width']:.0f})")
    for maxlen, ratio in results["speedup_dynamic_over_static"].items():
        print(f"maxlen {maxlen:>4}  dynamic + bucketing is {ratio:.2f}x static")
    finder = results["lr_find"]
    print(f"lr_find: {finder['seconds']:.1f} s for {finder['steps_run']} steps ({finder['stop_reason']})")
    text = json.dumps(results, indent=2)
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
