"""Train a classifier with the 1cycle policy: ``fit_onecycle``, and what it records.

    >>> from helpers.train import fit_onecycle
    >>> train_batches = encoder.dataset(texts, labels, batch_size=4, shuffle=True)
    >>> val_batches = encoder.dataset(test.texts[:8], test.labels[:8], batch_size=4)
    >>> history = fit_onecycle(model, train_batches, val_batches, lr_max=1e-4, epochs=2, verbose=0)
    >>> len(history.lrs), len(history.epochs["val_loss"])    # 2 batches x 2 epochs; one per epoch
    (4, 2)
    >>> history.plot_schedule(); history.plot_history()
    <Figure size ...>
    <Figure size ...>

Interrupted (Ctrl-C, a killed process, a reboot)? With ``checkpoint_dir`` every finished
epoch is saved (``helpers.checkpoint``); run the same call with ``resume=True``:

    >>> fit_onecycle(model, train_batches, lr_max=1e-4, epochs=3, checkpoint_dir="ckpt")              # doctest: +SKIP
    >>> fit_onecycle(model, train_batches, lr_max=1e-4, epochs=3, checkpoint_dir="ckpt", resume=True) # doctest: +SKIP

Scale-out: pass any ``tf.distribute.Strategy``. The model must be created AND compiled
inside ``strategy.scope()``, so that its variables (and the optimizer's) live on every
replica; ``build_in_scope`` does that for you. Batches are split across the replicas, so
the dataset's ``batch_size`` is the global batch size.

    >>> strategy = tf.distribute.MirroredStrategy()                                    # doctest: +SKIP
    >>> model = build_in_scope(strategy, lambda: load_classifier("minilm-l6", names))  # doctest: +SKIP
    >>> fit_onecycle(model, train_batches, lr_max=1e-4, epochs=2, strategy=strategy)   # doctest: +SKIP
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence, TypeVar

import numpy as np

from helpers.backend import keras, tf
from helpers.checks import label_out_of_range
from helpers.checkpoint import TrainingExtras
from helpers._memory import out_of_memory_hint
from helpers.schedule import OneCycleScheduler, check_optimizer

if TYPE_CHECKING:
    from helpers.data import LabeledTexts
    from helpers.run import RunSettings
    from helpers.tokenizer import TextEncoder

T = TypeVar("T")


@dataclass
class TrainingHistory:
    """Per-batch ``lrs``, ``moms``, ``losses`` and per-epoch ``epochs`` metrics of one training run.

    ``epochs`` maps Keras' names (``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``)
    to one value per epoch. ``best_epoch`` (0-based) is the epoch with the lowest
    validation loss, ``None`` without validation data.
    Not in a notebook.

    >>> history = fit_onecycle(model, encoder.dataset(texts, labels, batch_size=4), lr_max=1e-4, epochs=1,
    ...                        verbose=0)
    >>> sorted(history.epochs), history.best_epoch
    (['accuracy', 'loss'], None)
    """

    lrs: np.ndarray
    moms: np.ndarray
    losses: np.ndarray
    epochs: dict[str, list[float]]
    best_epoch: int | None = None
    stopped_early: bool = False
    checkpoint: Path | None = None

    def plot_schedule(self):
        """Learning rate and momentum against training step, two panels; returns the figure."""
        import matplotlib.pyplot as plt

        fig, (ax_lr, ax_mom) = plt.subplots(1, 2, figsize=(10, 3.5))
        steps = np.arange(len(self.lrs))
        ax_lr.plot(steps, self.lrs, color="#4c72b0")
        ax_lr.set(xlabel="step (batch)", ylabel="learning rate", title="learning rate")
        ax_mom.plot(steps, self.moms, color="#c44e52")
        ax_mom.set(xlabel="step (batch)", ylabel="momentum", title="momentum (beta_1 for Adam)")
        fig.tight_layout()
        return fig

    def plot_history(self):
        """Loss and accuracy per epoch (training, validation, and data scored by ``ScoreEachEpoch``),
        two panels; returns the figure."""
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator

        fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
        for ax, metric in zip(axes, ("loss", "accuracy")):
            for prefix, style in (("", "o-"), ("val_", "s--"), ("test_", "d:")):
                values = self.epochs.get(prefix + metric)
                if values:
                    ax.plot(np.arange(1, len(values) + 1), values, style, label=_CURVE_NAMES[prefix])
            if self.best_epoch is not None:
                ax.axvline(self.best_epoch + 1, color="gray", linestyle=":", label="best (lowest val loss)")
            ax.set(xlabel="epoch", ylabel=metric, title=metric)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if ax.get_legend_handles_labels()[0]:
                ax.legend()
        fig.tight_layout()
        return fig


_CURVE_NAMES = {"": "training (running average)", "val_": "validation", "test_": "test (watched, chooses nothing)"}


class ScoreEachEpoch(keras.callbacks.Callback):
    """After each epoch, score the model on ``data`` and add ``{name}_loss`` and
    ``{name}_accuracy`` to the epoch's metrics (Keras prints them on the epoch's line, and
    they land in the training history). Nothing is chosen from these
    scores (no early stopping, no best epoch): they only show how the model moves.
    ``seconds`` is what the scoring cost, kept apart from training time.
    Taught in notebooks/04_one_cycle_training.ipynb.

    >>> watch = ScoreEachEpoch(encoder.dataset(test.texts, test.labels), name="test")  # doctest: +SKIP
    >>> fit_onecycle(model, batches, lr_max=1e-4, epochs=4, callbacks=[watch])        # doctest: +SKIP
    """

    def __init__(self, data: tf.data.Dataset, name: str = "test") -> None:
        super().__init__()
        self.data, self.name, self.seconds = data, name, 0.0

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        start = time.perf_counter()
        scores = self.model.evaluate(self.data, verbose=0, return_dict=True)
        self.seconds += time.perf_counter() - start
        if logs is not None:
            logs.update({f"{self.name}_{key}": float(value) for key, value in scores.items()})


def build_in_scope(strategy: tf.distribute.Strategy, fn: Callable[[], T]) -> T:
    """Call ``fn`` (which creates and compiles a model) inside ``strategy.scope()``.
    Not in a notebook.

    >>> model = build_in_scope(strategy, lambda: load_classifier("minilm-l6", names))  # doctest: +SKIP
    """
    with strategy.scope():
        return fn()


def check_strategy(model: keras.Model, strategy: tf.distribute.Strategy) -> None:
    """Raise a clear error if the model or its optimizer was not created under ``strategy``.
    Not in a notebook.
    """
    if not isinstance(strategy, tf.distribute.Strategy):
        raise TypeError(f"strategy must be a tf.distribute.Strategy, not {type(strategy).__name__}.")
    for what, variable in (("model", model.weights[0] if model.weights else None),
                           ("optimizer", check_optimizer(model).iterations)):
        if variable is None or not strategy.extended.variable_created_in_scope(variable):
            raise ValueError(
                f"The {what}'s variables were not created under this strategy. Create AND compile "
                "the model inside its scope: model = build_in_scope(strategy, lambda: "
                "load_classifier(...)), or `with strategy.scope(): ...`."
            )


def count_batches(data: tf.data.Dataset) -> int:
    """Batches in one pass over ``data`` (counted by iterating when tf.data cannot tell).
    Not in a notebook.

    >>> count_batches(encoder.dataset(texts, labels, batch_size=3))
    3
    """
    n = int(data.cardinality())
    if n == int(tf.data.INFINITE_CARDINALITY):
        raise ValueError("The dataset repeats forever; give one epoch of batches (no .repeat()).")
    if n == int(tf.data.UNKNOWN_CARDINALITY):
        n = int(data.reduce(np.int64(0), lambda count, _: count + 1))
    if n == 0:
        raise ValueError("The training dataset is empty.")
    return n


def training_batches(encoder: TextEncoder, data: LabeledTexts, settings: RunSettings) -> tf.data.Dataset:
    """Shuffled training batches of ``data`` as ``settings`` say (size, padding, bucketing, seed).
    Taught in notebooks/04_one_cycle_training.ipynb (and used by notebooks/03_lr_finder.ipynb).

    >>> from helpers.run import RunSettings
    >>> batches = training_batches(encoder, train.take(range(40)), RunSettings())
    >>> count_batches(batches)     # 40 texts in batches of RunSettings.batch_size = 16
    3
    """
    return encoder.dataset(data.texts, data.labels, batch_size=settings.batch_size,
                           padding=settings.padding, shuffle=True, seed=settings.seed,
                           bucket=settings.bucket)


def fit_onecycle(
    model: keras.Model,
    train_data: tf.data.Dataset,
    val_data: tf.data.Dataset | None = None,
    *,
    lr_max: float,
    epochs: int,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    restore_best: bool = True,
    early_stopping_patience: int | None = None,
    strategy: tf.distribute.Strategy | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int = 1,
    **schedule,
) -> TrainingHistory:
    """``model.fit`` for ``epochs`` with a 1cycle schedule: the schedule, then ``fit``.

    ``schedule`` takes the 1cycle's ``div``, ``div_final``, ``pct_start`` and ``moms``
    (defaults in ``helpers.schedule``). The extras are callbacks (``helpers.checkpoint``):
    ``checkpoint_dir`` saves a resume checkpoint at the end of every epoch; after an
    interruption call again with the same arguments and ``resume=True`` to carry on from
    the last finished epoch (without ``resume`` old resume checkpoints there are deleted).
    With ``val_data``, ``checkpoint_dir`` also keeps the weights of the epoch with the lowest
    validation loss (``best.weights.h5``, loaded back at the end if ``restore_best``), and
    ``early_stopping_patience`` stops after that many epochs without a better one. Extra
    Keras ``callbacks`` (e.g. TensorBoard) run after the scheduler. Momentum is put back
    whatever stops training. Taught in notebooks/04_one_cycle_training.ipynb.

    >>> history = fit_onecycle(model, train, val, lr_max=5e-5, epochs=3,
    ...                        checkpoint_dir="checkpoints", early_stopping_patience=1)  # doctest: +SKIP
    >>> history = fit_onecycle(model, train, val, lr_max=5e-5, epochs=3,
    ...                        checkpoint_dir="checkpoints", resume=True)  # after Ctrl-C  # doctest: +SKIP
    """
    _check_fit(model, train_data, val_data, lr_max, epochs, early_stopping_patience, resume, checkpoint_dir)
    if strategy is not None:
        check_strategy(model, strategy)
    total = epochs * count_batches(train_data)
    scheduler = OneCycleScheduler(max(total, 2), lr_max, **schedule)
    extras = TrainingExtras.start(model, scheduler, run_description(scheduler, epochs, total), checkpoint_dir,
                                  resume=resume, watch_val=val_data is not None, restore_best=restore_best,
                                  patience=early_stopping_patience)
    epoch_logs = extras.epochs_so_far()
    if extras.epochs_done < epochs and not extras.stopped_before:
        try:
            with out_of_memory_hint("training"):
                keras_history = model.fit(train_data, validation_data=val_data, epochs=epochs,
                                          initial_epoch=extras.epochs_done, verbose=verbose,
                                          callbacks=[scheduler, *callbacks, *extras.callbacks])
        except tf.errors.InvalidArgumentError as err:
            problem = label_out_of_range(err.message)
            if problem is None:
                raise
            raise problem from None
        except KeyboardInterrupt:
            extras.say_interrupted()
            raise
        finally:
            scheduler.on_train_end()  # Keras skips it on any exception: put momentum back
        for name, values in keras_history.history.items():
            epoch_logs.setdefault(name, []).extend(float(v) for v in values)
    extras.restore_best_weights(model)
    val_loss = epoch_logs.get("val_loss")
    return TrainingHistory(
        lrs=np.array(scheduler.lrs), moms=np.array(scheduler.moms), losses=np.array(scheduler.losses),
        epochs=epoch_logs, best_epoch=int(np.argmin(val_loss)) if val_loss else None,
        stopped_early=extras.stopped_early(), checkpoint=extras.best_path,
    )


def _check_fit(model, train_data, val_data, lr_max, epochs, patience, resume, checkpoint_dir) -> None:
    """``fit_onecycle``'s arguments, checked before anything runs (each error names the fix)."""
    check_optimizer(model)
    for name, data in (("train_data", train_data), ("val_data", val_data)):
        if data is not None and not isinstance(data, tf.data.Dataset):
            raise TypeError(f"{name} must be a tf.data.Dataset of (inputs, labels) batches, not "
                            f"{type(data).__name__}: make one with encoder.dataset(texts, labels).")
    if epochs < 1 or not lr_max > 0:
        raise ValueError(f"Need epochs >= 1 and lr_max > 0; got epochs={epochs}, lr_max={lr_max}.")
    if val_data is None and patience is not None:
        raise ValueError("early_stopping_patience watches the validation loss: pass val_data.")
    if resume and checkpoint_dir is None:
        raise ValueError("resume=True continues from checkpoint_dir: pass the checkpoint_dir "
                         "of the interrupted run.")


def run_description(scheduler: OneCycleScheduler, epochs: int, total_steps: int) -> dict:
    """What a resume checkpoint must match: epochs, steps and the 1cycle's settings. Not in a notebook."""
    moms = scheduler.moms_schedule
    return {"epochs": epochs, "total_steps": total_steps, "lr_max": scheduler.kwargs["lr_max"],
            **{k: scheduler.kwargs[k] for k in ("div", "div_final", "pct_start")},
            "moms": list(moms) if moms else None}
