"""Look at what the model gets wrong: the texts it is most wrong about, and the classes it mixes up.

Predicting is the slow part, so do it once and hand the probabilities to both views:

    >>> from helpers.inspection import class_probabilities, top_losses, most_confused
    >>> probs = class_probabilities(model, encoder, test.texts)
    >>> top_losses(None, None, test.texts, test.labels, test.class_names, probs=probs)
    >>> most_confused(None, None, test.texts, test.labels, test.class_names, probs=probs)
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.special import softmax

from helpers.tokenizer import predict_logits

_COLUMNS = ["loss", "true", "predicted", "p_predicted", "p_true", "text", "full_text"]


def class_probabilities(model, encoder, texts: Sequence[str], *, batch_size: int = 32,
                        progress: bool = False) -> np.ndarray:
    """Softmax probabilities, shape ``(len(texts), classes)``, in the order of ``texts``.

    >>> class_probabilities(model, encoder, ["ray tracing", "a fever"]).shape
    (2, 4)
    """
    logits = predict_logits(model, encoder, texts, batch_size=batch_size, progress=progress)
    return softmax(logits.astype(np.float64), axis=1)


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

    >>> worst = top_losses(model, encoder, test.texts, test.labels, test.class_names, n=5)
    >>> print(worst.full_text.iloc[0])            # read the worst one in full
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

    >>> most_confused(model, encoder, test.texts, test.labels, test.class_names)
                        true              predicted  count
    0            alt.atheism  soc.religion.christian     41
    1  soc.religion.christian           alt.atheism     12
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


def _checked(model, encoder, texts, labels, class_names, probs) -> tuple[np.ndarray, np.ndarray]:
    """Validate the inputs, predict if needed; return ``(probs, labels)`` as arrays."""
    if isinstance(texts, str):
        raise ValueError("Expected a list of texts, got a single string: wrap it as [text].")
    labels = np.asarray(labels)
    if len(labels) != len(texts):
        raise ValueError(f"Got {len(texts)} texts but {len(labels)} labels: "
                         "give one label per text.")
    if labels.size and (not np.issubdtype(labels.dtype, np.integer)
                        or labels.min() < 0 or labels.max() >= len(class_names)):
        raise ValueError(f"labels must be class indices 0..{len(class_names) - 1} (positions in "
                         "class_names); map class names to indices first.")
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
