"""What one notebook leaves for the next: the LR finder's curve, the trained predictor, plots.

Everything lives in the git-ignored ``artifacts/`` folder of ``helpers.paths.project_dir()``
(``$NOTEBOOK_ARTIFACTS`` moves it); the ``full`` mode uses it directly, ``quick`` and ``smoke`` use ``artifacts/quick/``
and ``artifacts/smoke/`` so a small run never overwrites the real one.

    >>> from helpers.artifacts import ensure_predictor
    >>> predictor = ensure_predictor(get_mode("quick"))   # loads 04's, or trains one now
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np

from helpers.files import update_json, write_json
from helpers.modes import RunMode
from helpers.paths import project_dir

ENV_VAR = "NOTEBOOK_ARTIFACTS"
TRAINING_NOTEBOOK = "04_one_cycle_training.ipynb"
LR_FINDER_NOTEBOOK = "03_lr_finder.ipynb"
# The settings an LR finder result depends on: a saved curve is reused only if they match.
_FINDER_KEYS = ("model", "maxlen", "batch_size", "lr_find_steps", "padding", "seed", "remove")


def artifacts_root() -> Path:
    """``$NOTEBOOK_ARTIFACTS``, else ``artifacts/`` in the project folder (``helpers.paths``).

    >>> artifacts_root().name
    'artifacts'
    """
    return Path(os.environ.get(ENV_VAR) or project_dir() / "artifacts")


def records_path() -> Path:
    """Where a user's run records go: ``artifacts/records.json`` (never a tracked file).

    >>> shown(records_path())
    'artifacts/records.json'
    """
    return artifacts_root() / "records.json"


def artifacts_dir(mode: RunMode) -> Path:
    """The folder this mode's results go to (created if missing).

    >>> artifacts_dir(get_mode("smoke")).name
    'smoke'
    """
    base = artifacts_root()
    folder = base if mode.name == "full" else base / mode.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def shown(path: Path) -> str:
    """A path as it may appear in a notebook's output: relative to the repository, never /home/...

    >>> shown(project_dir() / "artifacts" / "predictor")
    'artifacts/predictor'
    """
    path = Path(path).resolve()
    try:
        return str(path.relative_to(project_dir()))
    except ValueError:
        return path.name if path.is_absolute() else str(path)


# ------------------------------------------------------------------------------ LR finder
def save_lr_find(result, mode: RunMode, n_train: int, seconds: float) -> Path:
    """Keep an LR finder result (curve, settings, seconds) for the training notebook.

    >>> save_lr_find(finder, mode, len(train), seconds=95.0)  # doctest: +SKIP
    """
    path = artifacts_dir(mode) / "lr_find.json"
    write_json(path, {
        "settings": _finder_settings(mode, n_train), "seconds": round(float(seconds), 1),
        "lrs": result.lrs.tolist(), "losses": result.losses.tolist(), "stop_reason": result.stop_reason,
        "suggestions": result.suggestions,
    })
    return path


def load_lr_find(mode: RunMode, n_train: int):
    """``(result, seconds)`` saved by the LR finder notebook for these settings, else ``None``.

    Says why when there is a file that does not fit (other maxlen, batch size...).

    >>> saved = load_lr_find(mode, len(train))  # doctest: +SKIP
    """
    from helpers.schedule import LRFinderResult, smooth

    path = artifacts_dir(mode) / "lr_find.json"
    if not path.is_file():
        return None
    try:
        saved = json.loads(path.read_text())
        if saved["settings"] != _finder_settings(mode, n_train):
            print(f"{shown(path)} was made with other settings; running the LR finder again.")
            return None
        losses = np.array(saved["losses"])
        return LRFinderResult(np.array(saved["lrs"]), losses, smooth(losses), saved["stop_reason"]), saved["seconds"]
    except (ValueError, KeyError, TypeError) as err:
        print(f"{shown(path)} is unreadable ({type(err).__name__}); running the LR finder again.")
        return None


def _finder_settings(mode: RunMode, n_train: int) -> dict:
    settings = dataclasses.asdict(mode.settings)
    return {**{key: settings[key] for key in _FINDER_KEYS}, "remove": list(settings["remove"]), "n_train": n_train}


# ------------------------------------------------------------------------------ predictor
def predictor_dir(mode: RunMode) -> Path:
    """Where the training notebook saves this mode's predictor.

    >>> shown(predictor_dir(get_mode("full")))
    'artifacts/predictor'
    """
    return artifacts_dir(mode) / "predictor"


def ensure_predictor(mode: RunMode):
    """The predictor the training notebook saved; if there is none, train one now and save it.

    In ``full`` mode training takes about a quarter of an hour on 2 CPU cores, so it says
    so first; run the training notebook once and every later notebook starts at once.

    >>> predictor = ensure_predictor(get_mode("smoke"))
    """
    from helpers.full_run import full_run
    from helpers.predictor import load_predictor

    folder = predictor_dir(mode)
    if (folder / "predictor.json").is_file():
        predictor = load_predictor(folder)
        print(f"Loaded the predictor from {shown(folder)} (made by {TRAINING_NOTEBOOK}).")
        return predictor
    print(f"No trained predictor in {shown(folder)}: {TRAINING_NOTEBOOK} makes it. Training one now "
          f"with the {mode.name!r} settings ({_size(mode.train_size)} messages, "
          f"{mode.settings.epochs} epoch(s), maxlen {mode.settings.maxlen}).", flush=True)
    full_run(mode.settings, evaluate_on="test", data=mode.load_data(), predictor_dir=folder, verbose=0)
    return load_predictor(folder)


def _size(n: int | None) -> str:
    return "all 2,257" if n is None else f"{n:,}"


# ------------------------------------------------------------------------------ results
def save_figure(fig, name: str, mode: RunMode) -> Path:
    """Also write a figure to ``artifacts/plots/NAME.png``, for the run summary.

    >>> save_figure(history.plot_schedule(), "schedule", mode)  # doctest: +SKIP
    """
    folder = artifacts_dir(mode) / "plots"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def note_result(mode: RunMode, notebook: str, **numbers) -> None:
    """Record a notebook's headline numbers in ``artifacts/results.json``, read by the run summary.

    >>> note_result(mode, "04_one_cycle_training", accuracy=0.95)  # doctest: +SKIP
    """
    update_json(artifacts_dir(mode) / "results.json", notebook, numbers, merge=True)
