"""The 1cycle policy: the learning rate and momentum at every step, and the Keras callback that sets them.

The 1cycle policy (Smith 2018, "A disciplined approach to neural network
hyper-parameters", arXiv:1803.09820; fastai's ``fit_one_cycle``) warms the learning
rate up to ``lr_max`` and anneals it far below its start, while momentum does the opposite.
Its defaults are stated once, below (``DIV``, ``DIV_FINAL``, ``PCT_START``, ``MOMS``).
Picking ``lr_max``: ``helpers.lr_finder``.

    >>> from helpers.schedule import one_cycle
    >>> one_cycle(0, total_steps=100, lr_max=1e-3)
    (4e-05, 0.95)
"""

from __future__ import annotations

import math

from helpers.backend import keras, tf


# The defaults, stated once. fastai's fit_one_cycle (v2) has div=25, pct_start=0.25 and momentum
# 0.95 -> 0.85 -> 0.95 too, but div_final=1e5: it anneals one decade deeper than ours (1e4).
DIV = 25.0  # the warm-up starts at lr_max / DIV
DIV_FINAL = 1e4  # the last step's learning rate is lr_max / DIV_FINAL
PCT_START = 0.25  # share of the steps spent warming up
MOMS = (0.95, 0.85, 0.95)  # momentum at the start, at the peak learning rate, at the end


def one_cycle(step: int, total_steps: int, lr_max: float, *, div: float = DIV, div_final: float = DIV_FINAL,
              pct_start: float = PCT_START, moms: tuple[float, float, float] = MOMS) -> tuple[float, float]:
    """Learning rate and momentum at ``step`` (0-based) of a 1cycle schedule.

    Warm-up over the first ``round(pct_start * total_steps)`` steps, from ``lr_max / div``
    up to ``lr_max``; then anneal to ``lr_max / div_final`` at the last step,
    ``total_steps - 1``. Both phases follow half a cosine. Momentum moves the other way:
    ``moms[0]`` -> ``moms[1]`` -> ``moms[2]``. Steps past the end keep the final values.
    Defaults: ``DIV``, ``DIV_FINAL``, ``PCT_START``, ``MOMS`` above (fastai's, except
    ``div_final``: fastai anneals to ``lr_max / 1e5``, we to ``lr_max / 1e4``).
    Taught in notebooks/04_one_cycle_training.ipynb.

    >>> one_cycle(25, total_steps=100, lr_max=1e-3)
    (0.001, 0.85)
    >>> one_cycle(99, total_steps=100, lr_max=1e-3)
    (1e-07, 0.95)
    """
    if total_steps < 2 or step < 0 or not 0 <= pct_start < 1 or min(lr_max, div, div_final) <= 0:
        raise ValueError(
            "Need total_steps >= 2, step >= 0, 0 <= pct_start < 1 and positive lr_max, div, div_final; got "
            f"{total_steps=}, {step=}, {pct_start=}, {lr_max=}, {div=}, {div_final=}."
        )
    warm = min(round(pct_start * total_steps), total_steps - 1)  # the step with the peak
    step = min(step, total_steps - 1)
    if step < warm:
        p = step / warm
        return _cos(lr_max / div, lr_max, p), _cos(moms[0], moms[1], p)
    p = (step - warm) / max(1, total_steps - 1 - warm)
    return _cos(lr_max, lr_max / div_final, p), _cos(moms[1], moms[2], p)


def _cos(start: float, end: float, p: float) -> float:
    """Half a cosine from ``start`` (p=0) to ``end`` (p=1), exact at both ends."""
    w = (1 - math.cos(math.pi * p)) / 2
    return start * (1 - w) + end * w


def momentum_attribute(optimizer: keras.optimizers.Optimizer) -> str | None:
    """The momentum hyper-parameter that can be cycled: ``"beta_1"`` (Adam, AdamW, Nadam,
    Adamax, Lion), ``"momentum"`` (SGD), else ``None``. RMSprop's momentum is left alone:
    its update tests ``if self.momentum > 0`` in Python, which a variable cannot pass.
    Not in a notebook.

    >>> momentum_attribute(keras.optimizers.Adam())
    'beta_1'
    """
    if hasattr(optimizer, "beta_1"):
        return "beta_1"
    return "momentum" if isinstance(optimizer, keras.optimizers.SGD) else None


def check_optimizer(model: keras.Model) -> keras.optimizers.Optimizer:
    """The model's optimizer, if it is one whose learning rate we can set; else a clear error.
    Not in a notebook.
    """
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise ValueError("The model is not compiled. Compile it first, e.g. compile_classifier(model).")
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise TypeError(
            f"{type(optimizer).__name__} is not a tf_keras optimizer (legacy optimizers are not "
            "supported). Compile with e.g. keras.optimizers.Adam(learning_rate=1e-4)."
        )
    if isinstance(getattr(optimizer, "_learning_rate", None), keras.optimizers.schedules.LearningRateSchedule):
        raise TypeError(
            "This optimizer follows its own LearningRateSchedule, so its learning rate cannot be "
            "set step by step. Compile with a plain float learning rate instead."
        )
    return optimizer


class OneCycleScheduler(keras.callbacks.Callback):
    """Keras callback: before every batch, set the 1cycle learning rate and momentum.

    Records ``lrs``, ``moms`` and ``losses`` (the loss of each batch, not Keras' running
    mean) per batch. One cycle per ``fit`` call. Momentum is Adam's ``beta_1`` or SGD's
    ``momentum`` (see ``momentum_attribute``); with ``moms=None``, or an optimizer without
    one, momentum is left alone and ``moms`` records NaN.

    Why a variable: a tf_keras optimizer reads ``beta_1``/``momentum`` as a Python float,
    which is frozen into the compiled training step, so changing it later does nothing.
    During ``fit`` it is swapped for a ``tf.Variable`` (and the step re-compiled once);
    afterwards the float is put back.
    Not in a notebook.

    >>> cb = OneCycleScheduler(total_steps=3 * len(batches), lr_max=1e-4)  # doctest: +SKIP
    >>> model.fit(train, epochs=3, callbacks=[cb])                           # doctest: +SKIP
    """

    def __init__(self, total_steps: int, lr_max: float, *, div: float = DIV, div_final: float = DIV_FINAL,
                 pct_start: float = PCT_START, moms: tuple[float, float, float] | None = MOMS) -> None:
        super().__init__()
        self.kwargs = dict(total_steps=total_steps, lr_max=lr_max, div=div, div_final=div_final, pct_start=pct_start)
        one_cycle(0, moms=moms or (0, 0, 0), **self.kwargs)  # fail now on bad arguments
        self.moms_schedule = moms
        self.lrs: list[float] = []
        self.moms: list[float] = []
        self.losses: list[float] = []
        self.momentum: tf.Variable | None = None  # set by on_train_begin, while fit runs
        self._start: tuple[int, list[float], list[float], list[float]] = (0, [], [], [])

    def resume_at(self, step: int, lrs: list[float], moms: list[float], losses: list[float]) -> None:
        """Start the next ``fit`` at ``step`` of the cycle, keeping the records made so far.

        >>> scheduler.resume_at(16, history.lrs, history.moms, history.losses)  # doctest: +SKIP
        """
        self._start = (int(step), list(lrs), list(moms), list(losses))
        self.step, self.lrs, self.moms, self.losses = int(step), list(lrs), list(moms), list(losses)

    def on_train_begin(self, logs=None) -> None:
        self.optimizer = check_optimizer(self.model)
        per_call = getattr(self.model, "_steps_per_execution", None)  # a variable, set by compile
        if per_call is not None and int(tf.convert_to_tensor(per_call)) > 1:
            raise ValueError("OneCycleScheduler sets values per batch: compile with steps_per_execution=1.")
        step, lrs, moms, losses = self._start
        self.step, self.lrs, self.moms, self.losses = step, list(lrs), list(moms), list(losses)
        self.attr = momentum_attribute(self.optimizer) if self.moms_schedule else None
        self.momentum = None
        if self.attr:
            value = getattr(self.optimizer, self.attr)
            if not isinstance(value, (int, float, tf.Variable)):
                raise TypeError(f"Cannot cycle {self.attr}={value!r}; use a float, or moms=None.")
            with self.model.distribute_strategy.scope():
                self.momentum = tf.Variable(float(value), trainable=False, dtype=tf.float32)
            # Untracked: TF-format checkpoints of the optimizer stay as they were.
            setattr(self.optimizer, self.attr, self.optimizer._no_dependency(self.momentum))
            self.model.train_function = self.model.make_train_function(force=True)  # read the variable

    def on_train_batch_begin(self, batch: int, logs=None) -> None:
        lr, mom = one_cycle(self.step, moms=self.moms_schedule or (0, 0, 0), **self.kwargs)
        self.optimizer.learning_rate = lr
        if self.momentum is not None:
            self.momentum.assign(mom)
        self._now = (lr, mom if self.momentum is not None else float("nan"))
        self._before = _loss_totals(self.model) or (0.0, 0.0)

    def on_train_batch_end(self, batch: int, logs=None) -> None:
        # Recorded here, not at batch begin: Keras calls begin once more than there are
        # batches in a first epoch of unknown length (it learns the length by running out).
        self.lrs.append(self._now[0])
        self.moms.append(self._now[1])
        after = _loss_totals(self.model)
        if after and after[1] > self._before[1]:  # loss of this batch = change of the running sums
            self.losses.append((after[0] - self._before[0]) / (after[1] - self._before[1]))
        else:
            self.losses.append(float((logs or {}).get("loss", float("nan"))))
        self.step += 1

    def on_train_end(self, logs=None) -> None:
        """Put the optimizer's float momentum back. Safe to call again, or before ``on_train_begin``
        (``fit_onecycle`` calls it whatever stops training: Keras skips it on an exception)."""
        if self.momentum is not None:
            setattr(self.optimizer, self.attr, float(self.momentum.numpy()))
            self.momentum = None
            self.model.train_function = None  # the next fit compiles a step that reads the float


def _loss_totals(model: keras.Model) -> tuple[float, float] | None:
    """(sum of loss x batch size, number of examples) of Keras' running loss mean this epoch."""
    for metric in model.metrics:
        if metric.name == "loss" and hasattr(metric, "total") and hasattr(metric, "count"):
            return float(metric.total.numpy()), float(metric.count.numpy())
    return None
