"""A classic baseline: TF-IDF word and word-pair features with a linear classifier.

It trains in seconds on a CPU, so it shows what fine-tuning a transformer buys. With
``probabilities=True`` it is calibrated (Platt scaling over 3 folds) and gives class
probabilities, e.g. to average with a transformer's.

    >>> from helpers.baseline import tfidf_baseline
    >>> result = tfidf_baseline(train, test)            # doctest: +SKIP
    >>> f"{result.accuracy:.1%} in {result.seconds:.1f} s"  # doctest: +SKIP
    '91.0% in 3.2 s'
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from helpers.data import LabeledTexts


@dataclass
class BaselineResult:
    """A fitted baseline, its accuracy on the evaluation texts and its training seconds.
    Not in a notebook.
    """

    model: object  # a scikit-learn Pipeline: .predict(texts), and .predict_proba(texts) if calibrated
    accuracy: float
    seconds: float
    name: str


def tfidf_classifier(*, probabilities: bool = False, seed: int = 42):
    """An unfitted TF-IDF + linear SVM pipeline (calibrated to give probabilities if asked).
    Not in a notebook.

    >>> tfidf_classifier().steps[-1][0]
    'svm'
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import Pipeline
    from sklearn.svm import LinearSVC

    svm = LinearSVC(C=1.0, random_state=seed)
    return Pipeline([
        ("tfidf", TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2)),
        ("svm", CalibratedClassifierCV(svm, cv=3) if probabilities else svm),
    ])


def tfidf_baseline(train: LabeledTexts, evaluate: LabeledTexts, *, probabilities: bool = False,
                   seed: int = 42) -> BaselineResult:
    """Fit ``tfidf_classifier`` on ``train``, score it on ``evaluate``.
    Taught in notebooks/04_one_cycle_training.ipynb.

    >>> tfidf_baseline(train, test).accuracy > 0.8  # doctest: +SKIP
    True
    """
    if len(set(train.labels)) < 2:
        raise ValueError("The baseline needs training texts from at least two classes; "
                         f"got labels {sorted(set(train.labels))}.")
    model = tfidf_classifier(probabilities=probabilities, seed=seed)
    start = time.perf_counter()
    model.fit(list(train.texts), np.asarray(train.labels))
    seconds = time.perf_counter() - start
    accuracy = float(np.mean(model.predict(list(evaluate.texts)) == np.asarray(evaluate.labels)))
    name = "TF-IDF + linear SVM" + (" (calibrated)" if probabilities else "")
    return BaselineResult(model, accuracy, seconds, name)
