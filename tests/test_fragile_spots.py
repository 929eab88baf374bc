"""Spots that broke (or could break) silently: each test here failed before its fix.

- momentum is put back after *any* exception during training, not only Ctrl-C;
- Ctrl-C before the scheduler's ``on_train_begin`` raises KeyboardInterrupt, not AttributeError;
- the full run's default predictor folder follows ``$NOTEBOOK_ARTIFACTS`` like the notebooks';
- ``ensure_predictor`` does not hand a predictor trained with other settings to notebooks 05-07;
- the training batches are the same whether or not the LR finder ran first (notebook 04
  reuses notebook 03's curve, ``full_run`` always runs the finder).
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from helpers.backend import keras


class _Boom(keras.callbacks.Callback):
    """Raise ``error`` at the end of the second training batch."""

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error

    def on_train_batch_end(self, batch, logs=None):
        if batch == 1:
            raise self.error


@pytest.fixture
def toy_batches(encoder, toy_texts):
    texts, labels = toy_texts
    return encoder.dataset(texts, labels, batch_size=16, shuffle=True, seed=0)


@pytest.mark.parametrize("error", [RuntimeError("not a Ctrl-C"), KeyboardInterrupt()],
                         ids=["any-exception", "ctrl-c"])
def test_momentum_is_put_back_whatever_stops_training(tiny_classifier, toy_batches, error):
    from helpers.train import fit_onecycle

    model = tiny_classifier()
    with pytest.raises(type(error)):
        fit_onecycle(model, toy_batches, lr_max=1e-3, epochs=1, callbacks=[_Boom(error)], verbose=0)
    beta_1 = model.optimizer.beta_1
    assert isinstance(beta_1, float), f"beta_1 left as {type(beta_1).__name__}"
    assert model.train_function is None  # the next fit compiles a step that reads the float again


def test_ctrl_c_before_the_scheduler_started_is_a_plain_keyboard_interrupt(tiny_classifier, toy_batches,
                                                                           monkeypatch):
    from helpers.train import fit_onecycle

    model = tiny_classifier()

    def interrupted_fit(*args, **kwargs):  # Ctrl-C while Keras sets up, before on_train_begin
        raise KeyboardInterrupt

    monkeypatch.setattr(model, "fit", interrupted_fit)
    with pytest.raises(KeyboardInterrupt):
        fit_onecycle(model, toy_batches, lr_max=1e-3, epochs=1, verbose=0)
    assert isinstance(model.optimizer.beta_1, float)


def test_full_runs_predictor_folder_follows_the_artifacts_variable(tmp_path, monkeypatch):
    from pathlib import Path

    from helpers import full_run
    from helpers.artifacts import predictor_dir
    from helpers.run import get_mode
    from helpers.paths import project_dir

    monkeypatch.delenv("NOTEBOOK_MODE", raising=False)
    monkeypatch.setenv("NOTEBOOK_ARTIFACTS", str(tmp_path / "elsewhere"))
    wanted = tmp_path / "elsewhere" / "predictor"
    assert Path(full_run.PREDICTOR_DIR) == wanted == predictor_dir(get_mode("full"))
    assert project_dir() / full_run.PREDICTOR_DIR == wanted  # as the bench scripts use it
    passed = {}
    monkeypatch.setattr(full_run, "full_run", lambda settings, **kwargs: passed.update(kwargs))
    full_run.main(["--evaluate-on", "val"])  # the command line's default
    assert project_dir() / passed["predictor_dir"] == wanted


def _save_tiny_predictor(folder, tiny_classifier, encoder, **save_kwargs):
    from helpers.predictor import get_predictor

    model = tiny_classifier()
    model(next(iter(encoder.dataset(["a text"], batch_size=1))))  # build the weights
    get_predictor(model, encoder, ["alt.atheism", "comp.graphics", "sci.med",
                                   "soc.religion.christian"]).save(folder, **save_kwargs)


def test_ensure_predictor_retrains_a_predictor_made_with_other_settings(tmp_path, monkeypatch, capsys,
                                                                        tiny_classifier, encoder):
    from helpers import artifacts
    from helpers.run import MODES
    from helpers.tokenizer import TextEncoder

    monkeypatch.setenv("NOTEBOOK_ARTIFACTS", str(tmp_path))
    mode = MODES["smoke"]
    folder = artifacts.predictor_dir(mode)
    assert encoder.maxlen != mode.settings.maxlen
    _save_tiny_predictor(folder, tiny_classifier, encoder)  # stale: reads another maxlen
    calls = []

    def fake_full_run(settings, *, predictor_dir, **kwargs):  # stands in for 04's training
        from helpers.full_run import trained_with

        calls.append(settings)
        _save_tiny_predictor(predictor_dir, tiny_classifier, TextEncoder(encoder.tokenizer, settings.maxlen),
                             trained_with=trained_with(settings, mode.train_size))

    monkeypatch.setattr("helpers.full_run.full_run", fake_full_run)
    artifacts.ensure_predictor(mode)
    said = capsys.readouterr().out
    assert calls == [mode.settings], said
    assert "other settings" in said and "maxlen" in said
    manifest = json.loads((folder / "predictor.json").read_text())
    assert manifest["trained_with"]["settings"]["maxlen"] == mode.settings.maxlen
    # now it matches: loaded, not trained again
    artifacts.ensure_predictor(mode)
    assert len(calls) == 1 and "Loaded the predictor" in capsys.readouterr().out
    # trained with other settings (same maxlen): trained again, and the message names the setting
    _save_tiny_predictor(folder, tiny_classifier, TextEncoder(encoder.tokenizer, mode.settings.maxlen),
                         trained_with=trained_with_epochs(mode, 5))
    artifacts.ensure_predictor(mode)
    said = capsys.readouterr().out
    assert len(calls) == 2 and "epochs" in said, said


def trained_with_epochs(mode, epochs):
    from helpers.full_run import trained_with

    return trained_with(dataclasses.replace(mode.settings, epochs=epochs), mode.train_size)


def test_training_batches_are_the_same_whether_or_not_the_lr_finder_ran(encoder, toy_texts,
                                                                         tiny_classifier):
    from helpers.data import LabeledTexts
    from helpers.lr_finder import find_lr
    from helpers.run import RunSettings
    from helpers.train import training_batches

    texts, labels = toy_texts
    data = LabeledTexts(texts, labels, ["a", "b", "c", "d"])
    settings = RunSettings(batch_size=8, maxlen=64, lr_find_maxlen=32, lr_find_steps=6, seed=3)

    def two_epochs(batches):
        return [(x["input_ids"].numpy().tolist(), y.numpy().tolist()) for _ in range(2) for x, y in batches]

    without_finder = two_epochs(training_batches(encoder, data, settings))  # notebook 04, 03's curve reused
    batches = training_batches(encoder, data, settings)  # full_run: batches made, then the finder runs
    find_lr(tiny_classifier(), encoder, data, settings, progress=False)
    with_finder = two_epochs(batches)
    assert with_finder == without_finder
    assert without_finder[: len(without_finder) // 2] != without_finder[len(without_finder) // 2:]  # reshuffled
