"""Where this project's files go: the one place that decides the working directory.

Everything ``helpers`` writes or looks for by default (``artifacts/``, ``artifacts/records.json``,
``data/``, ``notebooks/``) is relative to ``project_dir()``, and everything run results go to is
under ``artifacts_root()`` (``$NOTEBOOK_ARTIFACTS`` moves it). ``project_dir()`` is:

1. ``$HELPERS_PROJECT_DIR``, when set;
2. the checkout this ``helpers`` was imported from (``make setup`` installs it editable,
   so inside the repository nothing changes, from whichever folder a notebook runs);
3. otherwise (a ``pip install``-ed package) the nearest folder, from the current directory
   upwards, that is a checkout of this project;
4. otherwise the current directory: never the Python installation.

    >>> from helpers.paths import project_dir
    >>> (project_dir() / "artifacts").name
    'artifacts'
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "HELPERS_PROJECT_DIR"
ARTIFACTS_ENV_VAR = "NOTEBOOK_ARTIFACTS"
RECORDS_FILE = "records.json"  # a user's run records, under artifacts_root()
RESULTS_FILE = "results.json"  # the notebooks' headline numbers, one file per mode folder
PREDICTOR_FOLDER = "predictor"  # where the training notebook / the full run saves the predictor
PROJECT_NAME = "tf2-text-classification"  # [project] name in pyproject.toml


def project_dir(directory: str | os.PathLike | None = None) -> Path:
    """The folder that holds (or will hold) ``artifacts/`` and ``data/``, as an absolute path.

    ``directory`` wins over everything else; then the order in the module's docstring.
    Not in a notebook.

    >>> project_dir("/srv/classifier")
    PosixPath('/srv/classifier')
    """
    chosen = directory or os.environ.get(ENV_VAR)
    if chosen:
        return Path(chosen).expanduser().resolve()
    source = Path(__file__).resolve().parent.parent
    if is_checkout(source):
        return source
    here = Path.cwd().resolve()
    return next((folder for folder in (here, *here.parents) if is_checkout(folder)), here)


def is_checkout(folder: Path) -> bool:
    """True for a checkout of this project: its ``pyproject.toml`` names it, ``helpers/`` beside it.
    Not in a notebook.

    >>> is_checkout(Path("/"))
    False
    """
    pyproject = folder / "pyproject.toml"
    try:
        text = pyproject.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return f'name = "{PROJECT_NAME}"' in text and (folder / "helpers" / "__init__.py").is_file()


def artifacts_root() -> Path:
    """``$NOTEBOOK_ARTIFACTS``, else ``artifacts/`` in the project folder; read at call time.
    Not in a notebook.

    >>> artifacts_root().name
    'artifacts'
    """
    return Path(os.environ.get(ARTIFACTS_ENV_VAR) or project_dir() / "artifacts")


def mode_folder(mode_name: str) -> Path:
    """Where a run mode's results go: ``artifacts/`` for ``full``, ``artifacts/<mode>/`` else
    (a small run never overwrites the real one). Not created here.
    Not in a notebook.

    >>> mode_folder("smoke").relative_to(artifacts_root()).as_posix()
    'smoke'
    """
    return artifacts_root() if mode_name == "full" else artifacts_root() / mode_name


def predictor_folder(mode_name: str = "full") -> Path:
    """Where the training notebook (and ``python -m helpers.full_run``) saves the predictor.
    Not in a notebook.

    >>> shown(predictor_folder())
    'artifacts/predictor'
    """
    return mode_folder(mode_name) / PREDICTOR_FOLDER


def records_path() -> Path:
    """Where a user's run records go: ``artifacts/records.json`` (never a tracked file).
    Not in a notebook.

    >>> shown(records_path())
    'artifacts/records.json'
    """
    return artifacts_root() / RECORDS_FILE


def shown(path: str | os.PathLike) -> str:
    """A path as it may appear in a notebook's output: relative to the repository, never /home/...
    Taught in notebooks/03_lr_finder.ipynb and notebooks/04_one_cycle_training.ipynb.

    >>> shown(project_dir() / "artifacts" / "predictor")
    'artifacts/predictor'
    """
    path = Path(path).resolve()
    try:
        return str(path.relative_to(project_dir()))
    except ValueError:
        return path.name if path.is_absolute() else str(path)
