"""LR finder, the 1cycle schedule, and the callback that applies it."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.backend import keras, tf
from helpers.model import compile_classifier
from helpers.train import count_batches
from helpers.lr_finder import LRFinderResult, lr_find, smooth, suggestion_indices
from helpers.schedule import OneCycleScheduler, one_cycle


# ----------------------------------------------------------------------------- one_cycle
def test_one_cycle_start_peak_end_and_monotone_phases():
    total, lr_max = 200, 1e-3
    values = np.array([one_cycle(s, total, lr_max) for s in range(total)])
    lrs, moms = values[:, 0], values[:, 1]
    peak = int(0.25 * total)
    assert lrs[0] == pytest.approx(lr_max / 25) and moms[0] == pytest.approx(0.95)
    assert lrs[peak] == pytest.approx(lr_max) and moms[peak] == pytest.approx(0.85)
    assert lrs[-1] == pytest.approx(lr_max / 1e4) and moms[-1] == pytest.approx(0.95)
    assert np.all(np.diff(lrs[: peak + 1]) > 0) and np.all(np.diff(lrs[peak:]) < 0)
    assert np.all(np.diff(moms[: peak + 1]) < 0) and np.all(np.diff(moms[peak:]) > 0)
    assert lrs.max() == pytest.approx(lr_max) and lrs.argmax() == peak
    assert one_cycle(10_000, total, lr_max) == one_cycle(total - 1, total, lr_max)  # past the end: stays


def test_one_cycle_is_cosine_and_rejects_bad_arguments():
    lr, mom = one_cycle(5, total_steps=41, lr_max=1.0, div=10.0, pct_start=0.25)  # half-way up the warm-up
    assert lr == pytest.approx((0.1 + 1.0) / 2) and mom == pytest.approx(0.90)
    for bad in (dict(step=-1), dict(total_steps=1), dict(lr_max=0), dict(pct_start=1.0)):
        kwargs = dict(step=0, total_steps=10, lr_max=1e-3) | bad
        with pytest.raises(ValueError):
            one_cycle(**kwargs)


# ----------------------------------------------------------------------------- suggestions
def _hand_made_curve():
    """Loss falls like a tanh centred at lr=1e-3 (steepest there), bottoms out at 1e-1, then explodes."""
    x = np.round(np.arange(-6, 0.01, 0.1), 10)  # log10(lr), 61 points, 0.1 apart
    loss = np.where(x <= -1, 1 - np.tanh(2 * (x + 3)), 1 - np.tanh(4) + 10 * (x + 1) ** 2)
    return 10.0**x, loss


def test_suggestions_on_a_known_curve():
    lrs, loss = _hand_made_curve()
    idx = suggestion_indices(loss, lrs, skip_start=0, skip_end=0)
    # valley = indexes 0..50 (the minimum); thirds of 50 -> 0 + 16 + 8
    assert idx == {"valley": 24, "steepest": 30, "minimum": 50}
    # skipping the start must not shift the answers (ktrain's steepest index is off by the skip)
    idx = suggestion_indices(loss, lrs, skip_start=10, skip_end=5)
    assert idx == {"valley": 10 + 13 + 6, "steepest": 30, "minimum": 50}
    result = LRFinderResult(lrs, loss, loss, skip_start=10, skip_end=5)
    assert result.steepest == pytest.approx(1e-3)
    assert result.minimum_div_10 == pytest.approx(1e-2)
    assert result.valley == pytest.approx(10**-3.1)
    assert set(result.suggestions) == {"valley", "steepest", "minimum_div_10"}


def test_smooth_is_centred_so_the_curve_does_not_lag():
    assert np.allclose(smooth(np.array([2.0, 2.0, 2.0])), 2.0)  # no pull towards 0 at the ends
    step = np.where(np.arange(40) < 20, 2.0, 1.0)  # the loss drops at step 20
    for window in (3, 5, 9):
        assert int(np.argmax(smooth(step, window) < 1.5)) == 20  # half-way exactly where it happens
    assert smooth(np.array([1.0, 3.0, 5.0]), window=3)[0] == pytest.approx(2.0)  # fewer points at the ends
    with pytest.raises(ValueError, match="odd"):
        smooth(step, window=4)


def test_suggestions_ignore_the_blow_up_after_the_minimum():
    lrs, loss = _hand_made_curve()
    wild = loss.copy()
    wild[53:] = 30.0  # past the minimum the model breaks down: the loss jumps ...
    wild[55:] = 1.0   # ... and falls back, far more steeply than on the way down
    idx = suggestion_indices(wild, lrs, skip_start=0)
    assert idx == {"valley": 24, "steepest": 30, "minimum": 50}


def test_plot_marks_each_suggestion():
    import matplotlib

    matplotlib.use("Agg")
    lrs, loss = _hand_made_curve()
    result = LRFinderResult(lrs, loss, loss)
    ax = result.plot(lr_used=2e-3)
    labels = ax.get_legend_handles_labels()[1]
    assert ax.get_xscale() == "log" and len(labels) == 6  # raw, smoothed, 3 suggestions, used
    assert any(label.startswith("steepest") and label.endswith(": 1.0e-03") for label in labels)
    assert f"{result.suggestion_name} (default): {result.suggestion:.1e}" in labels
    assert "used: 2.0e-03" in labels
    raw = ax.get_lines()[0]
    assert raw.get_alpha() < 0.5 and np.array_equal(raw.get_ydata(), loss)  # raw losses, drawn faintly


# ----------------------------------------------------------------------------- lr_find
@pytest.fixture
def toy_batches(encoder, toy_texts):
    texts, labels = toy_texts
    return encoder.dataset(texts, labels, batch_size=8, shuffle=True, bucket=True)  # 12 batches


def _state(model):
    return (
        [w.copy() for w in model.get_weights()],
        [v.numpy().copy() for v in model.optimizer.variables],
        float(model.optimizer.learning_rate.numpy()),
    )


def _assert_same_state(before, after):
    for a, b in zip(before[0], after[0], strict=True):
        assert np.array_equal(a, b)
    for a, b in zip(before[1], after[1], strict=True):
        assert np.array_equal(a, b)
    assert before[2] == after[2]


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_lr_find_restores_everything_and_suggests_sensibly(tiny_classifier, toy_batches, optimizer):
    model = tiny_classifier(learning_rate=1e-3)
    if optimizer == "sgd":
        compile_classifier(model, optimizer=keras.optimizers.SGD(0.01, momentum=0.9))
    model.fit(toy_batches.take(3), epochs=1, verbose=0)  # a non-trivial optimizer state (moments, step count)
    before, model_id = _state(model), id(model)

    result = lr_find(model, toy_batches, start_lr=1e-5, end_lr=1e3, num_steps=40, progress=False)

    assert id(model) == model_id
    _assert_same_state(before, _state(model))
    assert result.stop_reason == "diverged" and len(result.lrs) > 12  # more steps than batches: repeated
    lo, diverged_at = result.lrs[0], result.lrs[-1]
    for name, lr in result.suggestions.items():
        assert np.isfinite(lr) and lo / 10 <= lr < diverged_at, name
    assert result.valley < diverged_at and result.steepest < diverged_at
    assert np.all(np.isfinite(result.losses)) and result.smoothed.shape == result.losses.shape


@pytest.mark.parametrize("make", [lambda: keras.optimizers.AdamW(1e-3),
                                  lambda: keras.optimizers.RMSprop(1e-3, momentum=0.5)], ids=["adamw", "rmsprop"])
def test_lr_find_restores_other_optimizers(make):
    model = _dense_model(make())
    model.fit(_dense_data(), epochs=1, verbose=0)
    before = _state(model)
    lr_find(model, _dense_data(), num_steps=8, progress=False)
    _assert_same_state(before, _state(model))


def test_lr_find_builds_a_fresh_optimizer_and_restores_after_an_error(tiny_classifier, encoder, toy_texts):
    model = tiny_classifier()
    assert len(model.optimizer.variables) == 1  # only `iterations`: not built yet
    texts, labels = toy_texts
    bad = encoder.dataset(texts, labels + 10, batch_size=8)  # labels out of range: the step fails
    with pytest.raises(tf.errors.InvalidArgumentError):
        lr_find(model, bad, num_steps=5, progress=False)
    assert len(model.optimizer.variables) > 1  # built, so its state could be saved
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(1e-3)
    assert int(model.optimizer.iterations.numpy()) == 0


def test_lr_find_explains_user_mistakes(tiny_classifier, toy_batches):
    model = tiny_classifier()
    with pytest.raises(TypeError, match="tf.data.Dataset"):
        lr_find(model, [1, 2, 3], progress=False)
    with pytest.raises(ValueError, match="start_lr < end_lr"):
        lr_find(model, toy_batches, start_lr=1.0, end_lr=0.1, progress=False)
    with pytest.raises(ValueError, match="\\(inputs, labels\\)"):
        lr_find(model, toy_batches.map(lambda x, y: x), num_steps=3, progress=False)


# ----------------------------------------------------------------------------- the callback
class _ReadBack(keras.callbacks.Callback):
    """Reads back the optimizer's lr and momentum that were in force for every batch."""

    def __init__(self, attr):
        super().__init__()
        self.attr, self.lrs, self.moms = attr, [], []

    def on_train_batch_end(self, batch, logs=None):
        self.lrs.append(float(self.model.optimizer.learning_rate.numpy()))
        self.moms.append(float(tf.convert_to_tensor(getattr(self.model.optimizer, self.attr)).numpy()))


def test_scheduler_sets_lr_and_momentum_every_batch(tiny_classifier, toy_batches):
    model = tiny_classifier()
    n = count_batches(toy_batches)  # 12: bucketing leaves some part-filled batches
    scheduler, probe = OneCycleScheduler(2 * n, lr_max=1e-3), _ReadBack("beta_1")
    history = model.fit(toy_batches, epochs=2, callbacks=[scheduler, probe], verbose=0)
    expected = np.array([one_cycle(s, 2 * n, 1e-3) for s in range(2 * n)])
    assert np.allclose(probe.lrs, expected[:, 0], rtol=1e-6) and np.allclose(scheduler.lrs, expected[:, 0])
    assert np.allclose(probe.moms, expected[:, 1], rtol=1e-6) and np.allclose(scheduler.moms, expected[:, 1])
    assert model.optimizer.beta_1 == pytest.approx(0.95) and isinstance(model.optimizer.beta_1, float)
    # per-batch losses, not Keras' running mean: their example-weighted mean is the epoch loss
    sizes = np.array([len(y) for _, y in toy_batches] * 2)  # same sizes each epoch (bucketing by length)
    losses = np.array(scheduler.losses)
    assert len(losses) == 2 * n and len(set(sizes)) > 1
    for epoch in range(2):
        part = slice(n * epoch, n * (epoch + 1))
        weighted = (losses[part] * sizes[part]).sum() / sizes[part].sum()
        assert weighted == pytest.approx(history.history["loss"][epoch], rel=1e-4)
    assert not np.allclose(losses[:n], np.mean(losses[:n]))  # really one value per batch


def _dense_model(optimizer):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(3)])
    model.build((None, 5))
    model.compile(optimizer, keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _dense_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 5)).astype("float32")
    return tf.data.Dataset.from_tensor_slices((x, (x[:, 0] > 0).astype("int32") + (x[:, 1] > 0))).batch(8)


@pytest.mark.parametrize("make, attr", [
    (lambda: keras.optimizers.Adam(0.05, beta_1=0.9), "beta_1"),
    (lambda: keras.optimizers.AdamW(0.05, beta_1=0.9), "beta_1"),
    (lambda: keras.optimizers.SGD(0.05, momentum=0.9), "momentum"),
], ids=["adam", "adamw", "sgd"])
def test_momentum_reaches_the_compiled_training_step(make, attr):
    data = _dense_data()

    def train(momentum, how):
        model = _dense_model(make())
        model.fit(data, epochs=1, verbose=0)  # compiles the step with the float 0.9
        if how == "scheduler":  # constant lr (div=1, div_final=1) and constant momentum
            cb = OneCycleScheduler(6, lr_max=0.05, div=1, div_final=1, moms=(momentum,) * 3)
            model.fit(data, epochs=1, verbose=0, callbacks=[cb])
        else:
            setattr(model.optimizer, attr, momentum)
            if how == "float, recompiled":
                model.train_function = None
            model.fit(data, epochs=1, verbose=0)
        return np.concatenate([w.ravel() for w in model.get_weights()])

    reference = train(0.3, "float, recompiled")  # what momentum 0.3 really does
    # the trap: a float set after the first fit is ignored by the compiled step
    assert np.array_equal(train(0.3, "float"), train(0.9, "float"))
    assert not np.allclose(train(0.9, "float"), reference)
    # the scheduler's momentum does reach it
    assert np.allclose(train(0.3, "scheduler"), reference, atol=1e-6)
    assert not np.allclose(train(0.9, "scheduler"), reference, atol=1e-4)


def test_scheduler_leaves_momentum_alone_when_asked_or_impossible():
    data = _dense_data()
    for optimizer, attr, moms in [(keras.optimizers.Adam(0.01), "beta_1", None),
                                  (keras.optimizers.RMSprop(0.01, momentum=0.9), "momentum", (0.95, 0.85, 0.95))]:
        model = _dense_model(optimizer)
        scheduler = OneCycleScheduler(6, lr_max=0.01, moms=moms)
        model.fit(data, epochs=1, callbacks=[scheduler], verbose=0)
        assert getattr(model.optimizer, attr) == 0.9 and np.all(np.isnan(scheduler.moms))
        assert scheduler.lrs[2] == pytest.approx(0.01)  # the learning rate is still scheduled
