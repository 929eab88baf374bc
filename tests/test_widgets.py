"""Interactive views: they react to their controls, and degrade to a static picture."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.widgets import STATIC_NOTE, lr_picker, model_picker, text_box, top_loss_browser

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")


class FakePredictor:
    """Enough of a Predictor for the widgets: probabilities from word counts."""

    class_names = ["graphics", "medicine"]

    def predict_proba(self, texts):
        def one(text):
            med = text.lower().count("doctor") + 0.5
            gfx = text.lower().count("pixel") + 0.5
            return np.array([gfx, med]) / (gfx + med)

        return one(texts) if isinstance(texts, str) else np.array([one(t) for t in texts])


def test_static_fallback_is_html_with_the_first_state():
    finder = _finder()
    picker = lr_picker(finder)
    bundle = picker._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # live Jupyter: the widget
    assert bundle["text/plain"] == STATIC_NOTE
    assert "<img src=\"data:image/png;base64," in bundle["text/html"]  # elsewhere: the picture
    assert f"{finder.suggestion:.2e}" in bundle["text/html"]


def test_lr_picker_follows_the_slider():
    finder = _finder()
    picker = lr_picker(finder)
    assert picker.value == pytest.approx(finder.suggestion)
    slider = picker.widget.children[0].children[0]
    slider.value = 1e-3
    assert picker.value == pytest.approx(1e-3)
    assert "1.00e-03" in picker.output.value


def test_model_picker_shows_the_chosen_row_and_its_cost():
    registry = pd.DataFrame({"name": ["small", "big"], "family": ["A", "B"], "parameters": [10, 1000]})
    costs = pd.DataFrame({"model": ["small", "big"], "maxlen": [256, 256], "train_s_per_example": [0.1, 1.2],
                          "infer_s_per_example": [0.02, 0.3], "timing": ["measured", "estimate"]})
    picker = model_picker(registry, costs, n_train=600)
    assert picker.value == "small" and "<h4>small</h4>" in picker.output.value
    assert ">1.0<" in picker.output.value  # 0.1 s x 600 / 60 = 1.0 minute per epoch
    picker.widget.children[0].children[0].value = "big"
    assert "<h4>big</h4>" in picker.output.value and ">12.0<" in picker.output.value


def test_top_loss_browser_steps_and_explains(monkeypatch):
    table = pd.DataFrame({"loss": [2.0, 1.0], "true": ["graphics", "medicine"], "predicted": ["medicine"] * 2,
                          "p_predicted": [0.9, 0.6], "p_true": [0.1, 0.4], "text": ["a", "b"],
                          "full_text": ["pixel doctor doctor", "doctor pixel <b>"]}, index=[7, 3])
    probs = np.zeros((10, 2))
    probs[7], probs[3] = [0.1, 0.9], [0.4, 0.6]
    browser = top_loss_browser(table, FakePredictor(), class_names=FakePredictor.class_names, probs=probs)
    assert "1 of 2" in browser.output.value and "text #7" in browser.output.value
    back, slider, forward, explain_button = browser.widget.children[0].children
    forward.click()
    assert "2 of 2" in browser.output.value and "&lt;b&gt;" in browser.output.value  # escaped
    forward.click()
    assert slider.value == 1  # stays on the last
    calls = []
    monkeypatch.setattr("helpers.explain.explain",
                        lambda predictor, text, num_samples: calls.append(text) or _Html("<p>EXPLAINED</p>"))
    explain_button.click()
    assert calls == ["doctor pixel <b>"] and "EXPLAINED" in browser.output.value
    with pytest.raises(ValueError, match="no mistakes"):
        top_loss_browser(table.iloc[:0])


def test_text_box_classifies_on_click_and_live():
    box = text_box(FakePredictor(), "the doctor saw me")
    assert box.value == "medicine" and "Predicted: <b>medicine</b>" in box.output.value
    area, (classify, live, _) = box.widget.children[0].children[0], box.widget.children[0].children[1].children
    area.value = "pixel pixel pixel"
    assert "Press classify" in box.output.value  # not live: waits for the button
    classify.click()
    assert box.value == "graphics"
    assert "Message: <i>pixel pixel pixel</i>" in box.output.value  # the static picture shows the text too
    live.value = True
    area.value = "doctor doctor doctor"
    assert box.value == "medicine"
    area.value = "   "
    assert "box is empty" in box.output.value and box.value is None


class _Html:
    def __init__(self, html):
        self.html = html

    def _repr_html_(self):
        return self.html


def _finder():
    from helpers.lr_finder import LRFinderResult, smooth

    lrs = np.logspace(-7, 1, 60)
    losses = 1.5 - np.exp(-((np.log10(lrs) + 3) ** 2)) + np.where(lrs > 1e-2, 5 * lrs, 0)
    return LRFinderResult(lrs, losses, smooth(losses))
