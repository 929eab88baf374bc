"""Two worker processes train together with MultiWorkerMirroredStrategy (TF_CONFIG on 127.0.0.1).

Both must end with identical weights, and match one process that trains on the same global
batches without a strategy: within ``TOLERANCE`` (summing two half-batch gradients instead
of one full-batch gradient changes the float32 rounding, and Adam carries it on). Dropout
is off so that both runs draw no random numbers while training.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import CLASS_NAMES, make_toy_texts, tiny_config

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE = 1e-6  # largest absolute weight difference allowed against the one-process run (measured: 7e-9)
ARGS = ["--maxlen", "32", "--batch-size", "16", "--epochs", "2", "--lr-max", "1e-3", "--seed", "0"]


def free_ports(n: int) -> list[int]:
    """``n`` TCP ports free on 127.0.0.1 right now."""
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.fixture(scope="module")
def tiny_setup(tmp_path_factory, encoder):
    """A tiny BERT without dropout saved as a model folder, and the toy task as a CSV."""
    from helpers.model import build_from_config

    folder = tmp_path_factory.mktemp("cluster")
    model = build_from_config(tiny_config(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0), seed=0)
    model.save_pretrained(str(folder / "model"))
    encoder.tokenizer.save_pretrained(str(folder / "model"))
    texts, labels = make_toy_texts()
    import pandas as pd

    pd.DataFrame({"text": texts, "label": [CLASS_NAMES[i] for i in labels]}).to_csv(folder / "toy.csv", index=False)
    return folder


def launch(folder: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("TF_CONFIG", None)
    return subprocess.Popen([sys.executable, "-m", "helpers.cluster", "--model", str(folder / "model"),
                             "--data", str(folder / "toy.csv"), *ARGS, *extra], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen) -> dict:
    try:
        out, err = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def weights(path: Path) -> list[np.ndarray]:
    with np.load(path) as saved:
        return [saved[key] for key in sorted(saved.files)]


def test_two_workers_train_like_one_process(tiny_setup):
    folder = tiny_setup
    workers = ",".join(f"127.0.0.1:{port}" for port in free_ports(2))
    procs = [launch(folder, "--workers", workers, "--index", str(i), "--weights-to", str(folder / f"w{i}.npz"),
                    "--out", str(folder / "predictor") if i == 0 else "")
             for i in range(2)]
    single = launch(folder, "--single", "--weights-to", str(folder / "single.npz"), "--out", "")
    results = [finish(p) for p in procs]
    reference = finish(single)

    assert [r["replicas"] for r in results] == [2, 2] and reference["replicas"] == 1
    assert len(results[0]["losses"]) == len(reference["losses"]) == 10  # 80 texts / 16, 2 epochs
    w0, w1, ws = weights(folder / "w0.npz"), weights(folder / "w1.npz"), weights(folder / "single.npz")
    assert all(np.array_equal(a, b) for a, b in zip(w0, w1)), "the two workers ended with different weights"
    gap = max(float(np.abs(a - b).max()) for a, b in zip(w0, ws))
    moved = max(float(np.abs(a - b).max()) for a, b in zip(ws, weights_before(folder)))
    print(f"largest weight difference to one process: {gap:.2e}; largest change by training: {moved:.2e}")
    assert gap < TOLERANCE < moved, (gap, moved)  # equal to the one-process run; and it did train
    np.testing.assert_allclose(results[0]["losses"], reference["losses"], rtol=1e-3)
    assert (folder / "predictor" / "predictor.json").is_file()  # the chief saved the predictor


def weights_before(folder: Path) -> list[np.ndarray]:
    """The tiny model's weights before training, in the same order as ``model.get_weights()``."""
    from helpers.model import load_classifier

    return load_classifier(str(folder / "model"), CLASS_NAMES, compile=False).get_weights()


def test_bad_cluster_arguments_are_explained():
    from helpers.cluster import tf_config

    with pytest.raises(ValueError, match="host:port"):
        tf_config(["localhost"], 0)
    with pytest.raises(ValueError, match="between 0 and 1"):
        tf_config(["a:1", "b:2"], 2)
