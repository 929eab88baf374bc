"""Pick a learning rate with the LR finder, then train with the 1cycle policy.

The LR finder (Smith 2015, arXiv:1506.01186; popularised by fastai's ``lr_find``) trains
for a few batches while the learning rate grows exponentially, and watches the loss:
it falls, flattens, then explodes. A good learning rate sits on the steep part of the fall.

The 1cycle policy (Smith 2018, "A disciplined approach to neural network
hyper-parameters", arXiv:1803.09820; fastai's ``fit_one_cycle``) warms the learning
rate up to ``lr_max`` and anneals it far below its start, while momentum does the opposite.

    >>> from helpers.schedule import lr_find, one_cycle
    >>> result = lr_find(model, train_batches)               # doctest: +SKIP
    >>> result.suggestions                                   # doctest: +SKIP
    {'valley': 2.6e-05, 'steepest': 3.2e-04, 'minimum_div_10': 5.2e-05}
    >>> one_cycle(0, total_steps=100, lr_max=1e-3)
    (4e-05, 0.95)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from helpers.backend import keras, tf


# ----------------------------------------------------------------------------- 1cycle
def one_cycle(step: int, total_steps: int, lr_max: float, *, div: float = 25.0, div_final: float = 1e4,
              pct_start: float = 0.25, moms: tuple[float, float, float] = (0.95, 0.85, 0.95)) -> tuple[float, float]:
    """Learning rate and momentum at ``step`` (0-based) of a 1cycle schedule.

    Warm-up over the first ``round(pct_start * total_steps)`` steps, from ``lr_max / div``
    up to ``lr_max``; then anneal to ``lr_max / div_final`` at the last step,
    ``total_steps - 1``. Both phases follow half a cosine. Momentum moves the other way:
    ``moms[0]`` -> ``moms[1]`` -> ``moms[2]``. Steps past the end keep the final values.
    The defaults are fastai's ``fit_one_cycle`` (``div=25``, ``div_final=1e4``,
    momentum 0.95 -> 0.85 -> 0.95), except ``pct_start=0.25`` instead of 0.3.

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

    >>> momentum_attribute(keras.optimizers.Adam())
    'beta_1'
    """
    if hasattr(optimizer, "beta_1"):
        return "beta_1"
    return "momentum" if isinstance(optimizer, keras.optimizers.SGD) else None


def check_optimizer(model: keras.Model) -> keras.optimizers.Optimizer:
    """The model's optimizer, if it is one whose learning rate we can set; else a clear error."""
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

    >>> cb = OneCycleScheduler(total_steps=3 * len(batches), lr_max=1e-4)  # doctest: +SKIP
    >>> model.fit(train, epochs=3, callbacks=[cb])                           # doctest: +SKIP
    """

    def __init__(self, total_steps: int, lr_max: float, *, div: float = 25.0, div_final: float = 1e4,
                 pct_start: float = 0.25, moms: tuple[float, float, float] | None = (0.95, 0.85, 0.95)) -> None:
        super().__init__()
        self.kwargs = dict(total_steps=total_steps, lr_max=lr_max, div=div, div_final=div_final, pct_start=pct_start)
        one_cycle(0, moms=moms or (0, 0, 0), **self.kwargs)  # fail now on bad arguments
        self.moms_schedule = moms
        self.lrs: list[float] = []
        self.moms: list[float] = []
        self.losses: list[float] = []
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
        if self.momentum is not None:
            setattr(self.optimizer, self.attr, float(self.momentum.numpy()))
            self.model.train_function = None  # the next fit compiles a step that reads the float


def _loss_totals(model: keras.Model) -> tuple[float, float] | None:
    """(sum of loss x batch size, number of examples) of Keras' running loss mean this epoch."""
    for metric in model.metrics:
        if metric.name == "loss" and hasattr(metric, "total") and hasattr(metric, "count"):
            return float(metric.total.numpy()), float(metric.count.numpy())
    return None


# ----------------------------------------------------------------------------- LR finder
# The default sweep, chosen by measurement for fine-tuning a pretrained transformer
# (README, "The LR finder"): 15 steps per decade from 1e-6, where nothing moves yet, to 1e-2,
# past where fine-tuning breaks down (about 1e-3). Every default is stated here, once.
SWEEP = dict(start_lr=1e-6, end_lr=1e-2, num_steps=60, window=7, stop_factor=4.0)
DEFAULT_SUGGESTION = "steepest"


@dataclass
class LRFinderResult:
    """What ``lr_find`` saw: learning rates, raw and smoothed losses, and suggestions.

    Suggestions read the smoothed curve up to its lowest point (past it the model is
    breaking down), without its first ``skip_start`` points (default: a tenth).
    ``suggestion`` is the one the project uses, ``DEFAULT_SUGGESTION``; ``stop_reason``
    is ``"diverged"``, ``"nan"`` or ``"end"``.

    >>> result.suggestions                            # doctest: +SKIP
    {'valley': 2.6e-05, 'steepest': 3.2e-04, 'minimum_div_10': 5.2e-05}
    >>> result.plot(lr_used=result.suggestion)        # doctest: +SKIP
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    stop_reason: str = "end"
    skip_start: int | None = None
    skip_end: int = 0
    suggestion_name: str = DEFAULT_SUGGESTION
    valley: float = field(init=False)
    steepest: float = field(init=False)
    minimum_div_10: float = field(init=False)

    def __post_init__(self) -> None:
        self.points = suggestion_indices(self.smoothed, self.lrs, skip_start=self.skip_start, skip_end=self.skip_end)
        self.valley, self.steepest, self.minimum_div_10 = (
            float(self.lrs[self.points["valley"]]),
            float(self.lrs[self.points["steepest"]]),
            float(self.lrs[self.points["minimum"]]) / 10,
        )
        if self.suggestion_name not in self.suggestions:
            raise ValueError(f"suggestion_name must be one of {sorted(self.suggestions)}, not {self.suggestion_name!r}.")

    @property
    def suggestions(self) -> dict[str, float]:
        """``{"valley", "steepest", "minimum_div_10"}`` -> learning rate."""
        return {"valley": self.valley, "steepest": self.steepest, "minimum_div_10": self.minimum_div_10}

    @property
    def suggestion(self) -> float:
        """The learning rate of the default suggestion (``suggestion_name``)."""
        return self.suggestions[self.suggestion_name]

    def plot(self, ax=None, *, lr_used: float | None = None, lr_used_label: str = "used"):
        """Raw losses (faint) and the smoothed curve against the learning rate (log axis),
        a marker per suggestion, and a dashed line at ``lr_used``; returns the axes."""
        import matplotlib.pyplot as plt

        new_figure = ax is None
        if new_figure:
            _, ax = plt.subplots(figsize=(7, 4))
        ax.plot(self.lrs, self.losses, color="#4c72b0", alpha=0.25, linewidth=1, label="loss of each batch")
        ax.plot(self.lrs, self.smoothed, color="#4c72b0", linewidth=2, label="smoothed loss")
        for (name, lr), marker, color in zip(self.suggestions.items(), "ovs", ("#c44e52", "#55a868", "#8172b2")):
            loss = np.interp(np.log(lr), np.log(self.lrs), self.smoothed)  # the curve at that lr
            star = " (default)" if name == self.suggestion_name else ""
            ax.plot(lr, loss, marker, color=color, markersize=9, label=f"{name}{star}: {lr:.1e}")
        if lr_used is not None:
            ax.axvline(lr_used, color="black", linestyle="--", linewidth=1, label=f"{lr_used_label}: {lr_used:.1e}")
        top = max(self.smoothed[0], np.nanmax(self.smoothed[: self.points["minimum"] + 1])) * 1.3
        ax.set_ylim(max(0.0, np.nanmin(self.losses) - 0.05), top)  # keep the blow-up from squashing the fall
        ax.set_xscale("log")
        ax.set_xlabel("learning rate (log scale)")
        ax.set_ylabel("training loss")
        ax.legend(fontsize=8)
        if new_figure:
            ax.figure.tight_layout()
        return ax


def smooth(losses: np.ndarray, window: int = SWEEP["window"]) -> np.ndarray:
    """Centred moving average: each point is the mean of the raw losses ``window // 2`` steps
    either side of it (fewer at the ends). Centred, so the curve does not lag the losses as
    an exponential moving average does.

    >>> smooth(np.array([1.0, 2.0, 3.0, 4.0]), window=3)
    array([1.5, 2. , 3. , 3.5])
    """
    if window < 1 or window % 2 == 0:
        raise ValueError(f"window must be an odd number >= 1, not {window}.")
    losses = np.asarray(losses, dtype=float)
    half = window // 2
    return np.array([losses[max(0, i - half): i + half + 1].mean() for i in range(len(losses))])


def _window(n: int, skip_start: int | None, skip_end: int) -> tuple[int, int]:
    """Indexes [start, stop) that suggestions look at; the whole curve if too little is left."""
    start = n // 10 if skip_start is None else skip_start
    stop = n - skip_end
    return (start, stop) if stop - start >= 3 else (0, n)


def suggestion_indices(smoothed: np.ndarray, lrs: np.ndarray, *, skip_start: int | None = None,
                       skip_end: int = 0) -> dict[str, int]:
    """Indexes (into the full arrays) of the valley, steepest and minimum points.

    - minimum: the lowest loss (``minimum_div_10`` suggests a tenth of its lr, the rule
      of the LR range test's author);
    - valley (fastai's default): the longest run of ever-lower losses (not necessarily
      adjacent points) that ends by the minimum; split it in thirds and take the middle of
      the middle third, which is half-way down;
    - steepest: where the loss falls fastest per unit of log(lr), on the way down to the minimum.

    >>> suggestion_indices(np.array([3, 2.9, 2, 1, 0.9, 5.0]), np.logspace(-5, 0, 6), skip_start=0, skip_end=0)
    {'valley': 1, 'steepest': 2, 'minimum': 4}
    """
    start, stop = _window(len(smoothed), skip_start, skip_end)
    y = np.asarray(smoothed[start:stop], dtype=float)
    if y.size < 2:
        raise ValueError(f"Need at least 2 recorded losses for suggestions, got {y.size}. Run more steps.")
    minimum = int(np.argmin(y))
    y_down = y[: minimum + 1]  # past the minimum the loss climbs: the model is breaking down
    # longest decreasing subsequence, remembering where each one starts
    length, first = np.ones(len(y_down), int), np.arange(len(y_down))
    for i in range(1, len(y_down)):
        for j in range(i):
            if y_down[j] > y_down[i] and length[j] + 1 > length[i]:
                length[i], first[i] = length[j] + 1, first[j]
    end = int(np.argmax(length))  # the first of the longest
    third = (end - first[end]) / 3
    valley = int(first[end] + int(third) + int(third / 2))
    slope = np.gradient(y, np.log(lrs[start:stop]))[: minimum + 1]
    steepest = int(np.argmin(slope))
    return {"valley": start + valley, "steepest": start + steepest, "minimum": start + minimum}


def lr_find(model: keras.Model, train_data: tf.data.Dataset, *, start_lr: float = SWEEP["start_lr"],
            end_lr: float = SWEEP["end_lr"], num_steps: int = SWEEP["num_steps"], window: int = SWEEP["window"],
            stop_factor: float = SWEEP["stop_factor"], suggestion: str = DEFAULT_SUGGESTION,
            progress: bool = True) -> LRFinderResult:
    """Sweep the learning rate from ``start_lr`` to ``end_lr`` over ``num_steps`` batches.

    One training step per learning rate, exponentially spaced; the dataset is repeated if
    it has fewer batches. Stops early once the mean of the last ``window // 2 + 1`` losses
    exceeds ``stop_factor`` x the lowest such mean, or a loss is NaN. The model's weights
    and the optimizer's whole state (iterations, slots such as Adam's moments, learning
    rate) are put back afterwards, even on error. Repeatable on CPU: the same seeds (model,
    ``TextEncoder.dataset(seed=...)``) give the same losses, exactly
    (tests/test_determinism.py). Taught in notebook 03.

    >>> result = lr_find(model, encoder.dataset(texts, labels, shuffle=True))  # doctest: +SKIP
    >>> result.plot(); result.suggestion                                      # doctest: +SKIP
    """
    from helpers.memory import out_of_memory_hint

    optimizer = check_optimizer(model)
    if not isinstance(train_data, tf.data.Dataset):
        raise TypeError(f"train_data must be a tf.data.Dataset of (inputs, labels), not {type(train_data).__name__}.")
    if not 0 < start_lr < end_lr or num_steps < 2:
        raise ValueError(f"Need 0 < start_lr < end_lr and num_steps >= 2; got {start_lr}, {end_lr}, {num_steps}.")
    if not model.weights:
        raise ValueError("The model has no weights yet: call it once on a batch first.")
    smooth(np.zeros(1), window)  # fail now on a bad window
    with model.distribute_strategy.scope():
        optimizer.build(model.trainable_variables)  # so there is a state to save (no-op if built)
    weights = model.get_weights()
    state = [v.numpy() for v in optimizer.variables]
    lr_before = float(optimizer.learning_rate.numpy())

    lrs_all = start_lr * (end_lr / start_lr) ** (np.arange(num_steps) / (num_steps - 1))
    lrs, losses, best, reason = [], [], math.inf, "end"
    trailing = window // 2 + 1
    steps = range(num_steps)
    if progress:
        from helpers.progress import progress as progress_bar

        steps = progress_bar(steps, desc="lr_find", unit="batch")
    batches = iter(train_data.repeat())
    try:
        for i in steps:
            try:
                batch = next(batches)
            except StopIteration:
                raise ValueError("train_data is empty: it yields no batches.") from None
            if not isinstance(batch, tuple) or len(batch) < 2:
                raise ValueError("train_data must yield (inputs, labels) batches, e.g. from TextEncoder.dataset.")
            optimizer.learning_rate = lrs_all[i]
            with out_of_memory_hint("running the LR finder"):
                logs = model.train_on_batch(*batch[:3], reset_metrics=True, return_dict=True)
            loss = float(logs["loss"])
            if not math.isfinite(loss):
                reason = "nan"
                break
            lrs.append(lrs_all[i])
            losses.append(loss)
            recent = float(np.mean(losses[-trailing:]))
            best = min(best, recent)
            if recent > stop_factor * best:
                reason = "diverged"
                break
    finally:
        if progress:
            steps.close()
        model.set_weights(weights)
        for variable, value in zip(optimizer.variables, state):
            variable.assign(value)
        optimizer.learning_rate = lr_before
    if len(losses) < 2:
        raise ValueError(f"The loss was not finite after {len(losses)} step(s): lower start_lr.")
    losses = np.array(losses)
    return LRFinderResult(np.array(lrs), losses, smooth(losses, window), stop_reason=reason,
                          suggestion_name=suggestion)
