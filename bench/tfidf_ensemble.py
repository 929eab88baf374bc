"""Average the fine-tuned transformer's probabilities with a TF-IDF linear model's.

The two make different mistakes: on the date-ordered validation split (README) they share
only a few, so their average is right more often than either. The weight of the TF-IDF
model is chosen on that validation split, never on the test set:

    # 1. validation probabilities of the transformer (trained on the earliest 80%)
    $ .venv/bin/python bench/date_validation.py --save-probabilities artifacts/val_probs.npy
    # 2. the weight: accuracy of each weight on the latest 20%
    $ .venv/bin/python bench/tfidf_ensemble.py choose artifacts/val_probs.npy
    # 3. the test set, once, with the chosen weight and a predictor trained on all of train
    $ .venv/bin/python bench/tfidf_ensemble.py test artifacts/predictor --weight 0.65

Reported apart from the transformer alone: it is a second model, not a better fine-tune.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import helpers  # noqa: E402,F401  (Keras 2 before TensorFlow loads)

WEIGHTS = np.round(np.arange(0, 1.01, 0.1), 2)


def blend(transformer: np.ndarray, tfidf: np.ndarray, weight: float) -> np.ndarray:
    """``weight`` x TF-IDF probabilities + ``(1 - weight)`` x the transformer's.

    >>> blend(np.array([[0.9, 0.1]]), np.array([[0.3, 0.7]]), 0.5)
    array([[0.6, 0.4]])
    """
    if not 0 <= weight <= 1:
        raise ValueError(f"weight must be between 0 and 1, not {weight}.")
    return weight * tfidf + (1 - weight) * transformer


def choose(validation_probabilities: str) -> dict:
    """Accuracy of each TF-IDF weight on the date-ordered validation split."""
    from date_validation import split_by_date
    from helpers.baseline import tfidf_baseline
    from helpers.data import load_newsgroups

    early, late = split_by_date(load_newsgroups()[0])
    transformer = np.load(validation_probabilities)
    if transformer.shape != (len(late), len(late.class_names)):
        raise SystemExit(f"{validation_probabilities} holds {transformer.shape} probabilities; the validation "
                         f"split has {len(late)} texts and {len(late.class_names)} classes.")
    tfidf = tfidf_baseline(early, late, probabilities=True)
    tfidf_probs = tfidf.model.predict_proba(list(late.texts))
    labels = np.asarray(late.labels)
    accuracy = {float(w): round(float((blend(transformer, tfidf_probs, w).argmax(1) == labels).mean()), 4)
                for w in WEIGHTS}
    wrong_t, wrong_f = transformer.argmax(1) != labels, tfidf_probs.argmax(1) != labels
    return {"accuracy_by_tfidf_weight": accuracy, "n_eval": len(labels),
            "mistakes": {"transformer": int(wrong_t.sum()), "tfidf": int(wrong_f.sum()),
                         "both": int((wrong_t & wrong_f).sum())},
            "tfidf_seconds": round(tfidf.seconds, 1)}


def test(predictor_dir: str, weight: float) -> dict:
    """Test accuracy of the predictor alone, the TF-IDF model alone, and their blend."""
    from helpers.baseline import tfidf_baseline
    from helpers.data import load_newsgroups
    from helpers.predictor import load_predictor

    train, test_set = load_newsgroups()
    transformer = load_predictor(predictor_dir).predict_proba(list(test_set.texts), progress=True)
    tfidf = tfidf_baseline(train, test_set, probabilities=True)
    tfidf_probs = tfidf.model.predict_proba(list(test_set.texts))
    labels = np.asarray(test_set.labels)

    def accuracy(p: np.ndarray) -> float:
        return round(float((p.argmax(1) == labels).mean()), 4)

    return {"predictor": predictor_dir, "tfidf_weight": weight, "n_eval": len(labels),
            "accuracy_transformer": accuracy(transformer), "accuracy_tfidf": accuracy(tfidf_probs),
            "accuracy_blend": accuracy(blend(transformer, tfidf_probs, weight))}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)
    sub.add_parser("choose").add_argument("probabilities", help=".npy from date_validation.py --save-probabilities")
    t = sub.add_parser("test")
    t.add_argument("predictor", help="a saved predictor trained on the whole training set")
    t.add_argument("--weight", type=float, required=True, help="the TF-IDF weight chosen on validation")
    args = parser.parse_args(argv)
    record = choose(args.probabilities) if args.step == "choose" else test(args.predictor, args.weight)
    print(json.dumps(record, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
