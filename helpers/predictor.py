"""A trained classifier you can call on raw text, save to a folder, and load back anywhere.

    >>> from helpers.predictor import get_predictor, load_predictor
    >>> predictor = get_predictor(model, encoder, train.class_names)
    >>> predictor.predict("My GPU renders polygons too slowly")
    'comp.graphics'
    >>> predictor.save("artifacts/newsgroups")           # later, in another process:
    >>> load_predictor("artifacts/newsgroups").predict_proba(["The doctor said..."]).shape
    (1, 4)

A saved predictor is a folder with no pickles in it (pickles run code when loaded):
``model/`` (``save_pretrained``: config.json, tf_model.h5), ``tokenizer/`` and
``predictor.json`` (class names, maxlen, library versions, every file's sha256).
TensorFlow is imported only once a model is needed, so a bad folder fails in a blink.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from helpers.files import sha256

if TYPE_CHECKING:
    from helpers.tokenizer import TextEncoder

FORMAT = "helpers.predictor"
FORMAT_VERSION = 1
MANIFEST = "predictor.json"
PROGRESS_FROM = 500  # predict_proba shows a progress bar from this many texts on
_PICKLE_SUFFIXES = (".pkl", ".pickle", ".pkz")
_PICKLE_HEADERS = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")  # PROTO opcode + version


class PredictorLoadError(ValueError):
    """A folder could not be loaded as a predictor; the message says why and what to do."""


class Predictor:
    """A model, its tokenizer and class names: text in, class names or probabilities out.

    >>> predictor = Predictor(model, encoder, ["neg", "pos"])
    >>> predictor.predict(["great film", "dull"])
    ['pos', 'neg']
    """

    def __init__(self, model, encoder: TextEncoder, class_names: Sequence[str], *,
                 source: str | None = None, batch_size: int = 32) -> None:
        names = list(class_names)
        num_labels = model.config.num_labels
        if len(names) != num_labels or len(set(names)) != len(names):
            raise ValueError(f"Got class names {names!r} for a model with {num_labels} outputs: "
                             "give one unique name per output, in the order of the labels.")
        self.model, self.encoder, self.class_names = model, encoder, names
        self.batch_size = int(batch_size)
        self.source = source or getattr(model.config, "name_or_path", "") or "unknown"
        model.config.id2label = dict(enumerate(names))  # so the saved config.json has them too
        model.config.label2id = {name: i for i, name in enumerate(names)}

    @property
    def maxlen(self) -> int:
        """How many tokens of each text the model reads; the rest is cut off."""
        return self.encoder.maxlen

    def __repr__(self) -> str:
        return (f"Predictor({self.model.config.model_type}, {len(self.class_names)} classes, "
                f"maxlen={self.maxlen}, source={self.source!r})")

    def predict_proba(self, texts: str | Sequence[str], *,
                      progress: bool | None = None) -> np.ndarray:
        """Class probabilities: shape ``(classes,)`` for one text, ``(n, classes)`` for a list.

        >>> predictor.predict_proba("the patient's fever").round(2)
        array([0.01, 0.02, 0.95, 0.02], dtype=float32)
        """
        from helpers.checks import check_texts
        from helpers.inspection import class_probabilities

        if isinstance(texts, str):
            return self.predict_proba([texts], progress=False)[0]
        texts = check_texts(texts, where="predict", allow_none=True)  # empty strings classify too
        if not texts:  # nothing in, nothing out
            return np.zeros((0, len(self.class_names)), dtype=np.float32)
        if progress is None:
            progress = len(texts) >= PROGRESS_FROM
        probabilities = class_probabilities(self.model, self.encoder, texts,
                                            batch_size=self.batch_size, progress=progress)
        return probabilities.astype(np.float32)

    def predict(self, texts: str | Sequence[str], *,
                progress: bool | None = None) -> str | list[str]:
        """The most probable class name: one name for one text, a list for a list.

        >>> predictor.predict(["the patient's fever", "ray tracing"])
        ['sci.med', 'comp.graphics']
        """
        probs = self.predict_proba(texts, progress=progress)
        if probs.ndim == 1:
            return self.class_names[int(probs.argmax())]
        return [self.class_names[i] for i in probs.argmax(axis=1)]

    def save(self, directory: str | os.PathLike) -> Path:
        """Write model, tokenizer and ``predictor.json`` to ``directory``, all or nothing.

        All goes to a temporary sibling folder, renamed into place when complete; a
        predictor already there is deleted only after that, so a failed save keeps it.

        >>> predictor.save("artifacts/newsgroups")
        PosixPath('artifacts/newsgroups')
        """
        target = Path(directory)
        _recover_interrupted_save(target)
        _check_replaceable(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{target.name}.saving-{uuid.uuid4().hex[:8]}"
        try:
            tmp.mkdir()
            self.model.save_pretrained(str(tmp / "model"))
            self.encoder.save(tmp / "tokenizer")
            _write_manifest(tmp, {
                "class_names": self.class_names, "maxlen": self.maxlen, "tail": self.encoder.tail,
                "batch_size": self.batch_size,
                "model": {"family": type(self.model).__name__,
                          "model_type": self.model.config.model_type, "source": self.source},
                "versions": _library_versions()})
            pickles = [p.name for p in tmp.rglob("*") if p.is_file() and is_pickle(p)]
            if pickles:
                raise RuntimeError(f"Refusing to save pickles ({pickles}): loading one can run "
                                   "arbitrary code. Please report this as a bug.")
            _swap_into_place(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # gone already if the rename succeeded
        return target


    def export_saved_model(self, directory: str | os.PathLike) -> Path:
        """Write a TensorFlow SavedModel that classifies raw strings, tokenizer inside (``helpers.export``).

        >>> predictor.export_saved_model("artifacts/saved_model")
        PosixPath('artifacts/saved_model')
        """
        from helpers.export import export_saved_model

        return export_saved_model(self, directory)


def get_predictor(model, encoder: TextEncoder, class_names: Sequence[str], **kwargs) -> Predictor:
    """Wrap a trained model and its encoder as a ``Predictor``.

    >>> predictor = get_predictor(model, encoder, train.class_names)
    """
    return Predictor(model, encoder, class_names, **kwargs)


def load_predictor(directory: str | os.PathLike) -> Predictor:
    """Load a predictor written by ``Predictor.save``, after checking every file's checksum.

    Works offline and in a fresh process: nothing is downloaded.

    >>> predictor = load_predictor("artifacts/newsgroups")
    """
    directory = Path(directory)
    _recover_interrupted_save(directory)
    manifest = read_manifest(directory)  # before TensorFlow starts: a bad folder fails fast
    from helpers.model import load_classifier
    from helpers.tokenizer import TextEncoder

    saved, running = manifest["versions"], _library_versions()
    changed = [f"{k} {saved[k]} -> {running[k]}" for k in running if saved.get(k) != running[k]]
    if changed:
        warnings.warn(f"{directory} was saved with other library versions ({', '.join(changed)}); "
                      "its probabilities may differ slightly from the saved predictor's.")
    model = load_classifier(str(directory / "model"), manifest["class_names"], compile=False)
    encoder = TextEncoder.from_model(directory / "tokenizer", manifest["maxlen"], manifest.get("tail", 0))
    return Predictor(model, encoder, manifest["class_names"], source=manifest["model"]["source"],
                     batch_size=manifest.get("batch_size", 32))


def read_manifest(directory: str | os.PathLike) -> dict:
    """``predictor.json`` of a saved predictor, checked: format, version, every file's sha256.

    Raises ``PredictorLoadError`` with what is wrong and how to fix it. Needs no TensorFlow.

    >>> read_manifest("artifacts/newsgroups")["class_names"]
    ['alt.atheism', 'comp.graphics', 'sci.med', 'soc.religion.christian']
    """
    directory = Path(directory)
    if not directory.is_dir():
        aside = sorted(directory.parent.glob(f".{directory.name}.old-*"))
        hint = f" A previous version is at {aside[0]} (an interrupted save?)." if aside else ""
        raise PredictorLoadError(f"No predictor folder at {directory}: check the path.{hint}")
    path = directory / MANIFEST
    if not path.is_file():
        hint = (" It looks like a Hugging Face model folder: load it with "
                "helpers.model.load_classifier and wrap it with get_predictor."
                if (directory / "config.json").is_file() else "")
        raise PredictorLoadError(f"{directory} is not a saved predictor: it has no {MANIFEST}. "
                                 f"Save one with predictor.save(dir).{hint}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise PredictorLoadError(f"{path} is not valid JSON ({err}); re-save the predictor.") \
            from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise PredictorLoadError(f"{path} was not written by helpers.predictor (no \"format\": "
                                 f"\"{FORMAT}\"), so {directory} is not a saved predictor.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise PredictorLoadError(
            f"{directory} is in predictor format version {manifest.get('format_version')!r}, but "
            f"this helpers reads version {FORMAT_VERSION}: use the helpers version that saved it.")
    required = ("class_names", "maxlen", "model", "versions", "files")
    missing = [key for key in required if not manifest.get(key)]
    if missing:
        raise PredictorLoadError(f"{path} lacks {missing}; re-save the predictor.")
    _verify_files(directory, manifest["files"])
    return manifest


def _verify_files(directory: Path, files: dict) -> None:
    for name, expected in files.items():
        path = directory / name
        if ".." in Path(name).parts or not path.is_file():
            raise PredictorLoadError(f"{directory} is incomplete: {name} is missing. Re-save the "
                                     "predictor (or copy the whole folder again).")
        if is_pickle(path) or path.suffix == ".py":
            raise PredictorLoadError(f"Refusing to load {directory}: {name} is a pickle or Python "
                                     "code, which could run anything. A saved predictor holds "
                                     "only weights, JSON and text; re-save it with predictor.save.")
        actual = sha256(path)
        if actual != expected:
            raise PredictorLoadError(
                f"{path} is corrupted or was changed after saving (sha256 {actual[:12]}..., "
                f"expected {expected[:12]}...). Copy the folder again or re-save the predictor.")


def _check_replaceable(target: Path) -> None:
    """Refuse to replace a folder that holds something other than a predictor."""
    if target.exists() and not target.is_dir():
        raise FileExistsError(f"{target} is a file; choose a folder name for the predictor.")
    if target.is_dir() and any(target.iterdir()) and not (target / MANIFEST).is_file():
        raise FileExistsError(f"{target} holds files but no saved predictor; choose an empty or "
                              "new folder (saving would replace everything in it).")


def _write_manifest(directory: Path, fields: dict) -> None:
    files = {p.relative_to(directory).as_posix(): sha256(p)
             for p in sorted(directory.rglob("*")) if p.is_file()}
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, **fields, "files": files}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def _recover_interrupted_save(target: Path) -> None:
    """Put the previous predictor back if a save was killed between its two renames.

    ``_swap_into_place`` moves the old folder aside, then the new one in; a kill between
    the two leaves no ``target`` but a complete ``.<name>.old-*``: that is the previous
    predictor, intact, so rename it back.
    """
    if target.exists():
        return
    aside = sorted(target.parent.glob(f".{target.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if aside and (aside[-1] / MANIFEST).is_file():
        os.rename(aside[-1], target)
        warnings.warn(f"Restored the previous predictor at {target}: a save into it was "
                      "interrupted.")


def _swap_into_place(tmp: Path, target: Path) -> None:
    """Rename ``tmp`` to ``target``; an old ``target`` is deleted only once that worked."""
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
        os.rename(target, old)
    try:
        os.rename(tmp, target)
    except OSError:
        if old is not None:
            os.rename(old, target)
        raise
    if old is not None:
        shutil.rmtree(old)


def is_pickle(path: str | os.PathLike) -> bool:
    """True for a pickle, by name (.pkl, .pickle, .pkz) or by its protocol 2+ header bytes.

    >>> is_pickle("artifacts/newsgroups/predictor.json")
    False
    """
    with open(path, "rb") as f:
        head = f.read(2)
    return Path(path).suffix in _PICKLE_SUFFIXES or head in _PICKLE_HEADERS


def _library_versions() -> dict[str, str]:
    import tokenizers

    import helpers
    from helpers.backend import tf, transformers

    return {"tensorflow": tf.__version__, "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__, "helpers": helpers.__version__}
