"""How good is the classifier? Accuracy, a per-class report and a confusion matrix.

    >>> from helpers.evaluate import validate
    >>> result = validate(model, encoder, test.texts, test.labels, test.class_names)  # doctest: +SKIP
    >>> result.accuracy                                                            # doctest: +SKIP
    0.912
    >>> result.report              # precision / recall / f1 / support per class   # doctest: +SKIP
    >>> result.plot_confusion()                                                    # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import classification_report, confusion_matrix

from helpers.checks import check_labels, check_texts
from helpers.inspection import class_probabilities
from helpers.tokenizer import TextEncoder


@dataclass
class ValidationResult:
    """Everything ``validate`` measured, plus the raw outputs for later analysis.

    ``confusion[i, j]`` counts texts of true class ``i`` predicted as class ``j``.
    ``probabilities`` is ``(n_texts, n_classes)``; ``predictions`` and ``labels`` are class indexes.

    >>> wrong = np.flatnonzero(result.predictions != result.labels)  # doctest: +SKIP
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

        >>> result.plot_confusion(normalize=True)  # doctest: +SKIP
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
    batch_size: int = 32,
) -> ValidationResult:
    """Predict ``texts`` and compare with the true ``labels``.

    ``labels`` are class indexes into ``class_names``, or the class names themselves; a
    name the model does not know is an error that names it.

    >>> result = validate(model, encoder, test.texts, test.labels, test.class_names)  # doctest: +SKIP
    >>> result.confusion.sum() == len(test.texts)                                  # doctest: +SKIP
    True
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
