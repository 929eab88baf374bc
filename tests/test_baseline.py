"""The TF-IDF + linear SVM baseline: trains in seconds, scores, and can give probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.baseline import tfidf_baseline
from helpers.data import LabeledTexts

NAMES = ["graphics", "medicine", "religion"]
WORDS = {0: "pixel render polygon shader texture", 1: "doctor fever infection dose clinic",
         2: "god church scripture prayer faith"}


def toy(n: int, seed: int) -> LabeledTexts:
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    texts = [" ".join(rng.choice(WORDS[y].split() + ["the", "a", "and"], size=8)) for y in labels]
    return LabeledTexts(texts, labels, NAMES)


def test_baseline_learns_a_separable_task_and_times_itself():
    result = tfidf_baseline(toy(60, 0), toy(30, 1))
    assert result.accuracy == pytest.approx(1.0)
    assert 0 < result.seconds < 30 and result.name == "TF-IDF + linear SVM"
    assert not hasattr(result.model, "predict_proba")


def test_calibrated_baseline_gives_probabilities_for_an_ensemble():
    result = tfidf_baseline(toy(60, 0), toy(30, 1), probabilities=True)
    probs = result.model.predict_proba(["the doctor gave a dose", "render the polygon"])
    assert probs.shape == (2, 3) and np.allclose(probs.sum(axis=1), 1)
    assert list(probs.argmax(axis=1)) == [1, 0]


def test_one_class_is_a_clear_error():
    one = LabeledTexts(["a b", "c d"], np.array([0, 0]), NAMES)
    with pytest.raises(ValueError, match="at least two classes"):
        tfidf_baseline(one, one)
