"""The package installed from a wheel works from any folder and never writes into the installation.

The wheel is built from a copy of the sources, installed (not editable) into a fresh
virtual environment, and run from a folder outside the repository. The heavy
dependencies (TensorFlow, transformers...) are not installed again: a ``.pth`` file lets
the fresh environment see this project's ``.venv`` packages, after its own. ``.pth``
files in that folder are not processed, so the project's editable ``helpers`` stays invisible.
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

import pytest

from helpers.paths import ENV_VAR, project_dir

ROOT = Path(__file__).resolve().parents[1]
OFFLINE_ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONDONTWRITEBYTECODE": "0"}
OFFLINE_ENV.pop(ENV_VAR, None)
OFFLINE_ENV.pop("NOTEBOOK_ARTIFACTS", None)
OFFLINE_ENV.pop("PYTHONPATH", None)


def test_inside_the_repository_the_checkout_is_the_project_folder(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.chdir(ROOT / "notebooks")  # where a notebook's kernel starts
    assert project_dir() == ROOT


def test_the_variable_and_the_argument_choose_the_folder(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "elsewhere"))
    assert project_dir() == tmp_path / "elsewhere"
    assert project_dir(tmp_path / "given") == tmp_path / "given"


def build_wheel(out: Path) -> Path:
    """A wheel built from a copy of the sources (the working tree gets no build/ folder)."""
    src = out / "src"
    shutil.copytree(ROOT / "helpers", src / "helpers", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    # pip fetches the build backend (setuptools) from the package registry, as any user's pip would.
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(src)],
                   check=True, capture_output=True, timeout=300)
    (wheel,) = out.glob("tf2_text_classification-*.whl")
    return wheel


def fresh_venv(folder: Path, wheel: Path) -> Path:
    """A new venv holding only the wheel (installed with this venv's pip); returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=120)
    python = folder / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                    "--no-index", str(wheel)], check=True, capture_output=True, timeout=300)
    purelib = Path(subprocess.check_output([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                           text=True).strip())
    (purelib / "project-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return python


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and modification time."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file()}


USER_SCRIPT = textwrap.dedent("""
    import json, sys
    import helpers
    from helpers.artifacts import artifacts_dir, note_result, records_path
    from helpers.data import load_newsgroups
    from helpers.full_run import save_record
    from helpers.run import get_mode
    from helpers.paths import project_dir

    save_record({"accuracy": 0.5}, "full_run")
    note_result(get_mode("smoke"), "01_data", messages=32)
    try:
        load_newsgroups(download=False)
        corpus = "found"
    except FileNotFoundError as err:
        corpus = str(err)
    print(json.dumps({"helpers": helpers.__file__, "project": str(project_dir()),
                      "records": str(records_path()), "smoke": str(artifacts_dir(get_mode("smoke"))),
                      "corpus": corpus}))
""")


@pytest.mark.slow
def test_wheel_in_a_fresh_venv_writes_under_the_current_folder_only(tmp_path, tiny_classifier, encoder):
    from helpers.predictor import get_predictor

    wheel = build_wheel(tmp_path / "wheel")
    venv = tmp_path / "venv"
    python = fresh_venv(venv, wheel)
    predictor_dir = tmp_path / "saved"
    get_predictor(tiny_classifier(), encoder, ["a", "b", "c", "d"]).save(predictor_dir)
    work = tmp_path / "work"
    work.mkdir()
    before = snapshot(venv)

    env = {**OFFLINE_ENV, "NEWSGROUPS_ARCHIVE": ""}
    ran = subprocess.run([str(python), "-c", USER_SCRIPT], cwd=work, env=env, capture_output=True,
                         text=True, timeout=600)
    assert ran.returncode == 0, ran.stderr[-3000:]
    out = json.loads(ran.stdout.strip().splitlines()[-1])
    assert Path(out["helpers"]).is_relative_to(venv), out["helpers"]  # the wheel, not the checkout
    assert out["project"] == str(work)
    assert out["records"] == str(work / "artifacts" / "records.json")
    assert out["smoke"] == str(work / "artifacts" / "smoke")
    assert json.loads((work / "artifacts" / "records.json").read_text()) == {"full_run": {"accuracy": 0.5}}
    assert str(work / "data" / "20news-bydate.tar.gz") in out["corpus"]  # data/ of the current folder

    cli = subprocess.run([str(venv / "bin" / "helpers"), "predict", str(predictor_dir), "a text"], cwd=work,
                         env=env, capture_output=True, text=True, timeout=600)
    assert cli.returncode == 0, cli.stderr[-3000:]
    assert json.loads(cli.stdout)[0]["label"] in {"a", "b", "c", "d"}

    after = snapshot(venv)
    assert after == before, sorted(set(after.items()) ^ set(before.items()))[:10]
    assert sorted(p.name for p in work.iterdir()) == ["artifacts"]
