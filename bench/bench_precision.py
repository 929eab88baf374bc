"""Benchmark: float32 against mixed bfloat16, side by side in one process.

Real model (the embedded MiniLM-L6), real texts (20 Newsgroups training posts, cut at
``maxlen`` so every batch is full width), batch 16 for training and 32 for prediction.
Both models are built first; then each repeat times float32 and bfloat16 in turn (which
goes first flips every repeat): ``steps`` training steps after a warm-up, and one
prediction pass over ``texts`` texts. Reported: medians over the repeats, and the ratio.

    .venv/bin/python bench/bench_precision.py            # maxlen 256 and 512, ~10 min on 2 cores
    .venv/bin/python bench/bench_precision.py --quick

The record names the CPU flags that decide the precision (``helpers.precision``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from anywhere in the repo

import helpers  # noqa: E402,F401  (Keras 2 before TensorFlow)
from helpers.backend import keras  # noqa: E402
from helpers.data import load_newsgroups  # noqa: E402
from helpers.model import load_classifier  # noqa: E402
from helpers.precision import choose_precision, cpu_flags  # noqa: E402
from helpers.predictor import predict_logits  # noqa: E402
from helpers.run import RunSettings  # noqa: E402
from helpers.tokenizer import TextEncoder  # noqa: E402

POLICIES = ("float32", "mixed_bfloat16")
FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_int8")


def _train_rate(model, batches: list) -> float:
    """Examples per second over ``batches`` (after one warm-up step)."""
    model.train_on_batch(*batches[0])
    start = time.perf_counter()
    for x, y in batches[1:]:
        model.train_on_batch(x, y)
    return sum(len(y) for _, y in batches[1:]) / (time.perf_counter() - start)


def _predict_rate(model, encoder: TextEncoder, texts: list[str]) -> float:
    """Texts per second of ``predict_logits`` (the predictor's path), after a warm-up batch."""
    predict_logits(model, encoder, texts[:32])
    start = time.perf_counter()
    predict_logits(model, encoder, texts)
    return len(texts) / (time.perf_counter() - start)


def run(quick: bool = False) -> dict:
    """Medians of training examples/s and prediction texts/s per precision and maxlen."""
    repeats, steps, n_texts = (2, 4, 64) if quick else (3, 8, 128)
    train, _ = load_newsgroups()
    models = {p: load_classifier("minilm-l6", train.class_names, seed=0, precision=p) for p in POLICIES}
    record = {"cpu_flags": sorted(cpu_flags() & set(FLAGS)), "chosen": str(choose_precision("auto")),
              "repeats": repeats, "train_steps": steps, "predict_texts": n_texts, "by_maxlen": {}}
    for maxlen in (256, 512):
        encoder = TextEncoder.from_model("minilm-l6", maxlen=maxlen)
        long_texts = [t for t in train.texts if len(encoder.encode([t])[0]) >= maxlen][: max(steps + 1, 1) * 16]
        batches = list(encoder.dataset(long_texts, train.labels[: len(long_texts)], batch_size=16).take(steps + 1))
        texts = list(train.texts[:n_texts])
        rates = {p: {"train": [], "predict": []} for p in POLICIES}
        for r in range(repeats):
            for policy in POLICIES if r % 2 == 0 else POLICIES[::-1]:
                rates[policy]["train"].append(_train_rate(models[policy], batches))
                rates[policy]["predict"].append(_predict_rate(models[policy], encoder, texts))
        medians = {p: {k: round(statistics.median(v), 2) for k, v in rates[p].items()} for p in POLICIES}
        record["by_maxlen"][maxlen] = {
            "train_examples_per_s": {p: medians[p]["train"] for p in POLICIES},
            "predict_texts_per_s": {p: medians[p]["predict"] for p in POLICIES},
            "bf16_speedup": {k: round(medians["mixed_bfloat16"][k] / medians["float32"][k], 2)
                             for k in ("train", "predict")},
        }
        print(maxlen, json.dumps(record["by_maxlen"][maxlen]), flush=True)
    keras.backend.clear_session()
    record["validation_accuracy"] = validation_accuracy()
    return record


def validation_accuracy(path: Path = ROOT / "bench" / "results.json") -> dict[str, list[dict]]:
    """The recipe's date-ordered validation runs (``bench/date_validation.py``) by precision:
    the same settings but for ``precision`` and ``seed``, the rate from the LR finder. Read
    from the records, not trained here (each run takes 15-25 minutes).

    >>> validation_accuracy(Path("/nonexistent"))
    {}
    """
    if not path.is_file():
        return {}
    by_policy: dict[str, list[dict]] = {}
    for r in json.loads(path.read_text()).get("date_validation", []):
        settings, policy = r.get("settings", {}), (r.get("precision") or {}).get("policy")
        if policy and _is_the_recipe(settings):
            by_policy.setdefault(policy, []).append(
                {"seed": settings["seed"], "accuracy": r["accuracy"], "lr_max": r["lr_max"],
                 "epochs": settings["epochs"], "date": r.get("date")})
    return by_policy


def _is_the_recipe(settings: dict) -> bool:
    """Default settings but for precision, seed and epochs (4 when these runs were made)."""
    defaults = json.loads(json.dumps(dataclasses.asdict(RunSettings())))  # tuples as the records hold them
    ignored = {"precision", "seed", "epochs"}
    return settings.get("lr_max") is None and settings.get("lr_suggestion") is None and all(
        settings.get(k) == v for k, v in defaults.items() if k not in ignored and k in settings)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    print(json.dumps(run(parser.parse_args().quick), indent=1))
