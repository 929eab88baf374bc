"""Safety: nothing a user or an archive supplies is unpickled or run as code.

- pickles: only scikit-learn's .pkz that this project had written, checked byte for byte;
- trust_remote_code is never enabled, and a model folder asking for it is refused;
- archive members that would land outside the target folder are refused;
- saved predictors hold weights, JSON and text only, and loading refuses anything else.
(More archive cases: tests/test_data.py::test_malicious_archive_is_refused.)
"""

from __future__ import annotations

import ast
import io
import json
import pickle
import tarfile
import zlib
from pathlib import Path

import pytest

from conftest import CLASS_NAMES, tiny_config

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "helpers").glob("*.py"))


def calls(name: str):
    """(file, line, ast.Call) for every call of an attribute or function called ``name``."""
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called == name:
                    yield path.name, node.lineno, node


class Trap:
    """Unpickling this touches a flag file: proof that something was unpickled."""

    def __init__(self, flag: Path) -> None:
        self.flag = flag

    def __reduce__(self):
        return (Path.touch, (self.flag,))


# ------------------------------------------------------------------------------ pickles


def test_only_one_place_unpickles_and_it_checks_the_bytes_first():
    unpicklers = [(f, line) for name in ("loads", "load", "Unpickler")
                  for f, line, node in calls(name)
                  if isinstance(node.func, ast.Attribute)
                  and getattr(node.func.value, "id", "") in ("pickle", "joblib", "dill", "torch")]
    assert [f for f, _ in unpicklers] == ["_archive.py"]  # _archive._read_trusted_pkz, nowhere else
    for f, line, node in calls("load"):
        if getattr(node.func, "value", None) is not None and getattr(node.func.value, "id", "") == "np":
            flags = {k.arg: getattr(k.value, "value", None) for k in node.keywords}
            assert flags.get("allow_pickle") is False, f"{f}:{line} np.load without allow_pickle=False"
    for forbidden in ("eval", "exec"):
        assert not [c for c in calls(forbidden) if isinstance(c[2].func, ast.Name)], forbidden


def test_a_pkz_swapped_after_the_check_is_not_unpickled(tmp_path):
    import helpers._archive as data
    from helpers._files import write_json

    flag = tmp_path / "unpickled.flag"
    good = zlib.compress(pickle.dumps({"train": "texts"}))
    pkz = tmp_path / "20news-bydate_py3.pkz"
    pkz.write_bytes(good)
    write_json(tmp_path / data._PKZ_RECORD, {"path": str(pkz), "sha256": data.sha256(pkz)})
    pkz.write_bytes(zlib.compress(pickle.dumps(Trap(flag))))  # swapped in between
    with pytest.raises(ValueError, match="changed after this project wrote it; delete it"):
        data._read_trusted_pkz(pkz, tmp_path)
    assert not flag.exists()


# ------------------------------------------------------------------------------ remote code


def test_trust_remote_code_is_always_passed_as_false():
    loaders = [(f, line, node) for name in ("from_pretrained", "from_config")
               for f, line, node in calls(name)]
    assert len(loaders) >= 5
    for f, line, node in loaders:
        flags = {k.arg: getattr(k.value, "value", "not a constant") for k in node.keywords}
        assert flags.get("trust_remote_code") is False, f"{f}:{line} lacks trust_remote_code=False"


@pytest.fixture
def custom_code_model(tmp_path, encoder):
    """A model folder whose config asks to run its own module, which would leave a flag."""
    folder = tmp_path / "custom"
    tiny_config().save_pretrained(folder)
    encoder.save(folder)
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "evil.EvilConfig",
                          "TFAutoModelForSequenceClassification": "evil.EvilModel"}
    (folder / "config.json").write_text(json.dumps(config))
    flag = tmp_path / "ran.flag"
    (folder / "evil.py").write_text(f"from pathlib import Path\nPath({str(flag)!r}).touch()\n")
    return folder, flag


def test_model_folder_asking_for_remote_code_is_refused(custom_code_model):
    from helpers.model import ModelNotAvailableError, classifier_config, load_classifier, resolve_model
    from helpers.tokenizer import TextEncoder

    folder, flag = custom_code_model
    for load in (lambda: load_classifier(str(folder), ["a", "b"]),
                 lambda: classifier_config(resolve_model(str(folder)), ["a", "b"]),
                 lambda: TextEncoder.from_model(str(folder))):
        with pytest.raises(ModelNotAvailableError, match="auto_map.*never enables trust_remote_code"):
            load()
    assert not flag.exists()


def test_transformers_never_runs_the_folder_code_with_trust_remote_code_false(custom_code_model):
    """Belt and braces: even past our check, trust_remote_code=False keeps transformers to
    its own classes (here BertConfig) and never imports the folder's module."""
    from helpers.backend import AutoConfig

    folder, flag = custom_code_model
    assert type(AutoConfig.from_pretrained(folder, trust_remote_code=False)).__name__ == "BertConfig"
    assert not flag.exists()


# ------------------------------------------------------------------------------ archives


def tar_with(path: Path, *members: tuple[tarfile.TarInfo, bytes | None]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, payload in members:
            if payload is not None:
                info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload) if payload is not None else None)
    return path


def member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info


@pytest.mark.parametrize("kind", ["through-symlinked-folder", "device", "fifo", "backslash-dotdot"])
def test_archive_members_that_could_escape_are_refused(tmp_path, kind):
    from helpers.data import load_newsgroups

    outside = tmp_path / "outside"
    outside.mkdir()
    members = {
        # a link to a folder outside, then a file "inside" that link
        "through-symlinked-folder": [(member("20news-bydate-train/x", tarfile.SYMTYPE,
                                             str(outside)), None),
                                     (member("20news-bydate-train/x/evil.txt"), b"pwned")],
        "device": [(member("20news-bydate-train/dev", tarfile.CHRTYPE), None)],
        "fifo": [(member("20news-bydate-train/pipe", tarfile.FIFOTYPE), None)],
        "backslash-dotdot": [(member("20news-bydate-train\\..\\..\\evil.txt"), b"pwned")],
    }[kind]
    archive = tar_with(tmp_path / "evil.tar.gz", (member("20news-bydate-train", tarfile.DIRTYPE), None),
                       (member("20news-bydate-test", tarfile.DIRTYPE), None), *members)
    with pytest.raises(ValueError, match="Refusing to unpack .* unsafe member"):
        load_newsgroups(["sci.med"], archive=archive, cache_dir=tmp_path / "cache")
    assert list(outside.iterdir()) == []
    assert not [p for p in (tmp_path / "cache").iterdir() if p.is_dir()]


# ------------------------------------------------------------------------------ predictors


@pytest.fixture
def saved(tiny_classifier, encoder, tmp_path):
    from helpers.predictor import get_predictor

    return get_predictor(tiny_classifier(), encoder, CLASS_NAMES).save(tmp_path / "predictor")


def test_saved_predictor_holds_only_weights_json_and_text(saved):
    import h5py

    from helpers.predictor import is_pickle

    files = [p for p in saved.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} <= {".json", ".txt", ".h5"}
    assert not [p for p in files if is_pickle(p)]
    for path in (p for p in files if p.suffix == ".json"):
        content = json.loads(path.read_text())
        assert "auto_map" not in content if isinstance(content, dict) else True
    with h5py.File(saved / "model" / "tf_model.h5", "r") as h5:
        # weights only: no Keras model config, which could hold a Lambda layer's bytecode
        assert "model_config" not in h5.attrs and "training_config" not in h5.attrs
        assert all(isinstance(h5[k], h5py.Group) for k in h5)


@pytest.mark.parametrize("intruder", ["model/extra.pkl", "model/modeling_evil.py"])
def test_loading_refuses_pickles_and_code_even_in_a_consistent_manifest(saved, intruder):
    from helpers._files import sha256
    from helpers.predictor import MANIFEST, PredictorLoadError, load_predictor

    path = saved / intruder
    path.write_bytes(pickle.dumps({"x": 1}) if path.suffix == ".pkl" else b"print('hi')\n")
    manifest = json.loads((saved / MANIFEST).read_text())
    manifest["files"][intruder] = sha256(path)  # as a careful attacker would
    (saved / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(PredictorLoadError, match=f"{Path(intruder).name} is a pickle or Python code"):
        load_predictor(saved)


def test_loading_refuses_a_config_that_asks_for_remote_code(saved):
    from helpers._files import sha256
    from helpers.model import ModelNotAvailableError
    from helpers.predictor import MANIFEST, load_predictor

    config_path = saved / "model" / "config.json"
    config = json.loads(config_path.read_text())
    config["auto_map"] = {"TFAutoModelForSequenceClassification": "evil.Model"}
    config_path.write_text(json.dumps(config))
    manifest = json.loads((saved / MANIFEST).read_text())
    manifest["files"]["model/config.json"] = sha256(config_path)
    (saved / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ModelNotAvailableError, match="never enables trust_remote_code"):
        load_predictor(saved)
