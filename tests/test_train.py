"""fit_onecycle: history, checkpoints, early stopping, and a real two-replica run."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from helpers.backend import keras, tf
from helpers.schedule import one_cycle
from helpers.train import TrainingHistory, check_strategy, count_batches, fit_onecycle

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def batches(encoder, toy_texts):
    """Training batches, and validation batches whose labels are all wrong (rotated by one class):
    the better the model learns, the worse its validation loss, so the best epoch is an early one."""
    texts, labels = toy_texts
    train = encoder.dataset(texts, labels, batch_size=16, shuffle=True, bucket=True)  # 8 (bucketing: some part-filled)
    bad_val = encoder.dataset(texts, (labels + 1) % 4, batch_size=40)
    return train, bad_val


class _WeightsPerEpoch(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append([w.copy() for w in self.model.get_weights()])


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_fit_onecycle_records_schedule_and_epoch_metrics(tiny_classifier, batches):
    import matplotlib

    matplotlib.use("Agg")
    model = tiny_classifier()
    train, val = batches
    history = fit_onecycle(model, train, val, lr_max=1e-2, epochs=2, verbose=0)
    assert isinstance(history, TrainingHistory)
    total = 2 * count_batches(train)
    expected = np.array([one_cycle(s, total, 1e-2) for s in range(total)])
    assert np.allclose(history.lrs, expected[:, 0]) and np.allclose(history.moms, expected[:, 1])
    assert len(history.losses) == total and np.all(np.isfinite(history.losses))
    assert history.losses[-1] < history.losses[0]  # it learns the toy task
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert len(history.epochs[key]) == 2, key
    assert history.best_epoch == int(np.argmin(history.epochs["val_loss"]))
    assert len(history.plot_schedule().axes) == 2
    assert len(history.plot_history().axes) == 2


def test_checkpoint_restores_the_best_weights(tiny_classifier, batches, tmp_path):
    model = tiny_classifier()
    train, val = batches
    probe = _WeightsPerEpoch()
    history = fit_onecycle(model, train, val, lr_max=1e-2, epochs=3, checkpoint_dir=tmp_path,
                           callbacks=[probe], verbose=0)
    best = history.best_epoch
    assert best < 2, history.epochs["val_loss"]  # the setup makes validation worse over time
    assert history.checkpoint == tmp_path / "best.weights.h5" and history.checkpoint.exists()
    assert _same(model.get_weights(), probe.weights[best])
    assert not _same(model.get_weights(), probe.weights[-1])


def test_early_stopping_stops_and_restores(tiny_classifier, batches):
    model = tiny_classifier()
    train, val = batches
    probe = _WeightsPerEpoch()
    history = fit_onecycle(model, train, val, lr_max=1e-2, epochs=8, early_stopping_patience=1,
                           callbacks=[probe], verbose=0)
    assert history.stopped_early and len(history.epochs["loss"]) < 8
    assert len(history.lrs) == count_batches(train) * len(history.epochs["loss"])  # cut short, not squeezed
    assert _same(model.get_weights(), probe.weights[history.best_epoch])


def test_clear_errors(tiny_classifier, batches):
    from helpers.model import build_from_config
    from conftest import tiny_config

    train, val = batches
    with pytest.raises(ValueError, match="val_data"):
        fit_onecycle(tiny_classifier(), train, lr_max=1e-3, epochs=1, early_stopping_patience=1)
    with pytest.raises(ValueError, match="checkpoint_dir"):
        fit_onecycle(tiny_classifier(), train, lr_max=1e-3, epochs=1, resume=True)
    with pytest.raises(ValueError, match="not compiled"):
        fit_onecycle(build_from_config(tiny_config()), train, lr_max=1e-3, epochs=1)
    with pytest.raises(ValueError, match="repeats forever"):
        fit_onecycle(tiny_classifier(), train.repeat(), lr_max=1e-3, epochs=1)
    with pytest.raises(ValueError, match="strategy.scope|build_in_scope"):
        check_strategy(tiny_classifier(), tf.distribute.OneDeviceStrategy("/cpu:0"))


def test_count_batches_also_when_tf_data_cannot_tell(encoder, toy_texts):
    texts, labels = toy_texts
    ds = encoder.dataset(texts, labels, batch_size=16, shuffle=True, bucket=True)
    unknown = ds.filter(lambda x, y: True)  # after a filter, tf.data no longer knows the length
    assert int(unknown.cardinality()) == int(tf.data.UNKNOWN_CARDINALITY)
    assert count_batches(ds) == count_batches(unknown) == sum(1 for _ in ds) == 8


_TWO_REPLICAS = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, {tests!r})
    import helpers
    from helpers.backend import tf, keras
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import numpy as np
    from conftest import tiny_config
    from helpers.model import build_from_config, compile_classifier
    from helpers.tokenizer import TextEncoder
    from helpers.train import build_in_scope, fit_onecycle

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"],
                                              cross_device_ops=tf.distribute.ReductionToOneDevice())
    model = build_in_scope(strategy, lambda: compile_classifier(build_from_config(tiny_config(), seed=0), 1e-3))
    words = [["god", "belief"], ["image", "pixel"], ["doctor", "patient"], ["church", "bible"]]
    texts = [" ".join(words[i % 4] * (1 + i % 3)) for i in range(64)]
    labels = np.arange(64) % 4
    data = TextEncoder.from_model("minilm-l6", maxlen=64).dataset(texts, labels, batch_size=16, shuffle=True)
    history = fit_onecycle(model, data, lr_max=5e-2, epochs=3, strategy=strategy, verbose=0)
    print(json.dumps({{
        "replicas": strategy.num_replicas_in_sync,
        "copies": len(model.trainable_variables[0].values),
        "devices": sorted(v.device.split(":")[-1] for v in model.trainable_variables[0].values),
        "losses": [float(x) for x in history.losses],
        "epoch_loss": history.epochs["loss"],
    }}))
""")


def test_two_replica_mirrored_strategy_trains():
    """Logical CPUs must be set up before TensorFlow starts, hence a fresh Python process."""
    script = _TWO_REPLICAS.format(tests=str(ROOT / "tests"))
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["replicas"] == 2 and out["copies"] == 2 and out["devices"] == ["0", "1"]
    assert len(out["losses"]) == 12 and np.all(np.isfinite(out["losses"]))
    assert out["epoch_loss"][-1] < out["epoch_loss"][0] - 0.1, out["epoch_loss"]  # it trained


def test_score_each_epoch_watches_without_choosing(tiny_classifier, batches, capsys):
    import matplotlib

    from helpers.train import ScoreEachEpoch

    matplotlib.use("Agg")
    model = tiny_classifier()
    train, wrong_labels = batches
    watch = ScoreEachEpoch(wrong_labels, name="test")
    weights = _WeightsPerEpoch()
    history = fit_onecycle(model, train, lr_max=1e-2, epochs=2, verbose=2, callbacks=[watch, weights])
    assert len(history.epochs["test_loss"]) == len(history.epochs["test_accuracy"]) == 2
    assert history.best_epoch is None  # nothing chosen from the watched data
    assert _same(weights.weights[-1], model.get_weights())  # the last epoch's weights are kept
    final = model.evaluate(wrong_labels, verbose=0, return_dict=True)
    assert history.epochs["test_loss"][-1] == pytest.approx(final["loss"], rel=1e-5)
    assert watch.seconds > 0
    assert capsys.readouterr().out.count(" - test_accuracy: ") == 2  # on each epoch's line
    labels = [line.get_label() for line in history.plot_history().axes[0].get_lines()]
    assert "test (watched, chooses nothing)" in labels


@pytest.mark.slow
def test_build_learner_builds_what_the_settings_ask_for(toy_texts):
    """Notebooks 03/04 and the full run build through one function, so a setting such as
    ``tail``, ``pooling`` or ``layer_decay`` cannot be honoured in one and dropped in another."""
    from helpers.data import LabeledTexts
    from helpers.full_run import build_learner
    from helpers.layer_decay import LayerwiseAdam
    from helpers.run import RunSettings

    texts, labels = toy_texts
    train = LabeledTexts(texts, labels, ["a", "b", "c", "d"])
    plain = build_learner(RunSettings(maxlen=64, batch_size=16), train)
    assert (plain.encoder.maxlen, plain.encoder.tail) == (64, 0)
    assert type(plain.model).__name__ == "TFBertForSequenceClassification"  # the [CLS] pooler's head
    assert type(plain.model.optimizer) is not LayerwiseAdam
    assert count_batches(plain.batches) == 5  # 80 texts in batches of 16
    assert plain.precision.policy == "float32"  # HELPERS_PRECISION=float32 in unit tests

    changed = build_learner(RunSettings(maxlen=64, batch_size=16, tail=16, pooling="mean", layer_decay=0.8), train)
    assert changed.encoder.tail == 16
    assert changed.model.config.pooling == "mean"
    assert type(changed.model).__name__ == "TFBertMeanPooledClassifier"
    assert isinstance(changed.model.optimizer, LayerwiseAdam)
    assert changed.model.optimizer.factors["head"] == 1.0
