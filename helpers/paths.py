"""Where this project's files go: the one place that decides the working directory.

Everything ``helpers`` writes or looks for by default (``artifacts/``, ``artifacts/records.json``,
``data/``, ``notebooks/``) is relative to ``project_dir()``:

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
PROJECT_NAME = "tf2-text-classification"  # [project] name in pyproject.toml


def project_dir(directory: str | os.PathLike | None = None) -> Path:
    """The folder that holds (or will hold) ``artifacts/`` and ``data/``, as an absolute path.

    ``directory`` wins over everything else; then the order in the module's docstring.

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

    >>> is_checkout(Path("/"))
    False
    """
    pyproject = folder / "pyproject.toml"
    try:
        text = pyproject.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return f'name = "{PROJECT_NAME}"' in text and (folder / "helpers" / "__init__.py").is_file()
