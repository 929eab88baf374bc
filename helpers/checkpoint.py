"""Resumable training: at the end of every epoch, save everything needed to carry on.

A checkpoint is a folder ``<checkpoint_dir>/resume/epoch-0003/`` holding the model weights
(``weights.h5``), the optimizer's state (``optimizer.npz``: Adam's moments and step count,
plain arrays, no pickles) and ``state.json`` (epochs done, the 1cycle position, the
per-batch records and per-epoch metrics so far, and the sha256 of both files).

Written atomically: everything goes to a ``.partial-*`` folder that is renamed into place
only when complete, and the older checkpoint is deleted only after that. A process killed
while saving leaves the previous checkpoint as it was; the half-written folder is ignored
and removed on the next save.

    >>> history = fit_onecycle(model, train, val, lr_max=1e-4, epochs=4,
    ...                        checkpoint_dir="checkpoints")           # doctest: +SKIP
    KeyboardInterrupt ... (or the machine went down)
    >>> history = fit_onecycle(model, train, val, lr_max=1e-4, epochs=4,
    ...                        checkpoint_dir="checkpoints", resume=True)  # doctest: +SKIP
    Resuming from checkpoints/resume/epoch-0002 (2 of 4 epochs done)

How close a resumed run is to an uninterrupted one: with unshuffled batches and no
dropout, equal to float rounding (the tests allow 1e-5). With ``shuffle=True`` the
remaining epochs see other batch orders (tf.data's shuffle position is not saved) and
dropout draws other masks, so the result is statistically equivalent, not identical.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from helpers._files import replace_folder, sha256, write_json
from helpers.backend import keras
from helpers.schedule import OneCycleScheduler

RESUME_FOLDER = "resume"
BEST_WEIGHTS = "best.weights.h5"  # with validation data: the weights of the lowest validation loss
_WEIGHTS, _OPTIMIZER, _STATE = "weights.h5", "optimizer.npz", "state.json"


class CheckpointError(ValueError):
    """A resume checkpoint is missing, damaged, or belongs to another training run.
    Not in a notebook.
    """


@dataclass
class Checkpoint:
    """A complete checkpoint on disk: its folder and its ``state.json`` contents.
    Not in a notebook.
    """

    folder: Path
    state: dict[str, Any]

    @property
    def epochs_done(self) -> int:
        return int(self.state["epochs_done"])

    def epoch_logs(self) -> dict[str, list[float]]:
        """A copy of the per-epoch metrics so far (``loss``, ``val_loss``, ...), to extend.
        Not in a notebook."""
        return {k: list(v) for k, v in self.state["epochs"].items()}


def save_checkpoint(directory: str | os.PathLike, model: keras.Model,
                    state: dict[str, Any]) -> Path:
    """Write weights, optimizer state and ``state`` (needs ``epochs_done``) as one checkpoint.
    Not in a notebook.

    >>> save_checkpoint("checkpoints", model, {"epochs_done": 1, "step": 8})  # doctest: +SKIP
    PosixPath('checkpoints/resume/epoch-0001')
    """
    root = Path(directory) / RESUME_FOLDER
    root.mkdir(parents=True, exist_ok=True)
    target = root / f"epoch-{int(state['epochs_done']):04d}"
    tmp = root / f".partial-{target.name}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir()
        model.save_weights(str(tmp / _WEIGHTS))
        variables = model.optimizer.variables
        with open(tmp / _OPTIMIZER, "wb") as f:
            np.savez(f, *[np.asarray(v.numpy()) for v in variables])
        files = {name: sha256(tmp / name) for name in (_WEIGHTS, _OPTIMIZER)}
        write_json(tmp / _STATE, {**state, "files": files})  # last: marks the folder complete
        _fsync_folder(tmp)
        replace_folder(tmp, target)  # over a checkpoint of the same epoch from an earlier run
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for old in root.iterdir():  # only now: older checkpoints and leftovers of killed saves
        if old != target and (old.name.startswith(".partial-") or old.name < target.name):
            shutil.rmtree(old, ignore_errors=True)
    return target


def _fsync_folder(folder: Path) -> None:
    """Flush the files to disk before the rename makes them the checkpoint."""
    for path in folder.iterdir():
        with open(path, "rb") as f:
            os.fsync(f.fileno())


def latest_checkpoint(directory: str | os.PathLike) -> Checkpoint | None:
    """The newest complete checkpoint under ``directory``, checksums verified; None if none.

    Raises ``CheckpointError`` if the newest one is damaged (a file changed after saving).
    Not in a notebook.

    >>> latest_checkpoint("checkpoints").epochs_done  # doctest: +SKIP
    2
    """
    root = Path(directory) / RESUME_FOLDER
    if not root.is_dir():
        return None
    folders = sorted((p for p in root.iterdir() if p.name.startswith("epoch-")), reverse=True)
    for folder in folders:
        try:
            state = json.loads((folder / _STATE).read_text())
        except (OSError, ValueError):
            continue  # no state.json: never completed (cannot happen with rename, but be safe)
        for name, expected in state.get("files", {}).items():
            if not (folder / name).is_file() or sha256(folder / name) != expected:
                raise CheckpointError(
                    f"{folder / name} is damaged or missing (its checksum does not match "
                    f"state.json). Delete {folder} to resume from an older checkpoint, or "
                    "pass resume=False to train from the start.")
        return Checkpoint(folder, state)
    return None


def restore_checkpoint(checkpoint: Checkpoint, model: keras.Model) -> None:
    """Load a checkpoint's weights and optimizer state into ``model`` (compiled, same kind).
    Not in a notebook.

    >>> restore_checkpoint(latest_checkpoint("checkpoints"), model)  # doctest: +SKIP
    """
    model.load_weights(str(checkpoint.folder / _WEIGHTS))
    optimizer = model.optimizer
    with model.distribute_strategy.scope():
        optimizer.build(model.trainable_variables)  # a fresh optimizer has no slots yet
    with np.load(checkpoint.folder / _OPTIMIZER, allow_pickle=False) as saved:
        values = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    variables = optimizer.variables
    if len(values) != len(variables) or any(
            tuple(v.shape) != a.shape for v, a in zip(variables, values)):
        raise CheckpointError(
            f"{checkpoint.folder} holds the optimizer state of a different model or optimizer "
            f"({len(values)} arrays, this one has {len(variables)}). Resume with the same model "
            "and compile settings, or pass resume=False to start over.")
    for variable, value in zip(variables, values):
        variable.assign(value)


# ------------------------------------------------------------------------------ fit_onecycle's extras
@dataclass
class TrainingExtras:
    """``fit_onecycle``'s extras, as Keras callbacks: the best weights (``ModelCheckpoint``), early
    stopping (``EarlyStopping``) and resume checkpoints (``ResumeSaver``), with what a resumed run
    carries over. Not in a notebook: ``fit_onecycle(checkpoint_dir=..., resume=...,
    early_stopping_patience=...)`` builds it.
    """

    callbacks: list
    done: Checkpoint | None = None  # the checkpoint a resumed run starts from
    best_path: Path | None = None
    stopper: keras.callbacks.EarlyStopping | None = None
    saver: ResumeSaver | None = None
    restore_best: bool = True

    @classmethod
    def start(cls, model: keras.Model, scheduler: OneCycleScheduler, run: dict, checkpoint_dir: str | Path | None,
              *, resume: bool, watch_val: bool, restore_best: bool, patience: int | None) -> "TrainingExtras":
        """Resume (or clear old checkpoints), then the callbacks in the order they must run."""
        done = start_or_resume(model, scheduler, checkpoint_dir, resume, run)
        extras = cls([], done, restore_best=restore_best)
        if checkpoint_dir is not None and watch_val:
            extras.best_path = Path(checkpoint_dir) / BEST_WEIGHTS
            extras.best_path.parent.mkdir(parents=True, exist_ok=True)
            val_losses = done.state["epochs"].get("val_loss", []) if done else []
            extras.callbacks.append(keras.callbacks.ModelCheckpoint(
                str(extras.best_path), monitor="val_loss", save_best_only=True, save_weights_only=True,
                initial_value_threshold=min(val_losses) if val_losses else None))
        if patience is not None:
            extras.stopper = keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=patience,
                restore_best_weights=restore_best and extras.best_path is None)  # else the file restores
            extras.callbacks.append(extras.stopper)
        if checkpoint_dir is not None:  # last: it saves what the callbacks before it decided
            extras.saver = ResumeSaver(checkpoint_dir, scheduler, run, done, extras.stopper)
            extras.callbacks.append(extras.saver)
        return extras

    @property
    def epochs_done(self) -> int:
        return self.done.epochs_done if self.done else 0

    @property
    def stopped_before(self) -> bool:
        """The resumed run had already stopped early: nothing left to train."""
        return bool(self.done and self.done.state.get("stopped_early"))

    def epochs_so_far(self) -> dict[str, list[float]]:
        return self.done.epoch_logs() if self.done else {}

    def say_interrupted(self) -> None:
        if self.saver is not None and self.saver.last is not None:
            print(f"Interrupted. {self.saver.last} holds the last finished epoch: call "
                  "fit_onecycle again with the same arguments and resume=True.")
        elif self.saver is not None:
            print("Interrupted before the first epoch finished: nothing to resume from yet.")

    def restore_best_weights(self, model: keras.Model) -> None:
        if self.best_path is not None and self.restore_best and self.best_path.exists():  # no file if
            model.load_weights(str(self.best_path))  # the validation loss was never finite

    def stopped_early(self) -> bool:
        return bool(self.stopper is not None and self.stopper.stopped_epoch > 0) or self.stopped_before


def start_or_resume(model: keras.Model, scheduler: OneCycleScheduler,
                    checkpoint_dir: str | Path | None, resume: bool, run: dict) -> Checkpoint | None:
    """Restore the latest checkpoint if resuming; else clear old resume checkpoints. Not in a notebook."""
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


class ResumeSaver(keras.callbacks.Callback):
    """At each epoch's end, save a resume checkpoint (``save_checkpoint``). Not in a notebook."""

    def __init__(self, directory: str | Path, scheduler: OneCycleScheduler, run: dict,
                 done: Checkpoint | None, stopper: keras.callbacks.EarlyStopping | None) -> None:
        super().__init__()
        self.directory, self.scheduler, self.run, self.stopper = directory, scheduler, run, stopper
        self.epochs = done.epoch_logs() if done else {}
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
