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

from helpers.backend import keras
from helpers.files import sha256, write_json

RESUME_FOLDER = "resume"
_WEIGHTS, _OPTIMIZER, _STATE = "weights.h5", "optimizer.npz", "state.json"


class CheckpointError(ValueError):
    """A resume checkpoint is missing, damaged, or belongs to another training run."""


@dataclass
class Checkpoint:
    """A complete checkpoint on disk: its folder and its ``state.json`` contents."""

    folder: Path
    state: dict[str, Any]

    @property
    def epochs_done(self) -> int:
        return int(self.state["epochs_done"])


def save_checkpoint(directory: str | os.PathLike, model: keras.Model,
                    state: dict[str, Any]) -> Path:
    """Write weights, optimizer state and ``state`` (needs ``epochs_done``) as one checkpoint.

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
        if target.exists():  # a checkpoint of the same epoch from an earlier run
            shutil.rmtree(target)
        os.rename(tmp, target)
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
