"""Faults: interrupted or killed training resumes, kills during saves lose nothing,
half-written cache files are detected and rebuilt, out-of-memory gets a useful message."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

from conftest import CLASS_NAMES, tiny_config
from helpers.backend import keras, tf

ROOT = Path(__file__).resolve().parents[1]
EPOCHS, LR_MAX = 3, 1e-2
RESUME_TOLERANCE = 1e-5  # same process or not: only float rounding may differ


def make_model():
    """A tiny classifier without dropout, so two runs from the same seed can be compared."""
    from helpers.model import build_from_config, compile_classifier

    config = tiny_config(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    return compile_classifier(build_from_config(config, seed=0), learning_rate=1e-3)


@pytest.fixture
def data(encoder, toy_texts):
    texts, labels = toy_texts
    return encoder.dataset(texts, labels, batch_size=16), encoder.dataset(texts, labels, batch_size=40)


@pytest.fixture(scope="module")
def reference(encoder, toy_texts):
    """An uninterrupted run: per-batch losses, per-epoch metrics and final weights."""
    from helpers.train import fit_onecycle

    texts, labels = toy_texts
    train, val = encoder.dataset(texts, labels, batch_size=16), encoder.dataset(texts, labels, batch_size=40)
    model = make_model()
    history = fit_onecycle(model, train, val, lr_max=LR_MAX, epochs=EPOCHS, verbose=0)
    return history, model.get_weights()


class InterruptAt(keras.callbacks.Callback):
    """Raise KeyboardInterrupt (as Ctrl-C would) at a given epoch and batch."""

    def __init__(self, epoch: int, batch: int) -> None:
        super().__init__()
        self.at, self.epoch = (epoch, batch), -1

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise KeyboardInterrupt


def assert_same_run(history, weights, reference):
    ref_history, ref_weights = reference
    np.testing.assert_allclose(history.losses, ref_history.losses, atol=RESUME_TOLERANCE)
    np.testing.assert_allclose(history.lrs, ref_history.lrs, rtol=1e-12)
    assert history.epochs.keys() == ref_history.epochs.keys()
    for name, values in ref_history.epochs.items():
        np.testing.assert_allclose(history.epochs[name], values, atol=RESUME_TOLERANCE)
    for ours, theirs in zip(weights, ref_weights):
        np.testing.assert_allclose(ours, theirs, atol=RESUME_TOLERANCE)


# ------------------------------------------------------------------------------ training


def test_ctrl_c_mid_epoch_then_resume_matches_an_uninterrupted_run(data, reference, tmp_path, capsys):
    from helpers.checkpoint import latest_checkpoint
    from helpers.train import fit_onecycle

    train, val = data
    with pytest.raises(KeyboardInterrupt):
        fit_onecycle(make_model(), train, val, lr_max=LR_MAX, epochs=EPOCHS, verbose=0,
                     checkpoint_dir=tmp_path, callbacks=[InterruptAt(epoch=1, batch=2)])
    assert "resume=True" in capsys.readouterr().out
    assert latest_checkpoint(tmp_path).epochs_done == 1  # epoch 2 was cut short
    model = make_model()  # a fresh model, as in a new process
    history = fit_onecycle(model, train, val, lr_max=LR_MAX, epochs=EPOCHS, verbose=0,
                           checkpoint_dir=tmp_path, resume=True)
    assert "Resuming from" in capsys.readouterr().out
    assert latest_checkpoint(tmp_path).epochs_done == EPOCHS
    assert_same_run(history, model.get_weights(), reference)


def test_resume_on_the_same_model_object_after_ctrl_c(data, reference, tmp_path):
    from helpers.train import fit_onecycle

    train, val = data
    model = make_model()
    with pytest.raises(KeyboardInterrupt):
        fit_onecycle(model, train, val, lr_max=LR_MAX, epochs=EPOCHS, verbose=0,
                     checkpoint_dir=tmp_path, callbacks=[InterruptAt(epoch=2, batch=0)])
    assert isinstance(model.optimizer.beta_1, float)  # the scheduler put momentum back
    history = fit_onecycle(model, train, val, lr_max=LR_MAX, epochs=EPOCHS, verbose=0,
                           checkpoint_dir=tmp_path, resume=True)
    assert_same_run(history, model.get_weights(), reference)


KILL_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {tests!r})
    import numpy as np
    from conftest import make_toy_texts
    from test_faults import make_model, InterruptAt, EPOCHS, LR_MAX
    from helpers.tokenizer import TextEncoder
    from helpers.train import fit_onecycle
    import helpers.checkpoint as checkpoint

    texts, labels = make_toy_texts()
    encoder = TextEncoder.from_model("minilm-l6", maxlen=64)
    train = encoder.dataset(texts, labels, batch_size=16)
    val = encoder.dataset(texts, labels, batch_size=40)
    where = sys.argv[1]
    callbacks = []
    if where == "mid-epoch":
        class Kill(InterruptAt):
            def on_train_batch_begin(self, batch, logs=None):
                if (self.epoch, batch) == self.at:
                    os.kill(os.getpid(), signal.SIGKILL)
        callbacks = [Kill(epoch=1, batch=3)]
    else:  # killed while writing the second checkpoint, after its weights file
        savez, calls = np.savez, []
        def dying_savez(*args, **kwargs):
            calls.append(1)
            if len(calls) == 2:
                os.kill(os.getpid(), signal.SIGKILL)
            return savez(*args, **kwargs)
        checkpoint.np.savez = dying_savez
    fit_onecycle(make_model(), train, val, lr_max=LR_MAX, epochs=EPOCHS, verbose=0,
                 checkpoint_dir=sys.argv[2], callbacks=callbacks)
""")


@pytest.mark.parametrize("where", ["mid-epoch", "during-checkpoint-save"])
def test_killed_process_resumes_from_an_intact_checkpoint(data, reference, tmp_path, where):
    from helpers.checkpoint import latest_checkpoint
    from helpers.train import fit_onecycle

    script = tmp_path / "train.py"
    script.write_text(KILL_SCRIPT.format(tests=str(ROOT / "tests")))
    done = subprocess.run([sys.executable, str(script), where, str(tmp_path / "ckpt")],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    resume_dir = tmp_path / "ckpt" / "resume"
    partial = [p.name for p in resume_dir.iterdir() if p.name.startswith(".partial-")]
    assert bool(partial) == (where == "during-checkpoint-save")  # the half-written one
    assert latest_checkpoint(tmp_path / "ckpt").epochs_done == 1  # and the previous one, intact
    model = make_model()
    train, val = data
    history = fit_onecycle(model, train, val, lr_max=LR_MAX, epochs=EPOCHS, verbose=0,
                           checkpoint_dir=tmp_path / "ckpt", resume=True)
    assert [p.name for p in resume_dir.iterdir()] == [f"epoch-{EPOCHS:04d}"]  # leftovers gone
    assert_same_run(history, model.get_weights(), reference)


def test_resuming_a_run_that_stopped_early_does_not_train_on(encoder, toy_texts, tmp_path):
    from helpers.train import fit_onecycle

    texts, labels = toy_texts
    train = encoder.dataset(texts, labels, batch_size=16)
    wrong_val = encoder.dataset(texts, (labels + 1) % 4, batch_size=40)  # gets worse as it learns
    args = dict(lr_max=LR_MAX, epochs=6, verbose=0, checkpoint_dir=tmp_path, early_stopping_patience=1)
    first = fit_onecycle(make_model(), train, wrong_val, **args)
    assert first.stopped_early and len(first.epochs["loss"]) < 6
    again = fit_onecycle(make_model(), train, wrong_val, resume=True, **args)
    assert again.stopped_early and again.epochs == first.epochs
    np.testing.assert_array_equal(again.losses, first.losses)


def test_damaged_or_foreign_checkpoint_is_refused_clearly(data, tmp_path):
    from helpers.checkpoint import CheckpointError
    from helpers.train import fit_onecycle

    train, val = data
    fit_onecycle(make_model(), train, val, lr_max=LR_MAX, epochs=1, verbose=0, checkpoint_dir=tmp_path)
    with pytest.raises(CheckpointError, match=r"other settings \(epochs 1 -> 2"):
        fit_onecycle(make_model(), train, val, lr_max=LR_MAX, epochs=2, verbose=0,
                     checkpoint_dir=tmp_path, resume=True)
    weights = tmp_path / "resume" / "epoch-0001" / "weights.h5"
    weights.write_bytes(weights.read_bytes()[:1000])  # truncated behind our back
    with pytest.raises(CheckpointError, match="damaged or missing.*resume=False"):
        fit_onecycle(make_model(), train, val, lr_max=LR_MAX, epochs=1, verbose=0,
                     checkpoint_dir=tmp_path, resume=True)


def test_resume_without_a_checkpoint_starts_from_the_beginning(data, tmp_path, capsys):
    from helpers.train import fit_onecycle

    train, _ = data
    history = fit_onecycle(make_model(), train, lr_max=LR_MAX, epochs=1, verbose=0,
                           checkpoint_dir=tmp_path, resume=True)
    assert "No resume checkpoint" in capsys.readouterr().out and len(history.losses) == 5
    assert (tmp_path / "resume" / "epoch-0001" / "state.json").is_file()


# ------------------------------------------------------------------------------ predictor


@pytest.fixture
def two_predictors(encoder, tiny_classifier, tmp_path):
    from helpers.predictor import get_predictor

    old = get_predictor(tiny_classifier(seed=0), encoder, CLASS_NAMES)
    new = get_predictor(tiny_classifier(seed=1), encoder, CLASS_NAMES)
    return old, new, old.save(tmp_path / "predictor")


SAVE_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {tests!r})
    import helpers.predictor as predictor_module
    from conftest import CLASS_NAMES, tiny_config
    from helpers.model import build_from_config
    from helpers.predictor import get_predictor
    from helpers.tokenizer import TextEncoder

    model = build_from_config(tiny_config(), seed=1)
    new = get_predictor(model, TextEncoder.from_model("minilm-l6", maxlen=64), CLASS_NAMES)
    if sys.argv[1] == "writing-weights":
        original = type(model).save_pretrained
        def dying(self, folder, **kwargs):
            original(self, folder, **kwargs)   # the weights are half there ...
            os.kill(os.getpid(), signal.SIGKILL)
        type(model).save_pretrained = dying
    else:  # between moving the old folder aside and the new one in
        rename, calls = os.rename, []
        def dying_rename(a, b):
            calls.append(1)
            rename(a, b)
            if len(calls) == 1:
                os.kill(os.getpid(), signal.SIGKILL)
        predictor_module.os.rename = dying_rename
    new.save(sys.argv[2])
""")


@pytest.mark.parametrize("when", ["writing-weights", "swapping-folders"])
def test_kill_during_predictor_save_keeps_the_previous_predictor(two_predictors, tmp_path, when):
    from helpers.predictor import load_predictor

    old, _, folder = two_predictors
    script = tmp_path / "save.py"
    script.write_text(SAVE_SCRIPT.format(tests=str(ROOT / "tests")))
    done = subprocess.run([sys.executable, str(script), when, str(folder)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = load_predictor(folder)
    restored = [str(w.message) for w in caught if "Restored the previous" in str(w.message)]
    assert bool(restored) == (when == "swapping-folders")
    texts = ["the doctor saw the patient", "render the polygon"]
    np.testing.assert_allclose(loaded.predict_proba(texts), old.predict_proba(texts), atol=1e-6)


# ------------------------------------------------------------------------------ data cache


@pytest.mark.parametrize("damage", ["killed before the marker", "half-written marker",
                                    "post cut short", "post deleted", "half-written checksum memo"])
def test_half_written_cache_files_are_detected_and_rebuilt(tmp_path, capsys, damage):
    from test_data import tiny_newsgroups

    from helpers.data import load_newsgroups

    archive = tiny_newsgroups(tmp_path / "tiny.tar.gz")
    cache = tmp_path / "cache"
    first, _ = load_newsgroups(["sci.med", "alt.atheism"], archive=archive, cache_dir=cache)
    [target] = cache.glob("20news-*")
    marker, memo = target / ".complete", cache / "archive-sha256.json"
    post = target / "20news-bydate-train" / "sci.med" / "100"
    if damage == "killed before the marker":
        marker.unlink()
        post.write_text("half")
    elif damage == "half-written marker":
        marker.write_text(marker.read_text()[:10])
    elif damage == "post cut short":
        post.write_bytes(post.read_bytes()[:5])
    elif damage == "post deleted":
        post.unlink()
    else:
        memo.write_text(memo.read_text()[:20])
    capsys.readouterr()
    again, _ = load_newsgroups(["sci.med", "alt.atheism"], archive=archive, cache_dir=cache)
    out = capsys.readouterr().out
    assert ("Unpacking" in out) == (damage != "half-written checksum memo")  # the memo: rehashed
    assert again.texts == first.texts and json.loads(memo.read_text())
    assert json.loads(marker.read_text())["files"] == 12


def test_truncated_archive_gets_a_clear_error(tmp_path):
    from test_data import tiny_newsgroups

    from helpers.data import load_newsgroups

    archive = tiny_newsgroups(tmp_path / "tiny.tar.gz")
    archive.write_bytes(archive.read_bytes()[:300])  # a download that stopped early
    with pytest.raises(ValueError, match="damaged or incomplete.*download it again"):
        load_newsgroups(["sci.med"], archive=archive, cache_dir=tmp_path / "cache")
    assert not [p for p in (tmp_path / "cache").iterdir() if p.is_dir()]  # nothing half-unpacked


# ------------------------------------------------------------------------------ out of memory


def oom(*args, **kwargs):
    raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor with "
                                           "shape[16,12,256,256] on /job:localhost/device:GPU:0")


def test_out_of_memory_while_training_suggests_smaller_settings(data, monkeypatch):
    from helpers._memory import OutOfMemoryError
    from helpers.train import fit_onecycle

    model = make_model()
    monkeypatch.setattr(model, "fit", oom)
    with pytest.raises(OutOfMemoryError, match="while training.*smaller batch_size.*maxlen"):
        fit_onecycle(model, data[0], lr_max=LR_MAX, epochs=1, verbose=0)


def test_out_of_memory_while_predicting_and_in_the_lr_finder(data, encoder, monkeypatch):
    import helpers.predictor
    from helpers._memory import OutOfMemoryError
    from helpers.predictor import get_predictor
    from helpers.lr_finder import lr_find

    model = make_model()
    monkeypatch.setattr(model, "train_on_batch", oom)
    with pytest.raises(OutOfMemoryError, match="LR finder.*smaller batch_size"):
        lr_find(model, data[0], num_steps=5, progress=False)
    monkeypatch.setattr(helpers.predictor, "compiled_forward", lambda model: oom)
    predictor = get_predictor(model, encoder, CLASS_NAMES)
    with pytest.raises(OutOfMemoryError, match=r"predicting with batch_size=32, maxlen=64"):
        predictor.predict(["a text"])


def test_cli_reports_out_of_memory_in_one_line(two_predictors, monkeypatch, capsys):
    import helpers.predictor
    from helpers.__main__ import main

    _, _, folder = two_predictors
    monkeypatch.setattr(helpers.predictor, "compiled_forward", lambda model: oom)
    assert main(["predict", str(folder), "a text"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Out of memory") and len(err.strip().splitlines()) == 1


def test_cli_ctrl_c_exits_130_without_a_traceback(monkeypatch, capsys):
    import helpers.predictor
    from helpers.__main__ import main

    def interrupted(folder):
        raise KeyboardInterrupt

    monkeypatch.setattr(helpers.predictor, "load_predictor", interrupted)
    assert main(["predict", "somewhere", "a text"]) == 130
    assert capsys.readouterr().err == "error: interrupted\n"
