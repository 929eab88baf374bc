"""Average the class probabilities of several saved predictors and score them on the test set.

Two runs of the same recipe with different seeds make different mistakes; averaging their
probabilities is the cheapest way to buy accuracy with more compute. This measures it:

    $ .venv/bin/python bench/ensemble.py artifacts/predictor artifacts/predictor_seed7

Prints each predictor's test accuracy and the ensemble's, and stores them in
``bench/results.json`` under ``ensemble`` (``--no-save`` to skip).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import helpers  # noqa: E402,F401  (Keras 2 before TensorFlow loads)


def stacked_probabilities(predictors: Sequence, texts: Sequence[str]) -> np.ndarray:
    """Each predictor's class probabilities, shape ``(predictors, texts, classes)``.

    The ensemble's probabilities are their mean over the first axis:

    >>> probs = stacked_probabilities([load_predictor(a), load_predictor(b)], test.texts)
    >>> (probs.mean(0).argmax(1) == test.labels).mean()  # doctest: +SKIP
    0.96
    """
    names = [list(p.class_names) for p in predictors]
    if not predictors or any(n != names[0] for n in names):
        raise ValueError(f"the predictors must share their class names, in order; got {names}.")
    return np.stack([p.predict_proba(list(texts), progress=True) for p in predictors])


def run(directories: Sequence[str], remove: Sequence[str] = ()) -> dict:
    """Test accuracy of each predictor in ``directories`` and of their average.

    >>> run(["artifacts/predictor", "artifacts/predictor_seed7"])["accuracy_ensemble"]  # doctest: +SKIP
    0.9567
    """
    from helpers.data import load_newsgroups
    from helpers.predictor import load_predictor

    test = load_newsgroups(remove=tuple(remove))[1]
    predictors = [load_predictor(d) for d in directories]
    start = time.perf_counter()
    probs = stacked_probabilities(predictors, test.texts)
    mean = probs.mean(axis=0)
    labels = np.asarray(test.labels)
    return {"predictors": [str(d) for d in directories],
            "accuracy_each": [round(float((p.argmax(1) == labels).mean()), 4) for p in probs],
            "accuracy_ensemble": round(float((mean.argmax(1) == labels).mean()), 4),
            "n_eval": len(labels), "seconds_predicting": round(time.perf_counter() - start, 1),
            "date": time.strftime("%Y-%m-%d")}


def main(argv: Sequence[str] | None = None) -> int:
    """``python bench/ensemble.py DIR DIR [...] [--no-save]``."""
    from helpers.full_run import REFERENCE_RECORDS, save_record

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directories", nargs="+", help="saved predictors (two or more)")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)
    record = run(args.directories)
    print(json.dumps(record, indent=2))
    if not args.no_save:
        save_record(record, "ensemble", REFERENCE_RECORDS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
