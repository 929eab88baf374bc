"""Load labelled texts: the 20 Newsgroups tutorial task, or your own data.

Every loader returns a `LabeledTexts` (texts, integer labels, class names):

    >>> from helpers.data import load_newsgroups, load_csv, train_val_split
    >>> train, test = load_newsgroups()             # 2,257 / 1,502 posts, 4 classes
    >>> train, val = train_val_split(train, val_size=0.1)
    >>> mine = load_csv("reviews.csv", text_column="review", label_column="sentiment")

Where `load_newsgroups` looks for the corpus, and how to supply it offline: data/README.md.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import tarfile
import tempfile
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.datasets import fetch_20newsgroups, get_data_home, load_files
from sklearn.datasets._twenty_newsgroups import (
    strip_newsgroup_footer,
    strip_newsgroup_header,
    strip_newsgroup_quoting,
)
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state

from helpers.checks import InputError, check_texts
from helpers.files import sha256, write_json
from helpers.paths import project_dir
from helpers.offline import is_offline, network_timeout

TUTORIAL_CATEGORIES = ["alt.atheism", "soc.religion.christian", "comp.graphics", "sci.med"]
NEWSGROUPS_CATEGORIES = [
    "alt.atheism", "comp.graphics", "comp.os.ms-windows.misc", "comp.sys.ibm.pc.hardware",
    "comp.sys.mac.hardware", "comp.windows.x", "misc.forsale", "rec.autos", "rec.motorcycles",
    "rec.sport.baseball", "rec.sport.hockey", "sci.crypt", "sci.electronics", "sci.med",
    "sci.space", "soc.religion.christian", "talk.politics.guns", "talk.politics.mideast",
    "talk.politics.misc", "talk.religion.misc",
]  # fmt: skip
ARCHIVE_NAME = "20news-bydate.tar.gz"
SPLIT_FOLDERS = {"train": "20news-bydate-train", "test": "20news-bydate-test"}
# In the order scikit-learn applies them (it matters: footers are found after headers go).
REMOVERS = {
    "headers": strip_newsgroup_header,
    "footers": strip_newsgroup_footer,
    "quotes": strip_newsgroup_quoting,
}
_SKLEARN_PKZ = "20news-bydate_py3.pkz"  # what fetch_20newsgroups writes in its data home
_PKZ_RECORD = "sklearn-20news-pkz.json"  # path + sha256 of the .pkz that *we* had it write
_MARKER = ".complete"  # written last into an unpacked folder

PathLike = str | os.PathLike


@dataclass(frozen=True, eq=False)
class LabeledTexts:
    """Texts with integer labels 0..k-1; `class_names[label]` is a label's name.

    Example:
        >>> data = LabeledTexts(["great film", "dull"], np.array([1, 0]), ["neg", "pos"])
        >>> len(data), data.class_names[data.labels[0]]
        (2, 'pos')
    """

    texts: list[str]
    labels: np.ndarray
    class_names: list[str]

    def __post_init__(self) -> None:
        labels = np.asarray(self.labels)
        if labels.ndim != 1 or (labels.size and not np.issubdtype(labels.dtype, np.integer)):
            raise ValueError(f"labels must be a 1-D array of integers, got {labels.dtype} "
                             f"of shape {labels.shape}.")
        texts = list(self.texts)
        if texts:  # strings only; empty ones are allowed (sklearn's remove=... makes some)
            check_texts(texts, where="LabeledTexts")
        object.__setattr__(self, "texts", texts)  # frozen: bypass to normalise
        object.__setattr__(self, "labels", labels.astype(np.int64))
        object.__setattr__(self, "class_names", list(self.class_names))
        if len(self.texts) != len(labels):
            raise ValueError(f"{len(self.texts)} texts but {len(labels)} labels: "
                             "give one label per text.")
        if labels.size and (labels.min() < 0 or labels.max() >= len(self.class_names)):
            raise ValueError(f"labels must be in 0..{len(self.class_names) - 1} (one per class "
                             f"name), got {labels.min()}..{labels.max()}.")

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, indices: Sequence[int] | np.ndarray) -> "LabeledTexts":
        """The texts at ``indices``, in that order, with their labels and the same class names.

        >>> data.take([2, 0]).texts == [data.texts[2], data.texts[0]]   # doctest: +SKIP
        True
        """
        indices = np.asarray(indices, dtype=np.int64)
        return LabeledTexts([self.texts[i] for i in indices], self.labels[indices], self.class_names)

    def __repr__(self) -> str:
        return f"LabeledTexts({len(self)} texts, class_names={self.class_names})"


# ------------------------------------------------------------------------------ 20 Newsgroups


def load_newsgroups(
    categories: Sequence[str] | None = TUTORIAL_CATEGORIES,
    *,
    remove: Sequence[str] = (),
    archive: PathLike | None = None,
    cache_dir: PathLike | None = None,
    shuffle: bool = True,
    random_state: int | np.random.RandomState | None = 42,
    download: bool = True,
) -> tuple[LabeledTexts, LabeledTexts]:
    """The 20 Newsgroups (train, test) splits, exactly as scikit-learn's `fetch_20newsgroups`.

    Same texts, order, labels and (sorted) class names as `fetch_20newsgroups(subset=...,
    categories=..., remove=..., shuffle=..., random_state=...)`, but read from a local
    20news-bydate.tar.gz, so it works offline. Looks in order at: `archive` (a .tar.gz or an
    unpacked folder), $NEWSGROUPS_ARCHIVE, <project>/data/, <project>/../shared/data/ (``helpers.paths``),
    scikit-learn's cache (only a copy this project had it write), then scikit-learn's
    downloader (if `download`). `categories=None` loads all 20 groups; `remove` takes any of
    "headers", "footers", "quotes". A .tar.gz is unpacked once into `cache_dir`
    (default: $HELPERS_CACHE_DIR or ~/.cache/tf2-text-classification).

    Example:
        >>> train, test = load_newsgroups(remove=("headers", "footers", "quotes"))
        >>> len(train), len(test), train.class_names[0]
        (2257, 1502, 'alt.atheism')
    """
    categories = _check_categories(categories)
    remove = _check_remove(remove)
    cache = cache_folder(cache_dir)
    source = _find_source(archive, cache, download)
    if source.suffix == ".pkz":
        splits = _read_trusted_pkz(source, cache)
    else:
        root = source if source.is_dir() else _unpack(source, cache)
        # Only the file order, no texts yet: load_files shuffles all 20 groups (random_state=0).
        splits = {s: load_files(root / f, load_content=False) for s, f in SPLIT_FOLDERS.items()}
    train = _select(splits["train"], categories, remove, shuffle, random_state)
    test = _select(splits["test"], categories, remove, shuffle, random_state)
    return train, test


def cache_folder(cache_dir: PathLike | None = None) -> Path:
    """Where the archive is unpacked: ``cache_dir``, else $HELPERS_CACHE_DIR, else
    ~/.cache/tf2-text-classification.

    >>> cache_folder("/tmp/c")
    PosixPath('/tmp/c')
    """
    cache = cache_dir or os.environ.get("HELPERS_CACHE_DIR") or "~/.cache/tf2-text-classification"
    return Path(cache).expanduser()


def _check_categories(categories: Sequence[str] | None) -> list[str]:
    if categories is None:
        return list(NEWSGROUPS_CATEGORIES)
    if isinstance(categories, str):
        raise ValueError(f"categories must be a list of names, e.g. categories=[{categories!r}].")
    unknown = [c for c in categories if c not in NEWSGROUPS_CATEGORIES]
    if unknown:
        raise ValueError(f"Unknown newsgroups {unknown}. Valid names: {NEWSGROUPS_CATEGORIES}.")
    if not categories or len(set(categories)) != len(categories):
        raise ValueError(f"categories must be non-empty, without repeats; got {list(categories)}.")
    return list(categories)


def _check_remove(remove: Sequence[str]) -> tuple[str, ...]:
    if isinstance(remove, str) or any(r not in REMOVERS for r in remove):
        raise ValueError(f"remove must be a tuple of some of {tuple(REMOVERS)}, "
                         f"e.g. remove=('headers',); got {remove!r}.")
    return tuple(remove)


def _select(bunch: Any, categories: list[str], remove: tuple[str, ...], shuffle: bool,
            random_state: Any) -> LabeledTexts:
    """scikit-learn's steps: keep the categories, number them 0..k-1, shuffle, strip."""
    wanted = sorted(bunch.target_names.index(c) for c in categories)
    order = np.flatnonzero(np.isin(bunch.target, wanted))
    if shuffle:
        indices = np.arange(len(order))
        check_random_state(random_state).shuffle(indices)
        order = order[indices]
    if "data" in bunch:  # scikit-learn's pickled cache already holds the decoded texts
        texts = [bunch.data[i] for i in order]
    else:
        texts = [Path(bunch.filenames[i]).read_bytes().decode("latin-1") for i in order]
    for name, strip in REMOVERS.items():
        if name in remove:
            texts = [strip(t) for t in texts]
    labels = np.searchsorted(wanted, bunch.target[order])
    return LabeledTexts(texts, labels, [bunch.target_names[i] for i in wanted])


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
                tar.extractall(tmp, filter="data")
                files = [m for m in tar.getmembers() if m.isfile()]
                expected = {"files": len(files), "bytes": sum(m.size for m in files)}
        except (tarfile.TarError, EOFError, zlib.error) as e:  # truncated or corrupted download
            raise ValueError(f"{archive} is damaged or incomplete ({e}); download it again "
                             f"(see data/README.md) or point archive= at a good copy.") from None
        if not all((tmp / f).is_dir() for f in SPLIT_FOLDERS.values()):
            raise ValueError(f"{archive} does not hold {' and '.join(SPLIT_FOLDERS.values())} "
                             "at its top level; is it scikit-learn's 20news-bydate.tar.gz?")
        if not (target / _MARKER).exists():  # else another process finished first
            shutil.rmtree(target, ignore_errors=True)  # a half-finished unpack, no marker
            os.replace(tmp, target)
            # last, atomically: it means "complete", and says how much "complete" is
            write_json(target / _MARKER, {"sha256": digest, **expected})
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


# ------------------------------------------------------------------------------ your own data


def from_dataframe(df: pd.DataFrame, text_column: str = "text", label_column: str = "label",
                   class_names: Sequence[str] | None = None) -> LabeledTexts:
    """Texts and labels from two columns of a DataFrame.

    String labels become 0..k-1 in sorted order (or in the order of `class_names`);
    integer labels need `class_names`, one name per label id.

    Example:
        >>> df = pd.DataFrame({"text": ["loved it", "meh", "awful"],
        ...                    "label": ["pos", "neg", "neg"]})
        >>> from_dataframe(df).class_names
        ['neg', 'pos']
    """
    return _from_frame(df, text_column, label_column, class_names, "The DataFrame", "rows")


def load_csv(path: PathLike, text_column: str = "text", label_column: str = "label",
             class_names: Sequence[str] | None = None, encoding: str = "utf-8",
             **read_csv_kwargs: Any) -> LabeledTexts:
    """Texts and labels from a CSV file with a header row (extra kwargs go to `pd.read_csv`).

    Example:
        >>> data = load_csv("reviews.csv", text_column="review", label_column="sentiment")
        >>> data = load_csv("scores.csv", class_names=["bad", "ok", "good"])  # labels 0, 1, 2
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No CSV file at {path}.")
    read_csv_kwargs.setdefault("index_col", False)  # else a long first row becomes an index
    # utf-8-sig reads plain UTF-8 too, and drops the byte-order mark Excel puts first
    # (which would otherwise become part of the first column's name).
    read_as = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        with warnings.catch_warnings():  # pandas only warns when the first row is too long
            warnings.filterwarnings("error", "Length of header", pd.errors.ParserWarning)
            df = pd.read_csv(path, encoding=read_as, **read_csv_kwargs)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path} is empty: it needs a header row ({text_column},"
                         f"{label_column}) and one row per text.") from None
    except pd.errors.ParserWarning as e:
        raise InputError(f"{path}: the first data row has more fields than the header ({e}). "
                         "Put texts that contain commas in double quotes, or pass sep=...") from None
    except UnicodeDecodeError as e:
        raise InputError(f"{path} is not valid {encoding} (byte {e.start}); pass the file's "
                         "encoding, e.g. encoding='latin-1'.") from e
    except pd.errors.ParserError as e:
        raise InputError(f"{path}: {str(e).strip()}. A row has more fields than the header: put "
                         "texts that contain commas in double quotes, or pass sep=...") from e
    df.index = np.arange(1, len(df) + 1)  # data row numbers: 1 = first row after the header
    if len(df.columns) == 1 and "sep" not in read_csv_kwargs:
        for sep in (";", "\t", "|"):
            if sep in str(df.columns[0]):
                raise InputError(f"{path} has one column, {df.columns[0]!r}: its fields seem to "
                                 f"be separated by {sep!r}, not commas. Pass sep={sep!r}.")
    return _from_frame(df, text_column, label_column, class_names, str(path), "data rows")


def load_folder(path: PathLike, encoding: str = "utf-8") -> LabeledTexts:
    """One subfolder per class, one text per file; class names are the sorted subfolder names.

    Example:
        >>> data = load_folder("reviews/")   # reviews/neg/*.txt, reviews/pos/*.txt
        >>> data.class_names
        ['neg', 'pos']
    """
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"No folder at {root}.")
    class_names = sorted(p.name for p in root.iterdir() if p.is_dir() and p.name[0] != ".")
    if len(class_names) < 2:
        raise InputError(f"{root} needs one subfolder per class (at least two); "
                         f"found {class_names}.")
    texts, labels, files = [], [], []
    for label, name in enumerate(class_names):
        class_files = sorted(p for p in (root / name).iterdir() if p.is_file() and p.name[0] != ".")
        if not class_files:
            raise InputError(f"{root / name} has no files: add texts or remove the folder.")
        for file in class_files:
            try:
                texts.append(file.read_text(encoding=encoding))
            except UnicodeDecodeError as e:
                raise InputError(f"{file} is not valid {encoding}; pass encoding=..., "
                                 "e.g. encoding='latin-1'.") from e
            labels.append(label)
            files.append(str(file.relative_to(root)))
    _check_texts(texts, files, str(root), "files")
    return LabeledTexts(texts, np.array(labels), class_names)


def _from_frame(df: pd.DataFrame, text_column: str, label_column: str,
                class_names: Sequence[str] | None, where: str, rows: str) -> LabeledTexts:
    for column, arg in ((text_column, "text_column"), (label_column, "label_column")):
        if column not in df.columns:
            raise InputError(f"{where} has no column {column!r}; found columns "
                             f"{list(df.columns)}. Pass {arg}=... .")
    row_ids = df.index.tolist()
    texts = df[text_column].tolist()
    _check_texts(texts, row_ids, where, rows)
    labels, class_names = _encode_labels(df[label_column].tolist(), class_names, row_ids, where,
                                         rows)
    return LabeledTexts(texts, labels, class_names)


def _first_few(items: list[Any]) -> str:
    return f"{items[:5]}{' ...' if len(items) > 5 else ''}"


def _check_texts(texts: list[Any], row_ids: list[Any], where: str, rows: str) -> None:
    bad = [r for r, t in zip(row_ids, texts) if not isinstance(t, str) or not t.strip()]
    if bad:
        raise InputError(f"{where}: {len(bad)} texts are missing, not strings or empty, at {rows} "
                         f"{_first_few(bad)}. Drop or fix them.")


def _encode_labels(values: list[Any], class_names: Sequence[str] | None, row_ids: list[Any],
                   where: str, rows: str) -> tuple[np.ndarray, list[str]]:
    """String or integer labels -> (ids 0..k-1, class_names). Shared by every loader."""
    if not values:
        raise InputError(f"{where} has no rows.")
    missing = [r for r, gone in zip(row_ids, pd.isna(np.array(values, dtype=object))) if gone]
    if missing:
        raise InputError(f"{where}: labels are missing at {rows} {_first_few(missing)}.")
    names = None if class_names is None else list(class_names)
    if names is not None and (len(set(names)) != len(names) or len(names) < 2):
        raise InputError(f"class_names must hold at least two different names, got {names}.")
    if all(isinstance(v, str) for v in values):
        names = names or sorted(set(values))
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise InputError(f"{where}: labels {_first_few(unknown)} are not in "
                             f"class_names={names}; add them there.")
        index = {name: i for i, name in enumerate(names)}
        labels = np.array([index[v] for v in values], dtype=np.int64)
    elif all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        if names is None:
            raise InputError(f"{where}: labels are integers, so their names are unknown; pass "
                             "class_names=[...], one name per label id, e.g. ['neg', 'pos'].")
        labels = np.array(values, dtype=np.int64)
        outside = sorted({int(v) for v in labels if not 0 <= v < len(names)})
        if outside:
            raise InputError(f"{where}: labels {_first_few(outside)} are outside "
                             f"0..{len(names) - 1} (class_names has {len(names)} names).")
    else:
        kinds = sorted({type(v).__name__ for v in values})
        raise InputError(f"{where}: labels must be all strings or all integers, found {kinds}.")
    if len(np.unique(labels)) < 2:
        raise InputError(f"{where}: every label is {names[labels[0]]!r}; a classifier needs "
                         "examples of at least two classes.")
    return labels, names


# ------------------------------------------------------------------------------ splitting


def train_val_split(data: LabeledTexts, val_size: float = 0.1,
                    seed: int = 42) -> tuple[LabeledTexts, LabeledTexts]:
    """Split off a validation set with the same class proportions (stratified).

    Example:
        >>> train, val = train_val_split(train, val_size=0.1)
        >>> round(len(val) / (len(train) + len(val)), 2)
        0.1
    """
    train_idx, val_idx = train_test_split(np.arange(len(data)), test_size=val_size,
                                          stratify=data.labels, random_state=seed)
    return data.take(train_idx), data.take(val_idx)
