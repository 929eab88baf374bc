"""Pick a learning rate: the LR finder, its suggestions, and the choice a run trains with.

The LR finder (Smith 2015, arXiv:1506.01186; popularised by fastai's ``lr_find``) trains
for a few batches while the learning rate grows exponentially, and watches the loss:
it falls, flattens, then explodes. A good learning rate sits on the steep part of the fall.
Loss smoothing is in one place, ``smooth``: the curve's and the stop rule's.

    >>> from helpers.lr_finder import lr_find, smooth
    >>> smooth(np.array([1.0, 2.0, 3.0, 4.0]), window=3)
    array([1.5, 2. , 3. , 3.5])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from typing import TYPE_CHECKING

from helpers.backend import keras, tf
from helpers.schedule import check_optimizer

if TYPE_CHECKING:
    from helpers.run import RunSettings


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
    Not in a notebook.

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
    Not in a notebook.

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
    Not in a notebook.

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
    (tests/test_determinism.py).
    Taught in notebooks/03_lr_finder.ipynb and notebooks/04_one_cycle_training.ipynb.

    >>> result = lr_find(model, encoder.dataset(texts, labels, shuffle=True))  # doctest: +SKIP
    >>> result.plot(); result.suggestion                                      # doctest: +SKIP
    """
    from helpers._memory import out_of_memory_hint

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
    steps = range(num_steps)
    if progress:
        from helpers._progress import progress as progress_bar

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
            recent = float(smooth(losses[-window:], window)[-1])  # the last window // 2 + 1 losses
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


def find_lr(model, encoder, data, settings: RunSettings, *, progress: bool = True):
    """The LR finder as the recipe runs it: on its own shuffled stream of ``data``, cut at
    ``settings.lr_find_maxlen`` tokens, so training sees the same batches whether or not
    it ran. Weights and optimizer state are put back afterwards (``lr_find``).
    Taught in notebooks/03_lr_finder.ipynb and notebooks/04_one_cycle_training.ipynb.

    >>> finder = find_lr(model, encoder, train, RunSettings())   # doctest: +SKIP
    >>> finder.suggestion                                       # doctest: +SKIP
    0.00024
    """
    from helpers.tokenizer import TextEncoder
    from helpers.train import training_batches

    sweep_encoder = TextEncoder(encoder.tokenizer, maxlen=min(settings.lr_find_maxlen, encoder.maxlen))
    steps = {"num_steps": settings.lr_find_steps} if settings.lr_find_steps else {}
    return lr_find(model, training_batches(sweep_encoder, data, settings), progress=progress, **steps)


def lr_choice(finder, settings: RunSettings) -> tuple[float, str]:
    """The learning rate a run trains with, and where it came from.
    Not in a notebook.

    >>> lr_choice(finder, RunSettings())                 # doctest: +SKIP
    (0.00024, "the LR finder's 'steepest' suggestion")
    >>> lr_choice(finder, RunSettings(lr_max=1e-4))      # doctest: +SKIP
    (0.0001, 'the setting lr_max')
    """
    if settings.lr_max is not None:
        return settings.lr_max, "the setting lr_max"
    name = settings.lr_suggestion or finder.suggestion_name
    if name not in finder.suggestions:
        raise ValueError(f"lr_suggestion must be one of {sorted(finder.suggestions)}, not {name!r}.")
    return finder.suggestions[name], f"the LR finder's {name!r} suggestion"
