"""How good is the classifier? Accuracy, a per-class report and a confusion matrix (``validate``);
then what it gets wrong: the texts it is most wrong about (``top_losses``) and the classes it
mixes up (``most_confused``), like fastai's ``ClassificationInterpretation``.

    >>> from helpers.evaluate import validate
    >>> result = validate(model, encoder, test.texts[:40], test.labels[:40], test.class_names)
    >>> 0 <= result.accuracy <= 1        # about a quarter for a tiny untrained model
    True
    >>> list(result.report.columns)      # precision / recall / f1 / support per class
    ['precision', 'recall', 'f1-score', 'support']
    >>> result.plot_confusion()
    <Axes: ...>
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import classification_report, confusion_matrix

from helpers.checks import check_labels, check_texts
from helpers.predictor import PREDICT_BATCH_SIZE, class_probabilities
from helpers.tokenizer import TextEncoder

_COLUMNS = ["loss", "true", "predicted", "p_predicted", "p_true", "text", "full_text"]


@dataclass
class ValidationResult:
    """Everything ``validate`` measured, plus the raw outputs for later analysis.

    ``confusion[i, j]`` counts texts of true class ``i`` predicted as class ``j``.
    ``probabilities`` is ``(n_texts, n_classes)``; ``predictions`` and ``labels`` are class indexes.
    Not in a notebook.

    >>> result = validate(model, encoder, test.texts[:40], test.labels[:40], test.class_names)
    >>> wrong = np.flatnonzero(result.predictions != result.labels)
    >>> int(result.confusion.sum() - np.trace(result.confusion)) == len(wrong)
    True
    """

    accuracy: float
    report: pd.DataFrame
    confusion: np.ndarray
    class_names: list[str]
    probabilities: np.ndarray
    predictions: np.ndarray
    labels: np.ndarray

    def __repr__(self) -> str:
        return (f"ValidationResult(accuracy={self.accuracy:.4f}, texts={len(self.labels)}, "
                f"classes={self.class_names})")

    def plot_confusion(self, normalize: bool = False, ax=None):
        """Heatmap of the confusion matrix, true class down, predicted across; returns the axes.

        ``normalize=True`` shows each row as shares of that true class (its recall on the
        diagonal); the counts are written in every cell either way.

        >>> validate(model, encoder, texts, labels, train.class_names).plot_confusion(normalize=True)
        <Axes: ...>
        """
        import matplotlib.pyplot as plt

        counts = self.confusion
        totals = counts.sum(axis=1, keepdims=True)
        shown = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0) if normalize else counts
        k = len(self.class_names)
        new_figure = ax is None
        if new_figure:
            _, ax = plt.subplots(figsize=(1.4 * k + 2, 1.2 * k + 1.5))
        image = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else max(int(counts.max()), 1))
        ax.figure.colorbar(image, ax=ax, label="share of the true class" if normalize else "texts")
        for i in range(k):
            for j in range(k):
                text = f"{counts[i, j]}\n{shown[i, j]:.0%}" if normalize else f"{counts[i, j]}"
                dark = shown[i, j] > (0.5 if normalize else counts.max() / 2)
                ax.text(j, i, text, ha="center", va="center", color="white" if dark else "black")
        ax.set_xticks(range(k), self.class_names, rotation=30, ha="right")
        ax.set_yticks(range(k), self.class_names)
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        ax.set_title(f"confusion matrix (accuracy {self.accuracy:.1%})")
        if new_figure:
            ax.figure.tight_layout()
        return ax


def validate(
    model,
    encoder: TextEncoder,
    texts: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    class_names: Sequence[str],
    *,
    batch_size: int = PREDICT_BATCH_SIZE,
) -> ValidationResult:
    """Predict ``texts`` and compare with the true ``labels``.

    ``labels`` are class indexes into ``class_names``, or the class names themselves; a
    name the model does not know is an error that names it.
    Taught in notebooks/04_one_cycle_training.ipynb.

    >>> result = validate(model, encoder, test.texts[:40], test.labels[:40], test.class_names)
    >>> int(result.confusion.sum())
    40
    """
    class_names = list(class_names)
    texts = check_texts(texts, where="validate")
    labels = check_labels(labels, class_names, n_texts=len(texts), where="validate")
    probabilities = class_probabilities(model, encoder, texts, batch_size=batch_size)
    if probabilities.shape[1] != len(class_names):
        raise ValueError(f"The model has {probabilities.shape[1]} outputs but {len(class_names)} class "
                         "names were given: pass the class names the model was trained with.")
    predictions = probabilities.argmax(axis=1)
    ids = list(range(len(class_names)))
    report = classification_report(labels, predictions, labels=ids, target_names=class_names,
                                   output_dict=True, zero_division=0)
    report.pop("accuracy", None)  # a single number, kept in .accuracy
    return ValidationResult(
        accuracy=float((predictions == labels).mean()),
        report=pd.DataFrame(report).T.astype({"support": int}),
        confusion=confusion_matrix(labels, predictions, labels=ids),
        class_names=class_names,
        probabilities=probabilities,
        predictions=predictions,
        labels=labels,
    )


# ------------------------------------------------------------------------------ mistakes
def top_losses(
    model,
    encoder,
    texts: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    class_names: Sequence[str],
    n: int = 10,
    *,
    misclassified_only: bool = True,
    text_width: int = 300,
    probs: np.ndarray | None = None,
) -> pd.DataFrame:
    """The ``n`` texts with the highest cross-entropy loss, worst first.

    The index is each text's position in ``texts``. Columns: ``loss``, ``true`` and
    ``predicted`` class, ``p_predicted``, ``p_true`` (the probability the model gave the
    right class), ``text`` (on one line, cut to ``text_width`` characters) and
    ``full_text``. Pass ``probs`` (from ``class_probabilities``) to skip predicting;
    ``model`` and ``encoder`` may then be ``None``.
    Taught in notebooks/05_top_losses.ipynb.

    >>> worst = top_losses(model, encoder, test.texts[:40], test.labels[:40], test.class_names, n=5)
    >>> len(worst), list(worst.columns[:3])
    (5, ['loss', 'true', 'predicted'])
    >>> print(worst.full_text.iloc[0])            # read the worst one in full  # doctest: +SKIP
    """
    probs, labels = _checked(model, encoder, texts, labels, class_names, probs)
    rows = np.arange(len(labels))
    p_true = probs[rows, labels]
    predicted = probs.argmax(axis=1)
    loss = -np.log(np.clip(p_true, np.finfo(probs.dtype).tiny, None))
    keep = predicted != labels if misclassified_only else np.ones(len(labels), bool)
    worst = rows[keep][np.argsort(-loss[keep], kind="stable")][:n]
    names = np.asarray(class_names, dtype=object)
    return pd.DataFrame(
        {
            "loss": loss[worst],
            "true": names[labels[worst]],
            "predicted": names[predicted[worst]],
            "p_predicted": probs[worst, predicted[worst]],
            "p_true": p_true[worst],
            "text": [_one_line(texts[i], text_width) for i in worst],
            "full_text": [texts[i] for i in worst],
        },
        index=pd.Index(worst, name="index"),
        columns=_COLUMNS,
    )


def most_confused(
    model,
    encoder,
    texts: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    class_names: Sequence[str],
    *,
    min_count: int = 1,
    probs: np.ndarray | None = None,
) -> pd.DataFrame:
    """Pairs of (true, predicted) classes the model mixes up, most frequent first.

    Only mistakes (the off-diagonal of the confusion matrix) seen at least ``min_count``
    times. Pass ``probs`` to skip predicting.
    Taught in notebooks/05_top_losses.ipynb.

    >>> most_confused(model, encoder, test.texts, test.labels, test.class_names)  # doctest: +SKIP
                        true              predicted  count
    0            alt.atheism  soc.religion.christian     41
    1  soc.religion.christian           alt.atheism     12
    >>> probs = np.eye(4)[[0, 3, 3, 1]]              # predicted: 0, 3, 3, 1
    >>> most_confused(None, None, ["a", "b", "c", "d"], [0, 0, 3, 1], train.class_names, probs=probs)
              true               predicted  count
    0  alt.atheism  soc.religion.christian      1
    """
    probs, labels = _checked(model, encoder, texts, labels, class_names, probs)
    k = len(class_names)
    counts = np.bincount(labels * k + probs.argmax(axis=1), minlength=k * k).reshape(k, k)
    pairs = [
        (class_names[t], class_names[p], int(counts[t, p]))
        for t in range(k) for p in range(k)
        if t != p and counts[t, p] >= max(min_count, 1)
    ]
    pairs.sort(key=lambda pair: -pair[2])  # stable: ties stay in class order
    return pd.DataFrame(pairs, columns=["true", "predicted", "count"])


def subject_and_body(text: str, lines: int = 6) -> tuple[str, list[str]]:
    """A message's ``Subject:`` line and its first ``lines`` non-empty lines after the headers.
    Taught in notebooks/05_top_losses.ipynb.

    >>> subject_and_body("From: a@b\\nSubject: Gamma\\n\\nHello,\\n\\nwhich monitor?", lines=1)
    ('Subject: Gamma', ['Hello,'])
    """
    head, _, body = text.partition("\n\n")
    subject = next((line for line in head.splitlines() if line.startswith("Subject:")), "(no subject line)")
    return subject, [line for line in body.splitlines() if line.strip()][:lines]


def _checked(model, encoder, texts, labels, class_names, probs) -> tuple[np.ndarray, np.ndarray]:
    """Validate the inputs (``helpers.checks``), predict if needed; return ``(probs, labels)``."""
    texts = check_texts(texts, where="top_losses/most_confused")
    labels = check_labels(labels, list(class_names), n_texts=len(texts), where="top_losses/most_confused")
    if probs is None:
        if model is None or encoder is None:
            raise ValueError("Give a model and an encoder, or precomputed probs=... "
                             "(from class_probabilities) to skip predicting.")
        probs = class_probabilities(model, encoder, texts)
    probs = np.asarray(probs)
    if probs.shape != (len(texts), len(class_names)):
        raise ValueError(f"probs has shape {probs.shape}, expected "
                         f"{(len(texts), len(class_names))}: one row per text, one column per "
                         "class (class_probabilities gives that).")
    return probs, labels.astype(np.int64)


def _one_line(text: str, width: int) -> str:
    """Whitespace (newlines too) collapsed to single spaces, cut to ``width`` characters."""
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= width else text[: width - 1] + "…"
