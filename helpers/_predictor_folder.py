"""A saved predictor's folder: its manifest, checksums, and the refusal of pickles.

Plumbing behind ``helpers.predictor`` (``Predictor.save``, ``load_predictor``): a learner can
skip it. ``predictor.json`` holds the class names, ``maxlen``, library versions, what the
predictor was trained with, and every file's sha256; nothing here needs TensorFlow, so a bad
folder fails in a blink.

    >>> folder = predictor.save(tmp / "predictor")
    >>> sorted(p.name for p in folder.iterdir())
    ['model', 'predictor.json', 'tokenizer']
    >>> read_manifest(folder)["maxlen"]
    64
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

from helpers._files import moved_aside, sha256

FORMAT = "helpers.predictor"
FORMAT_VERSION = 1
MANIFEST = "predictor.json"
_PICKLE_SUFFIXES = (".pkl", ".pickle", ".pkz")
_PICKLE_HEADERS = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")  # PROTO opcode + version


class PredictorLoadError(ValueError):
    """A folder could not be loaded as a predictor; the message says why and what to do."""


def check_no_pickles(folder: Path) -> None:
    """Refuse to save a folder that holds a pickle (loading one can run arbitrary code)."""
    pickles = [p.name for p in folder.rglob("*") if p.is_file() and is_pickle(p)]
    if pickles:
        raise RuntimeError(f"Refusing to save pickles ({pickles}): loading one can run "
                           "arbitrary code. Please report this as a bug.")


def read_manifest(directory: str | os.PathLike) -> dict:
    """``predictor.json`` of a saved predictor, checked: format, version, every file's sha256.

    Raises ``PredictorLoadError`` with what is wrong and how to fix it. Needs no TensorFlow.

    >>> read_manifest(predictor.save(tmp / "predictor"))["class_names"]
    ['alt.atheism', 'comp.graphics', 'sci.med', 'soc.religion.christian']
    """
    directory = Path(directory)
    if not directory.is_dir():
        aside = moved_aside(directory)
        hint = f" A previous version is at {aside[-1]} (an interrupted save?)." if aside else ""
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


def check_replaceable(target: Path) -> None:
    """Refuse to replace a folder that holds something other than a predictor."""
    if target.exists() and not target.is_dir():
        raise FileExistsError(f"{target} is a file; choose a folder name for the predictor.")
    if target.is_dir() and any(target.iterdir()) and not (target / MANIFEST).is_file():
        raise FileExistsError(f"{target} holds files but no saved predictor; choose an empty or "
                              "new folder (saving would replace everything in it).")


def write_manifest(directory: Path, fields: dict) -> None:
    files = {p.relative_to(directory).as_posix(): sha256(p)
             for p in sorted(directory.rglob("*")) if p.is_file()}
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, **fields, "files": files}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def recover_interrupted_save(target: Path) -> None:
    """Put the previous predictor back if a save was killed between its two renames.

    ``helpers._files.replace_folder`` moves the old folder aside, then the new one in; a kill between
    the two leaves no ``target`` but a complete ``.<name>.old-*``: that is the previous
    predictor, intact, so rename it back.
    """
    if target.exists():
        return
    aside = moved_aside(target)
    if aside and (aside[-1] / MANIFEST).is_file():
        os.rename(aside[-1], target)
        warnings.warn(f"Restored the previous predictor at {target}: a save into it was "
                      "interrupted.")


def is_pickle(path: str | os.PathLike) -> bool:
    """True for a pickle, by name (.pkl, .pickle, .pkz) or by its protocol 2+ header bytes.

    >>> is_pickle(predictor.save(tmp / "predictor") / "predictor.json")
    False
    """
    with open(path, "rb") as f:
        head = f.read(2)
    return Path(path).suffix in _PICKLE_SUFFIXES or head in _PICKLE_HEADERS


def library_versions() -> dict[str, str]:
    import tokenizers

    import helpers
    from helpers.backend import tf, transformers

    return {"tensorflow": tf.__version__, "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__, "helpers": helpers.__version__}
