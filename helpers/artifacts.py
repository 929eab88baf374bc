"""What one notebook leaves for the next: the LR finder's curve, the trained predictor, plots.

Everything lives in the git-ignored ``artifacts/`` folder of ``helpers.paths.project_dir()``
(``$NOTEBOOK_ARTIFACTS`` moves it); the ``full`` mode uses it directly, ``quick`` and ``smoke`` use ``artifacts/quick/``
and ``artifacts/smoke/`` so a small run never overwrites the real one.

    >>> from helpers.artifacts import ensure_predictor
    >>> predictor = ensure_predictor(get_mode("quick"))   # loads 04's, or trains one now  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from helpers._files import update_json, write_json
from helpers._predictor_folder import MANIFEST
from helpers.paths import RESULTS_FILE, artifacts_root, mode_folder, predictor_folder, records_path, shown  # noqa: F401
from helpers.run import RunMode

TRAINING_NOTEBOOK = "04_one_cycle_training.ipynb"
LR_FINDER_NOTEBOOK = "03_lr_finder.ipynb"
# The settings an LR finder result depends on: a saved curve is reused only if they match.
_FINDER_KEYS = ("model", "maxlen", "batch_size", "lr_find_steps", "lr_find_maxlen", "padding", "seed", "remove",
                "precision")


def artifacts_dir(mode: RunMode) -> Path:
    """The folder this mode's results go to (created if missing).
    Taught in notebooks/07_predict_and_deploy.ipynb.

    >>> artifacts_dir(get_mode("smoke")).name
    'smoke'
    """
    folder = mode_folder(mode.name)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# ------------------------------------------------------------------------------ LR finder
def save_lr_find(result, mode: RunMode, n_train: int, seconds: float, settings=None) -> Path:
    """Keep an LR finder result (curve, settings, seconds) for the training notebook.
    Taught in notebooks/03_lr_finder.ipynb.

    >>> from helpers.run import get_mode
    >>> shown(save_lr_find(finder, get_mode("smoke"), len(train), seconds=95.0))
    'artifacts/smoke/lr_find.json'
    """
    path = artifacts_dir(mode) / "lr_find.json"
    write_json(path, {
        "settings": _finder_settings(settings or mode.settings, n_train), "seconds": round(float(seconds), 1),
        "lrs": result.lrs.tolist(), "losses": result.losses.tolist(), "stop_reason": result.stop_reason,
        "suggestions": result.suggestions,
    })
    return path


def load_lr_find(mode: RunMode, n_train: int, settings=None):
    """``(result, seconds)`` saved by the LR finder notebook for these settings, else ``None``.

    Says why when there is a file that does not fit (other model, maxlen, batch size...).
    ``settings`` (default: the mode's) are the training settings in use, e.g. ``chosen_settings(mode)``.
    Taught in notebooks/04_one_cycle_training.ipynb.

    >>> saved = load_lr_find(mode, len(train))  # doctest: +SKIP
    """
    from helpers.lr_finder import LRFinderResult, smooth

    path = artifacts_dir(mode) / "lr_find.json"
    if not path.is_file():
        return None
    try:
        saved = json.loads(path.read_text())
        if saved["settings"] != _finder_settings(settings or mode.settings, n_train):
            print(f"{shown(path)} was made with other settings; running the LR finder again.")
            return None
        losses = np.array(saved["losses"])
        return LRFinderResult(np.array(saved["lrs"]), losses, smooth(losses), saved["stop_reason"]), saved["seconds"]
    except (ValueError, KeyError, TypeError) as err:
        print(f"{shown(path)} is unreadable ({type(err).__name__}); running the LR finder again.")
        return None


def _finder_settings(run_settings, n_train: int) -> dict:
    settings = dataclasses.asdict(run_settings)
    return {**{key: settings[key] for key in _FINDER_KEYS}, "remove": list(settings["remove"]), "n_train": n_train}


# ------------------------------------------------------------------------------ predictor
def predictor_dir(mode: RunMode) -> Path:
    """Where the training notebook saves this mode's predictor.
    Taught in notebooks/04_one_cycle_training.ipynb.

    >>> shown(predictor_dir(get_mode("full")))
    'artifacts/predictor'
    """
    artifacts_dir(mode)
    return predictor_folder(mode.name)


def ensure_predictor(mode: RunMode):
    """The predictor the training notebook saved, if it was trained with this mode's settings;
    else (none there, or made with other settings) train one now and save it.

    In ``full`` mode training takes about a quarter of an hour on 2 CPU cores, so it says
    so first; run the training notebook once and every later notebook starts at once.
    Taught in notebooks/05_top_losses.ipynb and notebooks/06_lime_explanations.ipynb.

    >>> predictor = ensure_predictor(get_mode("smoke"))  # doctest: +SKIP
    """
    from helpers import full_run
    from helpers.predictor import load_predictor, read_manifest

    folder = predictor_dir(mode)
    settings = chosen_settings(mode)
    if (folder / MANIFEST).is_file():
        stale = _stale_settings(read_manifest(folder), settings)
        if not stale:
            predictor = load_predictor(folder)
            print(f"Loaded the predictor from {shown(folder)} (made by {TRAINING_NOTEBOOK}).")
            return predictor
        print(f"The predictor in {shown(folder)} was trained with other settings ({stale}) than the "
              f"{mode.name!r} mode's: training one now. Run {TRAINING_NOTEBOOK} again to make it there.")
    else:
        print(f"No trained predictor in {shown(folder)}: {TRAINING_NOTEBOOK} makes it. Training one now "
              f"with the {mode.name!r} settings ({_size(mode.train_size)} messages, "
              f"{settings.epochs} epoch(s), maxlen {settings.maxlen}).", flush=True)
    full_run.full_run(settings, evaluate_on="test", data=mode.load_data(), predictor_dir=folder, verbose=0)
    return load_predictor(folder)


def _stale_settings(manifest: dict, settings) -> str:
    """The settings a saved predictor was trained with that differ from ``settings``, as
    ``"maxlen 64 -> 32, ..."``; ``""`` if none. A predictor saved without its settings
    is checked on what its manifest shows (``maxlen``)."""
    from helpers.full_run import trained_with

    wanted = trained_with(settings, 0)["settings"]
    saved = (manifest.get("trained_with") or {}).get("settings") or {"maxlen": manifest.get("maxlen")}
    return ", ".join(f"{key} {saved[key]!r} -> {wanted.get(key)!r}" for key in saved
                     if saved[key] != wanted.get(key))


def _size(n: int | None) -> str:
    return "all 2,257" if n is None else f"{n:,}"


# ------------------------------------------------------------------------------ results
def save_figure(fig, name: str, mode: RunMode) -> Path:
    """Also write a figure to ``artifacts/plots/NAME.png``, for the run summary.
    Taught in notebooks/03_lr_finder.ipynb and notebooks/04_one_cycle_training.ipynb.

    >>> save_figure(history.plot_schedule(), "schedule", mode)  # doctest: +SKIP
    """
    folder = artifacts_dir(mode) / "plots"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def note_result(mode: RunMode, notebook: str, **numbers) -> None:
    """Record a notebook's headline numbers in ``artifacts/results.json``, read by the run summary.
    Taught in notebooks/04_one_cycle_training.ipynb.

    >>> from helpers.run import get_mode
    >>> note_result(get_mode("smoke"), "04_one_cycle_training", accuracy=0.95)
    >>> json.loads(Path("artifacts/smoke/results.json").read_text())
    {'04_one_cycle_training': {'accuracy': 0.95}}
    """
    update_json(artifacts_dir(mode) / RESULTS_FILE, notebook, numbers, merge=True)


# ------------------------------------------------------------------------------ choices
MODEL_NOTEBOOK = "02_model_selection.ipynb"
CHOICES_FILE = "choices.json"


@dataclasses.dataclass(frozen=True)
class Choice:
    """A value a later notebook uses, and where it came from (a default, the LR finder, or you).
    Not in a notebook.

    >>> print(Choice(8.7e-5, "the LR finder's valley suggestion"))
    8.7e-05 (from the LR finder's valley suggestion)
    """

    value: object
    source: str

    def __str__(self) -> str:
        return f"{self.value} (from {self.source})"


def save_choice(mode: RunMode, name: str, value, *, made_in: str, **context) -> Path:
    """Remember the reader's choice of ``name`` (e.g. from a widget) for the notebooks after this one.

    ``context`` (e.g. ``model=...`` for a learning rate) is kept with it: a choice is only
    reused where it still fits.
    Taught in notebooks/02_model_selection.ipynb and notebooks/03_lr_finder.ipynb.

    >>> from helpers.run import get_mode
    >>> shown(save_choice(get_mode("smoke"), "model", "minilm-l6", made_in=MODEL_NOTEBOOK))
    'artifacts/smoke/choices.json'
    """
    path = artifacts_dir(mode) / CHOICES_FILE
    choices = _read_choices(path)
    choices[name] = {"value": value, "made_in": made_in, **context}
    write_json(path, choices)
    return path


def load_choice(mode: RunMode, name: str) -> dict | None:
    """The saved choice of ``name`` (``{"value": ..., "made_in": ..., ...}``), or ``None``.
    Not in a notebook.

    >>> load_choice(get_mode("smoke"), "model")  # doctest: +SKIP
    {'value': 'minilm-l6', 'made_in': '02_model_selection.ipynb'}
    """
    return _read_choices(artifacts_dir(mode) / CHOICES_FILE).get(name)


def forget_choices(mode: RunMode) -> None:
    """Drop every saved choice of this mode: the notebooks go back to their defaults.
    Not in a notebook.
    """
    (artifacts_dir(mode) / CHOICES_FILE).unlink(missing_ok=True)


def _read_choices(path: Path) -> dict:
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except ValueError:
        print(f"{shown(path)} is unreadable; ignoring the saved choices.")
        return {}


def chosen_model(mode: RunMode) -> Choice:
    """The model to fine-tune: the reader's pick in notebook 02, else the mode's default.
    Taught in notebooks/02_model_selection.ipynb and notebooks/03_lr_finder.ipynb.

    >>> chosen_model(get_mode("full")).value  # with nothing picked
    'minilm-l6'
    """
    saved = load_choice(mode, "model")
    if saved:
        return Choice(saved["value"], f"your choice in {saved['made_in']}")
    return Choice(mode.settings.model, "the default, RunSettings.model")


def chosen_settings(mode: RunMode):
    """The mode's training settings with the reader's model choice applied, and that model's
    own recipe (``helpers.run.MODEL_RECIPES``: its pooling, its rate; in full mode its epochs
    too, while the quick and smoke modes keep their own sizes).
    Taught in notebooks/03_lr_finder.ipynb and notebooks/04_one_cycle_training.ipynb.

    >>> chosen_settings(get_mode("smoke")).maxlen
    32
    """
    from helpers.run import MODEL_RECIPES

    model = chosen_model(mode).value
    recipe = MODEL_RECIPES.get(model, {})
    if mode.name != "full":
        recipe = {k: v for k, v in recipe.items() if k not in ("maxlen", "epochs", "batch_size")}
    return dataclasses.replace(mode.settings, model=model, **recipe)


def chosen_lr(mode: RunMode, finder, settings) -> Choice:
    """The learning rate to train ``settings.model`` with, in this order: the reader's pick in
    notebook 03 (for this model), else what the recipe takes (``helpers.lr_finder.lr_choice``:
    a rate the settings fix, or the LR finder's suggestion).
    Taught in notebooks/03_lr_finder.ipynb and notebooks/04_one_cycle_training.ipynb.

    >>> chosen_lr(get_mode("full"), finder, chosen_settings(get_mode("full")))  # doctest: +SKIP
    Choice(value=8.1e-05, source="the LR finder's 'minimum_div_10' suggestion")
    """
    from helpers.lr_finder import lr_choice

    saved = load_choice(mode, "lr_max")
    if saved and saved.get("model") == settings.model:
        return Choice(float(saved["value"]), f"your choice in {saved['made_in']}")
    if saved:
        print(f"Your learning rate from {saved['made_in']} was chosen for {saved.get('model')!r}, "
              f"not {settings.model!r}: not using it.")
    lr, source = lr_choice(finder, settings)
    return Choice(float(lr), source.replace("the setting", f"the {mode.name!r} mode's setting"))
