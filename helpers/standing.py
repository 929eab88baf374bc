"""Where we stand: one run's test accuracy beside the tutorial's and a baseline's, with its
uncertainty. Which differences are real, and which are noise?

A test set of 1,502 messages measures accuracy to within about a point, and two runs of one
recipe that differ only in their random seed land up to a point apart. So a gap between two
numbers means little until it is set against those two spreads:

- the **confidence interval** of one run's accuracy (Wilson's score interval): the range of
  accuracies that would plausibly give this many mistakes on this many messages;
- **McNemar's test** of two models on the *same* messages: only the messages where exactly one
  of them is right carry information; if each is right alone about as often as the other,
  the gap is noise.

    >>> low, high = accuracy_interval(1415, 1502)
    >>> f"{low:.2%} to {high:.2%}"
    '92.91% to 95.28%'
    >>> paired_test([1, 1, 0, 1], [1, 0, 0, 0]).only_first
    2
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

# The tutorial's reported set-up and result (ktrain + transformers, 4 newsgroups, same split).
TUTORIAL = {"accuracy": 0.9627, "model": "DistilBERT (distilbert-base-uncased)", "parameters": 66_955_010,
            "maxlen": 500, "epochs": 4, "hardware": "a GPU", "precision": "float32 (GPU)"}


def accuracy_interval(correct: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson's score interval for an accuracy of ``correct`` out of ``n``.
    Taught in notebooks/04_one_cycle_training.ipynb.

    >>> [round(x, 4) for x in accuracy_interval(95, 100)]
    [0.8882, 0.9785]
    """
    if not 0 <= correct <= n or n == 0:
        raise ValueError(f"Need 0 <= correct <= n and n > 0; got correct={correct}, n={n}.")
    from scipy.stats import norm

    z = norm.ppf(0.5 + level / 2)
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, float(centre - half)), min(1.0, float(centre + half))


@dataclass(frozen=True)
class PairedTest:
    """McNemar's exact test of two models scored on the same messages.
    Taught in notebooks/04_one_cycle_training.ipynb."""

    only_first: int  # messages only the first model got right
    only_second: int  # messages only the second model got right
    p_value: float  # two-sided: how often a gap this large arises if neither model is better

    def __str__(self) -> str:
        verdict = ("a real difference (p < 0.05)" if self.p_value < 0.05
                   else "within the noise (p >= 0.05)")
        return (f"right where the other is wrong: {self.only_first} against {self.only_second} messages; "
                f"p = {self.p_value:.2g}: {verdict}")


def paired_test(first_correct: Sequence[bool], second_correct: Sequence[bool]) -> PairedTest:
    """McNemar's exact test: are two models' accuracies on the same messages really different?
    Taught in notebooks/04_one_cycle_training.ipynb.

    >>> str(paired_test([1] * 30 + [0] * 5, [1] * 20 + [0] * 15))
    'right where the other is wrong: 10 against 0 messages; p = 0.002: a real difference (p < 0.05)'
    """
    first, second = np.asarray(first_correct, bool), np.asarray(second_correct, bool)
    if first.shape != second.shape:
        raise ValueError(f"Both models must be scored on the same messages; got {first.shape} and {second.shape}.")
    only_first, only_second = int(np.sum(first & ~second)), int(np.sum(~first & second))
    from scipy.stats import binomtest

    discordant = only_first + only_second
    p = binomtest(only_first, discordant, 0.5).pvalue if discordant else 1.0
    return PairedTest(only_first, only_second, float(p))


def setups(run: dict) -> pd.DataFrame:
    """This run's set-up beside the tutorial's, one row per difference that matters.
    ``run`` holds ``model``, ``parameters``, ``maxlen``, ``epochs``, ``hardware``, ``precision``.
    Taught in notebooks/04_one_cycle_training.ipynb.

    >>> setups({"model": "minilm-l6", "parameters": 22_713_986, "maxlen": 256, "epochs": 5,
    ...         "hardware": "2 CPU cores", "precision": "mixed_bfloat16"}).loc["parameters"].tolist()
    ['22.7M', '67.0M']
    """
    rows = {}
    for key in ("model", "parameters", "maxlen", "epochs", "hardware", "precision"):
        ours, theirs = run[key], TUTORIAL[key]
        if key == "parameters":
            ours, theirs = f"{ours / 1e6:.1f}M", f"{theirs / 1e6:.1f}M"
        rows[key] = [ours, theirs]
    return pd.DataFrame.from_dict(rows, orient="index", columns=["this run", "the tutorial"])


def reference_records() -> dict:
    """The project's committed records (``bench/results.json``): every run it reports.
    Not in a notebook."""
    import json

    from helpers.full_run import REFERENCE_RECORDS
    from helpers.paths import project_dir

    path = project_dir() / REFERENCE_RECORDS
    return json.loads(path.read_text()) if path.is_file() else {}


RUN_COLUMNS = ["model", "pooling", "epochs", "maxlen", "rate from", "learning rate", "precision", "seed",
               "accuracy", "mistakes", "n", "minutes", "CPU flags", "date"]


def describe_run(record: dict) -> dict:
    """One run's record as one table row: the recipe, where its rate came from, the result,
    the time and the CPU. The one place a record becomes a row (notebook 04, README, docs).
    Not in a notebook.

    >>> row = describe_run({"settings": {"model": "minilm-l6", "epochs": 5, "maxlen": 256, "seed": 42,
    ...     "lr_max": None}, "lr_max": 3.2e-4, "accuracy": 0.95, "n_eval": 1502, "date": "2026-12-08T01:00",
    ...     "seconds": {"total": 600}, "cpu_flags": ["avx512_bf16"]})
    >>> row["learning rate"], row["rate from"], row["mistakes"], row["CPU flags"]
    ('3.2e-04', 'finder', 75, 'avx512_bf16')
    """
    s = record["settings"]
    by_hand = s.get("lr_max") is not None
    source = "set" if by_hand else "finder" + (f": {s['lr_suggestion']}" if s.get("lr_suggestion") else "")
    flags = record.get("cpu_flags")
    return {"model": s["model"], "pooling": s.get("pooling", "cls"), "epochs": s["epochs"], "maxlen": s["maxlen"],
            "rate from": source, "learning rate": f"{record['lr_max']:.1e}",
            "precision": (record.get("precision") or {}).get("policy", "float32"), "seed": s["seed"],
            "accuracy": record["accuracy"], "mistakes": round(record["n_eval"] * (1 - record["accuracy"])),
            "n": record["n_eval"], "minutes": round(record["seconds"]["total"] / 60, 1),
            "CPU flags": "not recorded" if flags is None
            else " ".join(f for f in flags if "bf16" in f or "amx" in f) or "no bf16",
            "date": record["date"][:10]}


def recorded_runs() -> pd.DataFrame:
    """Every run of this project scored on the test set, from the committed records
    (``bench/results.json``), oldest first: the recipe, the seed, the accuracy.
    Taught in notebooks/04_one_cycle_training.ipynb.

    >>> {"model", "seed", "test accuracy"} <= set(recorded_runs().columns)
    True
    """
    rows = [{"record": key, **describe_run(r)} for key, r in reference_records().items()
            if isinstance(r, dict) and r.get("evaluate_on") == "test"]
    runs = pd.DataFrame(rows, columns=["record", *RUN_COLUMNS])
    return (runs.rename(columns={"accuracy": "test accuracy"}).sort_values("date", kind="stable")
            .reset_index(drop=True))


def seed_spread(runs: pd.DataFrame) -> pd.DataFrame:
    """For each recipe run with more than one seed: the seeds, the lowest and highest accuracy.
    A recipe is everything but the seed; a rate the finder chose counts as one choice, however
    it came out. Taught in notebooks/04_one_cycle_training.ipynb.

    >>> runs = pd.DataFrame({"model": ["m"] * 3, "pooling": ["cls"] * 3, "epochs": [5, 5, 4],
    ...     "maxlen": [256] * 3, "rate from": ["finder"] * 3, "learning rate": ["3.2e-04", "3.0e-04", "3.2e-04"],
    ...     "precision": ["float32"] * 3, "seed": [42, 7, 42], "test accuracy": [0.95, 0.9467, 0.93]})
    >>> seed_spread(runs)[["seeds", "spread"]].values.tolist()
    [['42, 7', 0.0033]]
    """
    recipe = ["model", "pooling", "epochs", "maxlen", "rate", "precision"]
    runs = runs.assign(rate=runs["learning rate"].where(runs["rate from"] == "set", runs["rate from"]))
    rows = []
    for key, group in runs.groupby(recipe, sort=False):
        if group["seed"].nunique() > 1:
            acc = group["test accuracy"]
            rows.append({**dict(zip(recipe, key)), "seeds": ", ".join(map(str, group["seed"])),
                         "mean": round(acc.mean(), 4), "lowest": acc.min(), "highest": acc.max(),
                         "spread": round(acc.max() - acc.min(), 4)})
    return pd.DataFrame(rows, columns=[*recipe, "seeds", "mean", "lowest", "highest", "spread"])
