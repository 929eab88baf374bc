"""Where the 20 Newsgroups corpus comes from: finding, trusting and unpacking the archive.

Plumbing behind ``helpers.data.load_newsgroups`` (a learner can skip it). The order it looks
in, and how to supply the corpus offline, are in ``load_newsgroups``'s docstring and data/README.md.
A .tar.gz is unpacked once, safely (no member may land outside the cache) and atomically (a
``.complete`` marker, written last, says how many files and bytes "complete" is). scikit-learn's
pickled cache is read only if this project had it written (its sha256 is remembered).

    >>> cache_folder("/tmp/c")
    PosixPath('/tmp/c')
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import tarfile
import tempfile
import zlib
from http.client import HTTPException
from pathlib import Path
from typing import Any

from sklearn.datasets import fetch_20newsgroups, get_data_home, load_files
from sklearn.datasets._twenty_newsgroups import (
    strip_newsgroup_footer,
    strip_newsgroup_header,
    strip_newsgroup_quoting,
)

from helpers._files import replace_folder, sha256, write_json
from helpers._offline import is_offline, network_timeout
from helpers.paths import project_dir

NEWSGROUPS_CATEGORIES = [
    "alt.atheism", "comp.graphics", "comp.os.ms-windows.misc", "comp.sys.ibm.pc.hardware",
    "comp.sys.mac.hardware", "comp.windows.x", "misc.forsale", "rec.autos", "rec.motorcycles",
    "rec.sport.baseball", "rec.sport.hockey", "sci.crypt", "sci.electronics", "sci.med",
    "sci.space", "soc.religion.christian", "talk.politics.guns", "talk.politics.mideast",
    "talk.politics.misc", "talk.religion.misc",
]  # fmt: skip
# In the order scikit-learn applies them (it matters: footers are found after headers go).
REMOVERS = {
    "headers": strip_newsgroup_header,
    "footers": strip_newsgroup_footer,
    "quotes": strip_newsgroup_quoting,
}
ARCHIVE_NAME = "20news-bydate.tar.gz"
SPLIT_FOLDERS = {"train": "20news-bydate-train", "test": "20news-bydate-test"}
_SKLEARN_PKZ = "20news-bydate_py3.pkz"  # what fetch_20newsgroups writes in its data home
_PKZ_RECORD = "sklearn-20news-pkz.json"  # path + sha256 of the .pkz that *we* had it write
_MARKER = ".complete"  # written last into an unpacked folder

PathLike = str | os.PathLike


def corpus_splits(archive: PathLike | None, cache_dir: PathLike | None, download: bool) -> dict[str, Any]:
    """scikit-learn ``Bunch`` per split (``"train"``, ``"test"``) of all 20 groups: file names and
    targets (texts are read later), or the decoded texts from a trusted scikit-learn cache.

    Not in a notebook: ``helpers.data.load_newsgroups`` calls it.
    """
    cache = cache_folder(cache_dir)
    source = _find_source(archive, cache, download)
    if source.suffix == ".pkz":
        return _read_trusted_pkz(source, cache)
    root = source if source.is_dir() else _unpack(source, cache)
    # Only the file order, no texts yet: load_files shuffles all 20 groups (random_state=0).
    return {s: load_files(root / f, load_content=False) for s, f in SPLIT_FOLDERS.items()}


def cache_folder(cache_dir: PathLike | None = None) -> Path:
    """Where the archive is unpacked: ``cache_dir``, else $HELPERS_CACHE_DIR, else
    ~/.cache/tf2-text-classification. Not in a notebook.

    >>> cache_folder("/tmp/c")
    PosixPath('/tmp/c')
    """
    cache = cache_dir or os.environ.get("HELPERS_CACHE_DIR") or "~/.cache/tf2-text-classification"
    return Path(cache).expanduser()


def _find_source(archive: PathLike | None, cache: Path, download: bool) -> Path:
    """A .tar.gz, an unpacked folder or a trusted .pkz: the first place that has the corpus."""
    for given, how in ((archive, "archive="), (os.environ.get("NEWSGROUPS_ARCHIVE"),
                                              "NEWSGROUPS_ARCHIVE=")):
        if given:  # asked for explicitly: use it or fail, never silently fall back
            path = Path(given).expanduser()
            if path.is_file() and tarfile.is_tarfile(path):
                return path
            if all((path / f).is_dir() for f in SPLIT_FOLDERS.values()):
                return path
            raise FileNotFoundError(f"{how}{given} is neither a {ARCHIVE_NAME} archive nor a "
                                    f"folder holding {' and '.join(SPLIT_FOLDERS.values())}.")
    looked = ["archive= (not given)", "$NEWSGROUPS_ARCHIVE (not set)"]
    for path in (project_dir() / "data" / ARCHIVE_NAME,
                 project_dir().parent / "shared" / "data" / ARCHIVE_NAME):
        if path.is_file():
            return path
        looked.append(f"{path} (not there)")

    pkz = Path(get_data_home()) / _SKLEARN_PKZ
    record = _read_json(cache / _PKZ_RECORD)
    if pkz.is_file() and record.get("path") == str(pkz) and record.get("sha256") == sha256(pkz):
        return pkz
    if pkz.exists():  # fetch_20newsgroups would unpickle it, so skip the downloader too
        looked.append(f"{pkz} (ignored and never unpickled: this project did not write it; "
                      "delete it to let scikit-learn download again)")
    elif not download:
        looked.append(f"{pkz} (not there); downloader off (download=False)")
    elif is_offline():
        looked.append(f"{pkz} (not there); downloader off (HF_HUB_OFFLINE is set)")
    else:
        try:
            with network_timeout():  # a dead network fails in seconds, not never
                fetch_20newsgroups(subset="all", data_home=str(pkz.parent), n_retries=1,
                                   delay=0.5)
        except (OSError, HTTPException) as e:  # URLError, timeouts, refused connections...
            looked.append(f"{pkz} (not there); scikit-learn's downloader failed: {e}")
        else:
            write_json(cache / _PKZ_RECORD, {"path": str(pkz), "sha256": sha256(pkz)})
            return pkz
    where = "\n  - ".join(looked)
    raise FileNotFoundError(
        f"Could not find the 20 Newsgroups corpus (scikit-learn's 14 MB {ARCHIVE_NAME}). "
        f"Looked at:\n  - {where}\nFix: put the archive at data/{ARCHIVE_NAME} "
        f"({project_dir() / 'data' / ARCHIVE_NAME}), or set "
        f"NEWSGROUPS_ARCHIVE=/path/to/{ARCHIVE_NAME}. See data/README.md."
    )


def _read_trusted_pkz(pkz: Path, cache: Path) -> dict[str, Any]:
    raw = pkz.read_bytes()  # check exactly the bytes we unpickle
    if hashlib.sha256(raw).hexdigest() != _read_json(cache / _PKZ_RECORD).get("sha256"):
        raise ValueError(f"{pkz} changed after this project wrote it; delete it and retry.")
    return pickle.loads(zlib.decompress(raw))


def _archive_sha256(archive: Path, cache: Path) -> str:
    """The archive's sha256, remembered by path, size and mtime: 14 MB are hashed once."""
    stat = archive.stat()
    key = f"{archive.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    memo_file = cache / "archive-sha256.json"
    memo = _read_json(memo_file)
    if key not in memo:
        memo[key] = sha256(archive)
        write_json(memo_file, memo)
    return memo[key]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):  # missing or corrupt: start afresh
        return {}


def _unpack(archive: Path, cache: Path) -> Path:
    """Unpack `archive` once into cache/20news-<sha256>/: safely, and atomically."""
    digest = _archive_sha256(archive, cache)
    target = cache / f"20news-{digest[:16]}"
    if (target / _MARKER).exists():
        if _is_complete(target):
            return target
        print(f"{target} is incomplete or damaged (a file is missing or cut short): unpacking "
              "again.")
        (target / _MARKER).unlink()
    print(f"Unpacking {archive} into {target} (first use only) ...")
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{target.name}.partial-", dir=cache))
    try:
        try:
            with tarfile.open(archive, "r:*") as tar:
                _check_members(tar, tmp, archive)
                # The "data" filter (Python 3.11.4 and later; Debian 12 has 3.11.2) refuses what
                # _check_members already refused, and more: use it where Python has it.
                tar.extractall(tmp, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
                files = [m for m in tar.getmembers() if m.isfile()]
                expected = {"files": len(files), "bytes": sum(m.size for m in files)}
        except (tarfile.TarError, EOFError, zlib.error) as e:  # truncated or corrupted download
            raise ValueError(f"{archive} is damaged or incomplete ({e}); download it again "
                             f"(see data/README.md) or point archive= at a good copy.") from None
        if not all((tmp / f).is_dir() for f in SPLIT_FOLDERS.values()):
            raise ValueError(f"{archive} does not hold {' and '.join(SPLIT_FOLDERS.values())} "
                             "at its top level; is it scikit-learn's 20news-bydate.tar.gz?")
        if not (target / _MARKER).exists():  # else another process finished first
            # the marker goes in before the rename: "complete", and how much "complete" is
            write_json(tmp / _MARKER, {"sha256": digest, **expected})
            replace_folder(tmp, target)  # a half-finished unpack there (no marker) goes
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _folder_size(folder: Path) -> dict[str, int]:
    """How many files, and how many bytes in all, under `folder` (the marker not counted)."""
    files = size = 0
    for root, _, names in os.walk(folder):
        for name in names:
            if name != _MARKER or Path(root) != folder:
                files += 1
                size += os.stat(os.path.join(root, name)).st_size
    return {"files": files, "bytes": size}


def _is_complete(target: Path) -> bool:
    """The marker is whole and the files on disk add up to what the archive held.

    Catches an interrupted unpack, a half-written marker, and a file cut short or deleted
    later; costs one stat per file (about 0.1 s for the 18,846 posts).
    """
    marker = _read_json(target / _MARKER)
    if not {"files", "bytes"} <= marker.keys():
        return False
    return _folder_size(target) == {"files": marker["files"], "bytes": marker["bytes"]}


def _check_members(tar: tarfile.TarFile, dest: Path, archive: Path) -> None:
    """Refuse absolute paths, '..', links and devices: nothing may land outside `dest`."""
    dest = dest.resolve()
    for member in tar.getmembers():
        name = member.name
        if (os.path.isabs(name) or name.startswith(("/", "\\"))
                or ".." in Path(name.replace("\\", "/")).parts
                or not (member.isfile() or member.isdir())
                or not (dest / name).resolve().is_relative_to(dest)):
            raise ValueError(f"Refusing to unpack {archive}: unsafe member {name!r} (absolute "
                             "path, '..', link or device). Use scikit-learn's original archive.")


