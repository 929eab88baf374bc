"""top_losses and most_confused against losses and confusion counts computed independently."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix

from conftest import CLASS_NAMES


@pytest.fixture
def case(tiny_classifier, encoder, toy_texts):
    """A random tiny model, the toy texts (some with newlines) and logits computed directly."""
    texts, labels = toy_texts
    texts = [t.replace(" ", "\n", 1) if i % 3 == 0 else t for i, t in enumerate(texts)]
    model = tiny_classifier(seed=3)
    batch = encoder.tokenizer(texts, padding=True, truncation=True, max_length=64, return_tensors="tf")
    logits = model(dict(batch), training=False).logits.numpy()
    return model, texts, labels, logits


def reference_losses(labels, logits) -> np.ndarray:
    from helpers.backend import keras

    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")
    return loss(labels, logits).numpy()


def test_top_losses_sorted_and_equal_to_keras_losses(case, encoder):
    from helpers.evaluate import top_losses

    model, texts, labels, logits = case
    table = top_losses(model, encoder, texts, labels, CLASS_NAMES, n=len(texts), misclassified_only=False)
    expected = reference_losses(labels, logits)
    assert len(table) == len(texts) and table.index.name == "index"
    assert table["loss"].is_monotonic_decreasing
    np.testing.assert_allclose(table["loss"], expected[table.index], rtol=1e-4, atol=1e-6)
    assert np.isclose(table["loss"].iloc[0], expected.max(), rtol=1e-4)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    rows = table.index.to_numpy()
    np.testing.assert_allclose(table["p_true"], probs[rows, labels[rows]], atol=1e-5)
    np.testing.assert_allclose(table["p_predicted"], probs[rows].max(axis=1), atol=1e-5)
    assert list(table["true"]) == [CLASS_NAMES[labels[i]] for i in rows]
    assert list(table["predicted"]) == [CLASS_NAMES[probs[i].argmax()] for i in rows]
    assert list(table["full_text"]) == [texts[i] for i in rows]


def test_misclassified_only_and_n(case, encoder):
    from helpers.evaluate import top_losses

    model, texts, labels, logits = case
    wrong = np.flatnonzero(logits.argmax(axis=1) != labels)
    assert 0 < len(wrong) < len(texts)  # the test needs both kinds
    table = top_losses(model, encoder, texts, labels, CLASS_NAMES, n=len(texts))
    assert sorted(table.index) == sorted(wrong)
    assert (table["true"] != table["predicted"]).all()
    assert len(top_losses(model, encoder, texts, labels, CLASS_NAMES, n=3)) == min(3, len(wrong))


def test_text_column_is_one_line_and_cut(case, encoder):
    from helpers.evaluate import top_losses

    model, texts, labels, _ = case
    table = top_losses(model, encoder, texts, labels, CLASS_NAMES, n=len(texts),
                       misclassified_only=False, text_width=20)
    assert all(len(t) <= 20 and "\n" not in t for t in table["text"])
    assert any(t.endswith("…") for t in table["text"])


def test_precomputed_probabilities_give_the_same_table(case, encoder):
    from helpers.evaluate import class_probabilities, most_confused, top_losses

    model, texts, labels, _ = case
    probs = class_probabilities(model, encoder, texts)
    pd.testing.assert_frame_equal(top_losses(model, encoder, texts, labels, CLASS_NAMES),
                                  top_losses(None, None, texts, labels, CLASS_NAMES, probs=probs))
    pd.testing.assert_frame_equal(most_confused(model, encoder, texts, labels, CLASS_NAMES),
                                  most_confused(None, None, texts, labels, CLASS_NAMES, probs=probs))
    with pytest.raises(ValueError, match="one row per text"):
        top_losses(None, None, texts, labels, CLASS_NAMES, probs=probs[:5])


def test_most_confused_matches_a_confusion_matrix(case, encoder):
    from helpers.evaluate import most_confused

    model, texts, labels, logits = case
    table = most_confused(model, encoder, texts, labels, CLASS_NAMES)
    matrix = confusion_matrix(labels, logits.argmax(axis=1), labels=range(4))
    expected = {(CLASS_NAMES[t], CLASS_NAMES[p]): matrix[t, p]
                for t in range(4) for p in range(4) if t != p and matrix[t, p]}
    assert dict(zip(zip(table["true"], table["predicted"]), table["count"])) == expected
    assert table["count"].is_monotonic_decreasing
    assert table["count"].sum() == matrix.sum() - np.trace(matrix)


def test_most_confused_on_hand_made_probabilities():
    from helpers.evaluate import most_confused

    labels = np.array([0, 0, 0, 1, 1, 2])
    predicted = np.array([1, 1, 0, 0, 1, 1])
    probs = np.eye(3)[predicted] * 0.8 + 0.2 / 3
    table = most_confused(None, None, ["t"] * 6, labels, ["a", "b", "c"], probs=probs)
    assert table.values.tolist() == [["a", "b", 2], ["b", "a", 1], ["c", "b", 1]]
    frequent = most_confused(None, None, ["t"] * 6, labels, ["a", "b", "c"], probs=probs, min_count=2)
    assert frequent.values.tolist() == [["a", "b", 2]]


def test_bad_labels_are_explained(case, encoder):
    from helpers.evaluate import top_losses

    model, texts, labels, _ = case
    with pytest.raises(ValueError, match="one label per text"):
        top_losses(model, encoder, texts, labels[:-1], CLASS_NAMES)
    with pytest.raises(ValueError, match="class indices"):
        top_losses(model, encoder, texts, labels + 4, CLASS_NAMES)
