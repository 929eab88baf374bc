"""validate: accuracy, per-class report, confusion matrix."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.evaluate import ValidationResult, validate
from helpers.predictor import predict_logits

from conftest import CLASS_NAMES


@pytest.fixture
def result_and_logits(tiny_classifier, encoder, toy_texts):
    texts, labels = toy_texts
    model = tiny_classifier(seed=3)
    model.fit(encoder.dataset(texts, labels, batch_size=16, shuffle=True), epochs=2, verbose=0)
    return validate(model, encoder, texts, labels, CLASS_NAMES, batch_size=16), predict_logits(model, encoder, texts)


def test_validate_matches_a_manual_computation(result_and_logits, toy_texts):
    result, logits = result_and_logits
    _, labels = toy_texts
    assert isinstance(result, ValidationResult)
    manual = logits.argmax(axis=1)
    assert np.array_equal(result.predictions, manual)
    assert result.accuracy == pytest.approx((manual == labels).mean())
    assert np.allclose(result.probabilities.sum(axis=1), 1.0)
    assert np.array_equal(result.probabilities.argmax(axis=1), manual)


def test_confusion_rows_are_true_classes(result_and_logits, toy_texts):
    result, _ = result_and_logits
    _, labels = toy_texts
    cm = result.confusion
    assert cm.shape == (4, 4) and cm.sum() == len(labels)
    assert np.array_equal(cm.sum(axis=1), np.bincount(labels, minlength=4))  # rows: true
    assert np.array_equal(cm.sum(axis=0), np.bincount(result.predictions, minlength=4))  # columns: predicted
    assert np.trace(cm) == round(result.accuracy * len(labels))


def test_report_has_class_names(result_and_logits, toy_texts):
    result, _ = result_and_logits
    report = result.report
    assert list(report.index[:4]) == CLASS_NAMES
    assert {"precision", "recall", "f1-score", "support"} <= set(report.columns)
    assert report.loc[CLASS_NAMES, "support"].sum() == len(toy_texts[0])
    recall = np.diag(result.confusion) / result.confusion.sum(axis=1)
    assert np.allclose(report.loc[CLASS_NAMES, "recall"], recall)


def test_plot_confusion(result_and_logits):
    import matplotlib

    matplotlib.use("Agg")
    result, _ = result_and_logits
    ax = result.plot_confusion()
    assert [t.get_text() for t in ax.get_yticklabels()] == CLASS_NAMES
    assert len(ax.texts) == 16 and ax.get_xlabel() == "predicted class"
    ax = result.plot_confusion(normalize=True)
    shown = ax.get_images()[0].get_array()
    assert np.allclose(np.asarray(shown).sum(axis=1), 1.0)


def test_validate_explains_mistakes(tiny_classifier, encoder, toy_texts):
    texts, labels = toy_texts
    model = tiny_classifier()
    with pytest.raises(ValueError, match="one label per text"):
        validate(model, encoder, texts, labels[:-1], CLASS_NAMES)
    with pytest.raises(ValueError, match="outputs"):
        validate(model, encoder, texts, labels % 3, CLASS_NAMES[:3])
    with pytest.raises(ValueError, match="0..3"):
        validate(model, encoder, texts, labels + 1, CLASS_NAMES)
