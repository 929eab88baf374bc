"""Choices made in one notebook's widget reach the notebooks after it, saying where they came from."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from helpers.artifacts import (
    chosen_lr,
    chosen_model,
    chosen_settings,
    forget_choices,
    load_choice,
    save_choice,
)
from helpers.run import get_mode, with_settings


@pytest.fixture
def mode(tmp_path, monkeypatch):
    monkeypatch.setenv("NOTEBOOK_ARTIFACTS", str(tmp_path))
    monkeypatch.delenv("NOTEBOOK_MODE", raising=False)
    return with_settings(get_mode("smoke"), lr_max=None)  # the finder decides unless the reader does


def finder(suggestion=3e-4):
    """Enough of an LR finder result for the hand-off and the LR picker."""
    lrs, smoothed = np.logspace(-7, 0, 40), np.linspace(1.4, 0.5, 40)

    def plot(ax=None, **_):
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots()[1]
        ax.semilogx(lrs, smoothed)
        return ax

    return SimpleNamespace(lrs=lrs, smoothed=smoothed, suggestion=suggestion, suggestion_name="valley",
                           suggestions={"valley": suggestion}, plot=plot)


def test_without_a_choice_the_defaults_and_the_finder_decide(mode):
    assert mode.settings.lr_max is None
    assert chosen_model(mode).value == mode.settings.model and "default" in chosen_model(mode).source
    lr = chosen_lr(mode, finder(3e-4), mode.settings)
    assert lr.value == pytest.approx(3e-4) and lr.source == "the LR finder's 'valley' suggestion"


def test_a_mode_that_fixes_the_rate_says_so(mode):
    fixed = with_settings(mode, lr_max=2e-4)
    lr = chosen_lr(fixed, finder(3e-4), fixed.settings)
    assert lr.value == pytest.approx(2e-4) and "mode's setting" in lr.source


def test_the_readers_choices_win_and_are_named(mode):
    save_choice(mode, "model", "distilbert", made_in="02_model_selection.ipynb")
    assert chosen_model(mode).value == "distilbert"
    assert chosen_model(mode).source == "your choice in 02_model_selection.ipynb"
    assert chosen_settings(mode) == dataclasses.replace(mode.settings, model="distilbert")
    save_choice(mode, "lr_max", 1.5e-4, made_in="03_lr_finder.ipynb", model="distilbert")
    lr = chosen_lr(mode, finder(3e-4), chosen_settings(mode))
    assert lr.value == pytest.approx(1.5e-4) and lr.source == "your choice in 03_lr_finder.ipynb"
    forget_choices(mode)
    assert load_choice(mode, "model") is None and chosen_model(mode).value == mode.settings.model


def test_a_rate_chosen_for_another_model_is_not_used(mode, capsys):
    save_choice(mode, "lr_max", 1.5e-4, made_in="03_lr_finder.ipynb", model="minilm-l6")
    lr = chosen_lr(mode, finder(3e-4), dataclasses.replace(mode.settings, model="distilbert"))
    assert lr.value == pytest.approx(3e-4)
    assert "chosen for 'minilm-l6', not 'distilbert'" in capsys.readouterr().out


def test_choices_are_kept_per_mode(mode, tmp_path):
    save_choice(mode, "model", "bert-base", made_in="02_model_selection.ipynb")
    assert load_choice(get_mode("quick"), "model") is None
    assert (tmp_path / "smoke" / "choices.json").is_file()


def test_an_unreadable_file_falls_back_to_the_defaults(mode, tmp_path, capsys):
    (tmp_path / "smoke").mkdir(exist_ok=True)
    (tmp_path / "smoke" / "choices.json").write_text("{not json")
    assert chosen_model(mode).value == mode.settings.model
    assert "unreadable" in capsys.readouterr().out


def test_moving_the_widgets_saves_the_choice(mode):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from helpers.widgets import lr_picker, model_picker

    seen = []
    picker = lr_picker(finder(3e-4), on_change=seen.append)
    assert seen == []  # showing it chooses nothing
    picker.widget.children[0].children[0].value = 1e-3
    assert seen == [pytest.approx(1e-3)]

    registry = pd.DataFrame({"name": ["small", "big"], "family": ["A", "B"]})
    models = model_picker(registry, on_change=lambda name: save_choice(mode, "model", name, made_in="02"))
    models.widget.children[0].children[0].value = "big"
    assert chosen_model(mode).value == "big"


@pytest.mark.parametrize("name", ["full", "quick"])
def test_a_model_with_its_own_recipe_brings_it_and_the_mode_keeps_its_sizes(name, tmp_path, monkeypatch):
    from helpers.run import MODEL_RECIPES

    monkeypatch.setenv("NOTEBOOK_ARTIFACTS", str(tmp_path))
    monkeypatch.delenv("NOTEBOOK_MODE", raising=False)
    mode = get_mode(name)
    save_choice(mode, "model", "mpnet-base", made_in="02_model_selection.ipynb")
    settings, recipe = chosen_settings(mode), MODEL_RECIPES["mpnet-base"]
    assert (settings.pooling, settings.lr_max) == (recipe["pooling"], recipe["lr_max"])
    assert settings.epochs == (recipe["epochs"] if name == "full" else mode.settings.epochs)
    assert settings.maxlen == mode.settings.maxlen
