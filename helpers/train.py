"""Train a classifier with the 1cycle policy: ``fit_onecycle``, and what it records.

    >>> from helpers.train import fit_onecycle
    >>> history = fit_onecycle(model, train_batches, val_batches, lr_max=1e-4, epochs=3)  # doctest: +SKIP
    >>> history.plot_schedule(); history.plot_history()                                   # doctest: +SKIP

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

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence, TypeVar

import numpy as np

from helpers.backend import keras, tf
from helpers.checks import label_out_of_range
from helpers.checkpoint import (
    RESUME_FOLDER,
    Checkpoint,
    CheckpointError,
    latest_checkpoint,
    restore_checkpoint,
    save_checkpoint,
)
from helpers.memory import out_of_memory_hint
from helpers.schedule import OneCycleScheduler, check_optimizer

T = TypeVar("T")


@dataclass
class TrainingHistory:
    """Per-batch ``lrs``, ``moms``, ``losses`` and per-epoch ``epochs`` metrics of one training run.

    ``epochs`` maps Keras' names (``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``)
    to one value per epoch. ``best_epoch`` (0-based) is the epoch with the lowest
    validation loss, ``None`` without validation data.

    >>> history.epochs["val_accuracy"][-1]        # doctest: +SKIP
    0.91
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

    >>> model = build_in_scope(strategy, lambda: load_classifier("minilm-l6", names))  # doctest: +SKIP
    """
    with strategy.scope():
        return fn()


def check_strategy(model: keras.Model, strategy: tf.distribute.Strategy) -> None:
    """Raise a clear error if the model or its optimizer was not created under ``strategy``."""
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

    >>> count_batches(encoder.dataset(texts, labels, batch_size=16))  # doctest: +SKIP
    142
    """
    n = int(data.cardinality())
    if n == int(tf.data.INFINITE_CARDINALITY):
        raise ValueError("The dataset repeats forever; give one epoch of batches (no .repeat()).")
    if n == int(tf.data.UNKNOWN_CARDINALITY):
        n = int(data.reduce(np.int64(0), lambda count, _: count + 1))
    if n == 0:
        raise ValueError("The training dataset is empty.")
    return n


def fit_onecycle(
    model: keras.Model,
    train_data: tf.data.Dataset,
    val_data: tf.data.Dataset | None = None,
    *,
    lr_max: float,
    epochs: int,
    div: float = 25.0,
    div_final: float = 1e4,
    pct_start: float = 0.25,
    moms: tuple[float, float, float] | None = (0.95, 0.85, 0.95),
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    restore_best: bool = True,
    early_stopping_patience: int | None = None,
    strategy: tf.distribute.Strategy | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int = 1,
) -> TrainingHistory:
    """``model.fit`` for ``epochs`` with a 1cycle schedule (see ``helpers.schedule.one_cycle``).

    ``checkpoint_dir`` saves a resume checkpoint at the end of every epoch (weights,
    optimizer state, position in the cycle; see ``helpers.checkpoint``): after an
    interruption (Ctrl-C, a killed process), call again with the same arguments and
    ``resume=True`` to carry on from the last finished epoch. Without ``resume`` a new run
    starts and old resume checkpoints there are deleted.

    With ``val_data``: ``checkpoint_dir`` also keeps the weights of the epoch with the
    lowest validation loss in ``checkpoint_dir/best.weights.h5``, and loads them back at
    the end if ``restore_best``; ``early_stopping_patience`` stops after that many epochs
    without a better validation loss (and, with ``restore_best``, ends on the best weights).
    Extra Keras ``callbacks`` (e.g. TensorBoard) run after the scheduler.

    >>> history = fit_onecycle(model, train, val, lr_max=5e-5, epochs=3,
    ...                        checkpoint_dir="checkpoints", early_stopping_patience=1)  # doctest: +SKIP
    >>> history = fit_onecycle(model, train, val, lr_max=5e-5, epochs=3,
    ...                        checkpoint_dir="checkpoints", resume=True)  # after Ctrl-C  # doctest: +SKIP
    """
    check_optimizer(model)
    for name, data in (("train_data", train_data), ("val_data", val_data)):
        if data is not None and not isinstance(data, tf.data.Dataset):
            raise TypeError(f"{name} must be a tf.data.Dataset of (inputs, labels) batches, not "
                            f"{type(data).__name__}: make one with encoder.dataset(texts, labels).")
    if epochs < 1 or not lr_max > 0:
        raise ValueError(f"Need epochs >= 1 and lr_max > 0; got epochs={epochs}, lr_max={lr_max}.")
    if val_data is None and early_stopping_patience is not None:
        raise ValueError("early_stopping_patience watches the validation loss: pass val_data.")
    if resume and checkpoint_dir is None:
        raise ValueError("resume=True continues from checkpoint_dir: pass the checkpoint_dir "
                         "of the interrupted run.")
    if strategy is not None:
        check_strategy(model, strategy)

    total = epochs * count_batches(train_data)
    run = {"epochs": epochs, "total_steps": total, "lr_max": lr_max, "div": div,
           "div_final": div_final, "pct_start": pct_start, "moms": list(moms) if moms else None}
    scheduler = OneCycleScheduler(max(total, 2), lr_max, div=div, div_final=div_final, pct_start=pct_start, moms=moms)
    done = _start_or_resume(model, scheduler, checkpoint_dir, resume, run)
    callbacks = [scheduler, *callbacks]
    path = None
    if checkpoint_dir is not None and val_data is not None:
        path = Path(checkpoint_dir) / "best.weights.h5"
        path.parent.mkdir(parents=True, exist_ok=True)
        val_losses = done.state["epochs"].get("val_loss", []) if done else []
        callbacks.append(keras.callbacks.ModelCheckpoint(
            str(path), monitor="val_loss", save_best_only=True, save_weights_only=True,
            initial_value_threshold=min(val_losses) if val_losses else None))
    stopper = None
    if early_stopping_patience is not None:
        stopper = keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=early_stopping_patience,
            restore_best_weights=restore_best and path is None)  # else the checkpoint restores
        callbacks.append(stopper)
    saver = None
    if checkpoint_dir is not None:
        saver = _ResumeSaver(checkpoint_dir, scheduler, run, done, stopper)
        callbacks.append(saver)

    initial_epoch = done.epochs_done if done else 0
    epoch_logs: dict[str, list[float]] = {k: list(v) for k, v in done.state["epochs"].items()} if done else {}
    if initial_epoch < epochs and not (done and done.state.get("stopped_early")):
        try:
            with out_of_memory_hint("training"):
                keras_history = model.fit(train_data, validation_data=val_data, epochs=epochs,
                                          initial_epoch=initial_epoch, callbacks=callbacks,
                                          verbose=verbose)
        except tf.errors.InvalidArgumentError as err:
            problem = label_out_of_range(err.message)
            if problem is None:
                raise
            raise problem from None
        except KeyboardInterrupt:
            scheduler.on_train_end()  # Keras skips it when interrupted: put momentum back
            if saver is not None and saver.last is not None:
                print(f"Interrupted. {saver.last} holds the last finished epoch: call "
                      "fit_onecycle again with the same arguments and resume=True.")
            elif saver is not None:
                print("Interrupted before the first epoch finished: nothing to resume from yet.")
            raise
        for name, values in keras_history.history.items():
            epoch_logs.setdefault(name, []).extend(float(v) for v in values)
    if path is not None and restore_best and path.exists():  # no file if val loss was never finite
        model.load_weights(str(path))
    val_loss = epoch_logs.get("val_loss")
    stopped = bool(stopper is not None and stopper.stopped_epoch > 0) or bool(
        done and done.state.get("stopped_early"))
    return TrainingHistory(
        lrs=np.array(scheduler.lrs), moms=np.array(scheduler.moms), losses=np.array(scheduler.losses),
        epochs=epoch_logs,
        best_epoch=int(np.argmin(val_loss)) if val_loss else None,
        stopped_early=stopped,
        checkpoint=path,
    )


def _start_or_resume(model: keras.Model, scheduler: OneCycleScheduler,
                     checkpoint_dir: str | Path | None, resume: bool, run: dict) -> Checkpoint | None:
    """Restore the latest checkpoint if resuming; else clear old resume checkpoints."""
    if checkpoint_dir is None:
        return None
    if not resume:
        old = Path(checkpoint_dir) / RESUME_FOLDER
        if old.is_dir():
            shutil.rmtree(old)  # a new run: its checkpoints must not mix with an old run's
        return None
    done = latest_checkpoint(checkpoint_dir)
    if done is None:
        print(f"No resume checkpoint in {checkpoint_dir}: training from the first epoch.")
        return None
    saved = done.state.get("run", {})
    changed = {k: (saved.get(k), v) for k, v in run.items() if saved.get(k) != v}
    if changed:
        what = ", ".join(f"{k} {a!r} -> {b!r}" for k, (a, b) in changed.items())
        raise CheckpointError(f"{done.folder} is from a run with other settings ({what}). Pass "
                              "the same data and arguments to resume, or resume=False to start over.")
    restore_checkpoint(done, model)
    state = done.state
    scheduler.resume_at(state["step"], state["lrs"], state["moms"], state["losses"])
    print(f"Resuming from {done.folder} ({done.epochs_done} of {run['epochs']} epochs done).")
    return done


class _ResumeSaver(keras.callbacks.Callback):
    """At each epoch's end, save a resume checkpoint (see ``helpers.checkpoint``)."""

    def __init__(self, directory: str | Path, scheduler: OneCycleScheduler, run: dict,
                 done: Checkpoint | None, stopper: keras.callbacks.EarlyStopping | None) -> None:
        super().__init__()
        self.directory, self.scheduler, self.run, self.stopper = directory, scheduler, run, stopper
        self.epochs = {k: list(v) for k, v in done.state["epochs"].items()} if done else {}
        self.early = done.state.get("early_stopping") if done else None
        self.last: Path | None = done.folder if done else None

    def on_train_begin(self, logs=None) -> None:
        if self.stopper is not None and self.early:  # after EarlyStopping reset itself
            self.stopper.wait, self.stopper.best = self.early["wait"], self.early["best"]

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        for name, value in (logs or {}).items():
            self.epochs.setdefault(name, []).append(float(value))
        sched = self.scheduler
        state = {"epochs_done": epoch + 1, "step": sched.step, "lrs": sched.lrs,
                 "moms": sched.moms, "losses": sched.losses, "epochs": self.epochs, "run": self.run}
        if self.stopper is not None:  # it ran before this callback, so it is up to date
            state["early_stopping"] = {"wait": int(self.stopper.wait),
                                       "best": float(self.stopper.best)}
            state["stopped_early"] = bool(self.model.stop_training)
        self.last = save_checkpoint(self.directory, self.model, state)
