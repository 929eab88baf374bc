"""Load labelled texts: the 20 Newsgroups tutorial task, or your own data.

Every loader returns a `LabeledTexts` (texts, integer labels, class names):

    >>> from helpers.data import load_newsgroups, load_csv, train_val_split
    >>> train, test = load_newsgroups()             # 2,257 / 1,502 posts, 4 classes
    >>> train, val = train_val_split(train, val_size=0.1)
    >>> _ = Path("reviews.csv").write_text("review,sentiment\\nloved it,pos\\nmeh,neg\\n")
    >>> load_csv("reviews.csv", text_column="review", label_column="sentiment")
    LabeledTexts(2 texts, class_names=['neg', 'pos'])

Where `load_newsgroups` looks for the corpus, and how to supply it offline: data/README.md.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state

from helpers._archive import NEWSGROUPS_CATEGORIES, REMOVERS, corpus_splits
from helpers.checks import InputError, check_labeled, check_text_rows, encode_labels

TUTORIAL_CATEGORIES = ["alt.atheism", "soc.religion.christian", "comp.graphics", "sci.med"]
PathLike = str | os.PathLike


@dataclass(frozen=True, eq=False)
class LabeledTexts:
    """Texts with integer labels 0..k-1; `class_names[label]` is a label's name.
    Not in a notebook.

    Example:
        >>> data = LabeledTexts(["great film", "dull"], np.array([1, 0]), ["neg", "pos"])
        >>> len(data), data.class_names[data.labels[0]]
        (2, 'pos')
    """

    texts: list[str]
    labels: np.ndarray
    class_names: list[str]

    def __post_init__(self) -> None:
        texts, labels, names = check_labeled(self.texts, self.labels, self.class_names)
        object.__setattr__(self, "texts", texts)  # frozen: bypass to normalise
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "class_names", names)

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, indices: Sequence[int] | np.ndarray) -> "LabeledTexts":
        """The texts at ``indices``, in that order, with their labels and the same class names.

        >>> train.take([2, 0]).texts == [train.texts[2], train.texts[0]]
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
    Taught in notebooks/01_data.ipynb.

    Example:
        >>> train, test = load_newsgroups(remove=("headers", "footers", "quotes"))
        >>> len(train), len(test), train.class_names[0]
        (2257, 1502, 'alt.atheism')
    """
    categories = _check_categories(categories)
    remove = _check_remove(remove)
    splits = corpus_splits(archive, cache_dir, download)
    train = _select(splits["train"], categories, remove, shuffle, random_state)
    test = _select(splits["test"], categories, remove, shuffle, random_state)
    return train, test


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


# ------------------------------------------------------------------------------ your own data


def from_dataframe(df: pd.DataFrame, text_column: str = "text", label_column: str = "label",
                   class_names: Sequence[str] | None = None) -> LabeledTexts:
    """Texts and labels from two columns of a DataFrame.

    String labels become 0..k-1 in sorted order (or in the order of `class_names`);
    integer labels need `class_names`, one name per label id.
    Not in a notebook.

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
    Not in a notebook.

    Example:
        >>> _ = Path("scores.csv").write_text("text,label\\nawful,0\\nfine,1\\nsuperb,2\\n")
        >>> data = load_csv("scores.csv", class_names=["bad", "ok", "good"])  # labels 0, 1, 2
        >>> data.class_names[data.labels[2]]
        'good'
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
    Not in a notebook.

    Example:
        >>> for name, text in [("neg", "dull"), ("pos", "great film")]:
        ...     Path("reviews", name).mkdir(parents=True)
        ...     _ = Path("reviews", name, "1.txt").write_text(text)
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
    check_text_rows(texts, files, str(root), "files")
    return LabeledTexts(texts, np.array(labels), class_names)


def _from_frame(df: pd.DataFrame, text_column: str, label_column: str,
                class_names: Sequence[str] | None, where: str, rows: str) -> LabeledTexts:
    for column, arg in ((text_column, "text_column"), (label_column, "label_column")):
        if column not in df.columns:
            raise InputError(f"{where} has no column {column!r}; found columns "
                             f"{list(df.columns)}. Pass {arg}=... .")
    row_ids = df.index.tolist()
    texts = df[text_column].tolist()
    check_text_rows(texts, row_ids, where, rows)
    labels, class_names = encode_labels(df[label_column].tolist(), class_names, row_ids, where, rows)
    return LabeledTexts(texts, labels, class_names)


# ------------------------------------------------------------------------------ splitting


def train_val_split(data: LabeledTexts, val_size: float = 0.1,
                    seed: int = 42) -> tuple[LabeledTexts, LabeledTexts]:
    """Split off a validation set with the same class proportions (stratified).
    Not in a notebook.

    Example:
        >>> train, val = train_val_split(train, val_size=0.1)
        >>> round(len(val) / (len(train) + len(val)), 2)
        0.1
    """
    train_idx, val_idx = train_test_split(np.arange(len(data)), test_size=val_size,
                                          stratify=data.labels, random_state=seed)
    return data.take(train_idx), data.take(val_idx)


def subset(data: LabeledTexts, size: int | None, seed: int = 42) -> LabeledTexts:
    """``size`` texts of ``data`` with the class proportions kept (all of them for ``None``).

    Texts keep their original order, so the same size always gives the same texts.
    Taught in notebooks/05_top_losses.ipynb.

    >>> small = subset(train, 100)
    >>> len(small), small.class_names == train.class_names
    (100, True)
    """
    if size is None or size >= len(data):
        return data
    if size < len(data.class_names):
        raise ValueError(f"size {size} is smaller than the number of classes ({len(data.class_names)}).")
    keep, _ = train_test_split(np.arange(len(data)), train_size=size, stratify=data.labels, random_state=seed)
    return data.take(np.sort(keep))
