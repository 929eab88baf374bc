"""LIME and gradient explanations on a tiny random model: right class, right words, fast paths."""

from __future__ import annotations

import re

import numpy as np
import pytest

from conftest import CLASS_NAMES

SHORT = "The doctor saw the <b>patient</b> & the doctor left."
HEAD = " ".join(["doctor patient disease treatment medicine"] * 13)  # 65 words, > 64 tokens
LONG = HEAD + " zebra giraffe walrus"  # the animals come after the cut


@pytest.fixture(scope="module")
def predictor(encoder):
    from helpers.model import build_from_config
    from helpers.predictor import get_predictor

    from conftest import tiny_config

    model = build_from_config(tiny_config(initializer_range=0.5), seed=0)  # not all near 1/4
    return get_predictor(model, encoder, CLASS_NAMES)


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def test_explain_the_predicted_class_by_default(predictor):
    from helpers.explain import explain

    exp = explain(predictor, SHORT, num_samples=100, num_features=20)
    assert exp.class_name == exp.predicted == predictor.predict(SHORT)
    np.testing.assert_allclose(exp.probabilities, predictor.predict_proba(SHORT), atol=1e-6)
    assert {w for w, _ in exp.weights} == set(words(SHORT))
    assert [abs(w) for _, w in exp.weights] == sorted((abs(w) for _, w in exp.weights), reverse=True)
    assert any("sampling noise" in note and "seed=" in note for note in exp.notes)
    assert {type(w) for w in exp.top_words()} == {str}  # printed as words, not np.str_('...')


def test_explain_another_class(predictor):
    from helpers.explain import explain

    predicted = predictor.predict(SHORT)
    other = next(name for name in CLASS_NAMES if name != predicted)
    exp = explain(predictor, SHORT, class_name=other, num_samples=100)
    assert exp.class_name == other and exp.predicted == predicted
    assert exp.weights != explain(predictor, SHORT, num_samples=100).weights
    with pytest.raises(ValueError, match="Unknown class"):
        explain(predictor, SHORT, class_name="sports")


def test_words_past_maxlen_are_not_perturbed(predictor, monkeypatch):
    from helpers.explain import explain, visible_chars

    cut = visible_chars(predictor.encoder, LONG)
    assert cut < len(LONG) and "zebra" not in LONG[:cut]
    np.testing.assert_allclose(predictor.predict_proba(LONG[:cut]), predictor.predict_proba(LONG), atol=1e-6)
    seen: list[str] = []
    real = type(predictor).predict_proba

    def recording(texts, **kwargs):
        if not isinstance(texts, str):  # LIME's batches; the full text itself is predicted too
            seen.extend(text for text in texts if text != LONG)
        return real(predictor, texts, **kwargs)

    monkeypatch.setattr(predictor, "predict_proba", recording)
    exp = explain(predictor, LONG, num_samples=50, num_features=100)
    assert seen and not any("zebra" in text for text in seen)
    assert not {"zebra", "giraffe", "walrus"} & {w for w, _ in exp.weights}
    assert exp.visible_chars == cut
    assert any(f"last {len(words(LONG[cut:]))} words" in note for note in exp.notes)


def test_duplicate_perturbations_are_predicted_once(predictor, monkeypatch):
    import helpers.predictor  # the predictor's probabilities come from here
    from helpers.explain import explain

    counted: list[int] = []
    real = helpers.predictor.predict_logits

    def counting(model, encoder, texts, **kwargs):
        counted.append(len(texts))
        return real(model, encoder, texts, **kwargs)

    monkeypatch.setattr(helpers.predictor, "predict_logits", counting)
    exp = explain(predictor, "doctor patient disease", num_samples=200)
    lime_texts = sum(counted) - 1  # the first call predicts the text itself
    assert lime_texts == exp.stats["unique_texts"] <= 2**3 < 200


def test_unique_text_classifier_keeps_rows_in_order(predictor):
    from helpers.explain import UniqueTextClassifier

    classify = UniqueTextClassifier(predictor)
    texts = ["doctor saw", "doctor saw", "patient", "doctor saw"]
    np.testing.assert_allclose(classify(texts), predictor.predict_proba(texts), atol=1e-6)
    assert (classify.seen, classify.predicted) == (4, 2)


def test_html_shows_the_words_escaped(predictor):
    from helpers.explain import explain

    page = explain(predictor, SHORT, num_samples=100)._repr_html_()
    assert "&lt;" in page and "&gt;" in page  # the text's own <b> is shown, not obeyed
    assert "<b>patient" not in page and "patient</b>" not in page
    assert "&amp;" in page and all(name in page for name in CLASS_NAMES)
    assert all(f">{word}</span>" in page for word in ("doctor", "patient", "left"))
    assert "rgba(0,160,0" in page or "rgba(220,0,0" in page


@pytest.mark.parametrize("method", ["integrated_gradients", "gradient_x_input"])
def test_gradients_give_one_weight_per_word(predictor, method):
    from helpers.explain import explain_gradients

    for text in (SHORT, LONG):
        exp = explain_gradients(predictor, text, method=method)
        visible_words = words(text[: exp.visible_chars])
        assert sorted(w for w, _ in exp.weights) == sorted(visible_words)
        assert [text[start:end] for start, end, _ in exp.spans] == visible_words
        assert all(np.isfinite(w) for _, w in exp.weights) and any(w != 0 for _, w in exp.weights)
    assert "zebra" not in [w for w, _ in exp.weights]
    assert "doctor</span>" in exp._repr_html_()


def test_integrated_gradients_add_up_to_the_probability_change(predictor):
    from helpers.explain import explain_gradients

    other = CLASS_NAMES[1]
    exp = explain_gradients(predictor, SHORT, class_name=other, steps=64)
    assert exp.class_name == other
    change, total = exp.stats["probability_change"], exp.stats["attribution_sum"]
    assert abs(change) > 0.01 and abs(total - change) <= 0.01 * abs(change)
    with pytest.raises(ValueError, match="method must be"):
        explain_gradients(predictor, SHORT, method="saliency")
