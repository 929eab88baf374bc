"""Predictor: predictions, a pickle-free all-or-nothing save, checked loading, and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import CLASS_NAMES

TEXTS = ["the doctor saw the patient", "render the polygon", "x", "god " * 200]
ROOT = Path(__file__).resolve().parents[1]
OFFLINE_ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


@pytest.fixture
def make_predictor(tiny_classifier, encoder):
    from helpers.predictor import get_predictor

    return lambda seed=0: get_predictor(tiny_classifier(seed=seed), encoder, CLASS_NAMES)


@pytest.fixture
def saved(make_predictor, tmp_path):
    """A predictor and the folder it was saved to."""
    predictor = make_predictor()
    return predictor, predictor.save(tmp_path / "predictor")


def run_python(*args: str) -> subprocess.CompletedProcess:
    # The same precision as this process (conftest: float32), so probabilities compare to 1e-6.
    env = {**OFFLINE_ENV, "HELPERS_PRECISION": os.environ.get("HELPERS_PRECISION", "auto")}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)


def test_predict_shapes_and_consistency(make_predictor):
    predictor = make_predictor()
    one = predictor.predict_proba(TEXTS[0])
    many = predictor.predict_proba(TEXTS)
    assert one.shape == (4,) and many.shape == (4, 4)
    np.testing.assert_allclose(many.sum(axis=1), 1, atol=1e-6)
    np.testing.assert_allclose(one, many[0], atol=1e-6)
    assert predictor.predict(TEXTS[0]) == CLASS_NAMES[int(one.argmax())]
    assert predictor.predict(TEXTS) == [CLASS_NAMES[i] for i in many.argmax(axis=1)]
    assert predictor.maxlen == 64 and predictor.class_names == CLASS_NAMES
    assert predictor.predict_proba([]).shape == (0, 4)


def test_probabilities_match_the_model_called_directly(make_predictor, encoder):
    from helpers.backend import tf

    predictor = make_predictor()
    batch = encoder.tokenizer(TEXTS, padding=True, truncation=True, max_length=64, return_tensors="tf")
    logits = predictor.model(dict(batch), training=False).logits
    np.testing.assert_allclose(predictor.predict_proba(TEXTS), tf.nn.softmax(logits).numpy(), atol=1e-5)


def test_wrong_number_of_class_names(tiny_classifier, encoder):
    from helpers.predictor import get_predictor

    with pytest.raises(ValueError, match="one unique name per output"):
        get_predictor(tiny_classifier(), encoder, ["a", "b"])


def test_round_trip_in_a_fresh_process(saved):
    predictor, folder = saved
    code = ("import json, sys; from helpers.predictor import load_predictor; "
            "p = load_predictor(sys.argv[1]); "
            "print(json.dumps({'names': p.class_names, 'maxlen': p.maxlen, "
            "'probs': p.predict_proba(json.loads(sys.argv[2])).tolist()}))")
    done = run_python("-c", code, str(folder), json.dumps(TEXTS))
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = json.loads(done.stdout)
    assert loaded["names"] == CLASS_NAMES and loaded["maxlen"] == 64
    np.testing.assert_allclose(loaded["probs"], predictor.predict_proba(TEXTS), atol=1e-6)


def test_head_and_tail_truncation_is_saved_with_the_predictor(tiny_classifier, encoder, tmp_path):
    from helpers.predictor import get_predictor, load_predictor
    from helpers.tokenizer import TextEncoder

    both = TextEncoder(encoder.tokenizer, maxlen=encoder.maxlen, tail=20)
    predictor = get_predictor(tiny_classifier(), both, CLASS_NAMES)
    loaded = load_predictor(predictor.save(tmp_path / "predictor"))
    assert loaded.encoder.tail == 20
    long = ["start " + "word " * 300 + "the very end"]
    np.testing.assert_allclose(loaded.predict_proba(long), predictor.predict_proba(long), atol=1e-6)


def test_saved_folder_has_no_pickles_and_a_complete_manifest(saved):
    _, folder = saved
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert {"predictor.json", "model/tf_model.h5", "model/config.json"} <= {
        p.relative_to(folder).as_posix() for p in files}
    for path in files:
        head = path.read_bytes()[:2]
        assert not (head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")), path
        assert path.suffix not in (".pkl", ".pickle", ".pkz"), path
    manifest = json.loads((folder / "predictor.json").read_text())
    written = {p.relative_to(folder).as_posix() for p in files}
    assert set(manifest["files"]) == written - {"predictor.json"}
    assert set(manifest["versions"]) == {"tensorflow", "transformers", "tokenizers", "helpers"}
    assert manifest["model"]["model_type"] == "bert" and manifest["class_names"] == CLASS_NAMES


def test_save_refuses_to_write_a_pickle(make_predictor, tmp_path, monkeypatch):
    predictor = make_predictor()
    real_save = predictor.encoder.save

    def save_with_pickle(directory):
        real_save(directory)
        (Path(directory) / "extra.bin").write_bytes(b"\x80\x04\x95 not really a pickle")

    monkeypatch.setattr(predictor.encoder, "save", save_with_pickle)
    with pytest.raises(RuntimeError, match="pickle"):
        predictor.save(tmp_path / "p")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_damaged_weights_give_a_clear_error(saved, damage):
    from helpers.predictor import PredictorLoadError, load_predictor

    _, folder = saved
    weights = folder / "model" / "tf_model.h5"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2] if damage == "truncate" else data[:-1] + b"?")
    with pytest.raises(PredictorLoadError, match="tf_model.h5 is corrupted"):
        load_predictor(folder)


def test_load_errors_say_what_is_wrong(saved, tmp_path):
    from helpers.predictor import PredictorLoadError, load_predictor

    _, folder = saved
    with pytest.raises(PredictorLoadError, match="No predictor folder"):
        load_predictor(tmp_path / "nowhere")
    manifest = json.loads((folder / "predictor.json").read_text())
    (folder / "predictor.json").write_text(json.dumps({**manifest, "format_version": 99}))
    with pytest.raises(PredictorLoadError, match="format version 99"):
        load_predictor(folder)
    (folder / "predictor.json").write_text(json.dumps({"name": "something else"}))
    with pytest.raises(PredictorLoadError, match="not written by helpers.predictor"):
        load_predictor(folder)
    (folder / "predictor.json").unlink()
    with pytest.raises(PredictorLoadError, match=r"not a saved predictor.*predictor\.save\(dir\)"):
        load_predictor(folder)


def test_missing_file_is_reported(saved):
    from helpers.predictor import PredictorLoadError, load_predictor

    _, folder = saved
    (folder / "tokenizer" / "tokenizer.json").unlink()
    with pytest.raises(PredictorLoadError, match="tokenizer/tokenizer.json is missing"):
        load_predictor(folder)


def test_saving_over_a_predictor_replaces_it(saved, make_predictor):
    from helpers.predictor import load_predictor

    _, folder = saved
    newer = make_predictor(seed=1)
    newer.save(folder)
    np.testing.assert_allclose(load_predictor(folder).predict_proba(TEXTS), newer.predict_proba(TEXTS),
                               atol=1e-6)
    assert [p.name for p in folder.parent.iterdir()] == ["predictor"]  # nothing left aside


@pytest.mark.parametrize("failing_step", ["manifest", "rename"])
def test_a_failed_save_keeps_the_old_predictor(saved, make_predictor, monkeypatch, failing_step):
    import helpers.predictor as module

    old, folder = saved
    if failing_step == "manifest":
        monkeypatch.setattr(module, "write_manifest", _raise_disk_full)
    else:
        real_rename = os.rename

        def rename(src, dst):  # moving the old one aside works, moving the new one in fails
            if ".saving-" in str(src):
                raise OSError("disk full")
            real_rename(src, dst)

        monkeypatch.setattr(module.os, "rename", rename)
    with pytest.raises((RuntimeError, OSError), match="disk full"):
        make_predictor(seed=1).save(folder)
    monkeypatch.undo()
    assert [p.name for p in folder.parent.iterdir()] == ["predictor"]  # no temporary folders
    np.testing.assert_allclose(module.load_predictor(folder).predict_proba(TEXTS),
                               old.predict_proba(TEXTS), atol=1e-6)


def _raise_disk_full(*args, **kwargs):
    raise RuntimeError("disk full")


def test_save_refuses_to_replace_a_folder_that_is_not_a_predictor(make_predictor, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="no saved predictor"):
        make_predictor().save(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_cli_prints_json_for_arguments_and_a_file(saved, tmp_path):
    predictor, folder = saved
    lines = tmp_path / "texts.txt"
    lines.write_text(f"{TEXTS[1]}\n\n{TEXTS[2]}\n", encoding="utf-8")
    done = run_python("-m", "helpers", "predict", str(folder), TEXTS[0], "--file", str(lines))
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(done.stdout)
    assert [r["text"] for r in results] == TEXTS[:3]  # arguments first, blank line skipped
    expected = predictor.predict_proba(TEXTS[:3])
    for result, probs in zip(results, expected):
        assert list(result["probabilities"]) == CLASS_NAMES
        np.testing.assert_allclose(list(result["probabilities"].values()), probs, atol=1e-6)
        assert result["label"] == CLASS_NAMES[int(probs.argmax())]


@pytest.mark.parametrize("problem", ["missing dir", "not a predictor", "empty file"])
def test_cli_errors_are_one_line_without_traceback(saved, tmp_path, problem):
    _, folder = saved
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n")
    args = {"missing dir": [str(tmp_path / "nope"), "text"],
            "not a predictor": [str(folder / "model"), "text"],
            "empty file": [str(folder), "--file", str(empty)]}[problem]
    done = run_python("-m", "helpers", "predict", *args)
    assert done.returncode != 0 and done.stdout == ""
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith("error: ")
