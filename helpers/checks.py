"""Check what a user passes in, and say what is wrong and how to fix it.

Every entry point that takes texts or labels (loaders, ``TextEncoder``, ``validate``,
the predictor, ``explain``, the command line) calls these, so the same mistake gets the
same message everywhere:

    >>> from helpers.checks import check_texts, check_labels
    >>> check_texts(["fine", None], where="predict")
    Traceback (most recent call last):
    helpers.checks.InputError: predict: texts must be strings; item 1 is None (a missing value). Fix: drop or fill missing values.
    >>> check_labels(["pos", "neg"], ["neg", "pos"], n_texts=2)
    array([1, 0])

What counts as legitimate text: any ``str`` that is valid Unicode, including emoji,
right-to-left and mixed scripts, control characters and very long texts (the model reads
the first ``maxlen`` tokens). Empty and whitespace-only strings:

- are refused by the loaders of *your own* data (``load_csv``, ``from_dataframe``,
  ``load_folder``): a label with no text is almost always a data error;
- are kept by ``load_newsgroups(remove=...)``, which matches scikit-learn exactly (a few
  posts are empty once headers, footers and quotes are gone);
- *classify* everywhere else (``TextEncoder``, the predictor, the CLI skips blank lines):
  the model sees only its special tokens and answers with what it thinks of "nothing".
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd


class InputError(ValueError):
    """Bad data from the user; the message names the problem and the fix.
    Not in a notebook.
    """


def _first(items: list[Any], k: int = 5) -> str:
    shown = ", ".join(str(i) for i in items[:k])
    return shown + (f" ... ({len(items)} in all)" if len(items) > k else "")


def _describe(value: Any) -> str:
    if value is None:
        return "None (a missing value)"
    if isinstance(value, float) and math.isnan(value):
        return "NaN (a missing value)"
    if isinstance(value, (bytes, bytearray)):
        return "bytes (not decoded text)"
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def check_texts(texts: Any, *, where: str = "texts", allow_empty: bool = True,
                allow_none: bool = False) -> list[str]:
    """``texts`` as a list of ``str``, or an ``InputError`` that says which item is wrong.

    ``allow_empty=False`` also refuses empty and whitespace-only strings (training data);
    ``allow_none=True`` accepts an empty list (prediction: nothing in, nothing out).
    A dict, a DataFrame or a set is refused: iterating one gives keys, column names or no order.
    Not in a notebook.

    >>> check_texts(("a", "b"))
    ['a', 'b']
    >>> check_texts("one text")
    Traceback (most recent call last):
    helpers.checks.InputError: texts: got a single string where a list of texts is needed; wrap it as [text].
    """
    if isinstance(texts, (str, bytes)):
        raise InputError(f"{where}: got a single {'string' if isinstance(texts, str) else 'bytes'}"
                         " where a list of texts is needed; wrap it as [text].")
    if isinstance(texts, Mapping) or hasattr(texts, "columns"):
        raise InputError(f"{where}: got {_describe(texts)}, which iterates over its keys or column "
                         "names, not texts. Pass the texts themselves, e.g. [d['text']] or df['text'].")
    if isinstance(texts, (set, frozenset)):
        raise InputError(f"{where}: got a set, which has no order, so results could not be matched "
                         "to texts. Pass a list, e.g. sorted(texts).")
    if not isinstance(texts, Iterable):
        raise InputError(f"{where}: expected a list of texts, got {_describe(texts)}.")
    texts = list(texts)
    if not texts and allow_none:
        return texts
    if not texts:
        raise InputError(f"{where}: got no texts (the list is empty); pass at least one text.")
    bad = [i for i, text in enumerate(texts) if not isinstance(text, str)]
    if bad:
        first = texts[bad[0]]
        fix = ("decode it first, e.g. b.decode('utf-8')" if isinstance(first, (bytes, bytearray))
               else "drop or fill missing values" if _describe(first).endswith("missing value)")
               else "convert with str() or drop it")
        raise InputError(f"{where}: texts must be strings; item {bad[0]} is {_describe(first)}"
                         f"{f' (bad items: {_first(bad)})' if len(bad) > 1 else ''}. Fix: {fix}.")
    broken = [i for i, text in enumerate(texts) if not text.isascii() and not _is_unicode(text)]
    if broken:
        raise InputError(f"{where}: texts {_first(broken)} hold lone surrogates (not valid "
                         "Unicode, e.g. bytes decoded with errors='surrogateescape'). Fix: decode "
                         "them with errors='replace', or text.encode('utf-8', 'replace').decode().")
    if not allow_empty:
        empty = [i for i, text in enumerate(texts) if not text.strip()]
        if empty:
            raise InputError(f"{where}: texts {_first(empty)} are empty or only whitespace; drop "
                             "them or fill them in (a label needs a text to go with it).")
    return texts


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_labels(labels: Any, class_names: Sequence[str] | None = None, *,
                 n_texts: int | None = None, where: str = "labels") -> np.ndarray:
    """Labels as class indexes ``0..k-1`` (int64), or an ``InputError`` naming the fix.

    Accepts integer indexes, or class names when ``class_names`` is given. Refuses missing
    values (None, NaN), floats, booleans, a length that differs from ``n_texts``, indexes
    outside ``0..len(class_names)-1`` and names not in ``class_names``.
    Not in a notebook.

    >>> check_labels([0, 2, 1], ["a", "b", "c"], n_texts=3)
    array([0, 2, 1])
    >>> check_labels(["b", "a"], ["a", "b"])
    array([1, 0])
    """
    if isinstance(labels, (str, bytes)) or not isinstance(labels, Iterable):
        raise InputError(f"{where}: expected a list of labels, one per text, got "
                         f"{_describe(labels)}.")
    if np.ndim(labels) != 1:
        raise InputError(f"{where}: labels must be a flat list (one class index per text), got "
                         f"shape {np.shape(labels)}; for one-hot rows use labels.argmax(axis=1).")
    values = list(np.asarray(labels, dtype=object)) if isinstance(labels, np.ndarray) \
        else list(labels)
    if n_texts is not None and len(values) != n_texts:
        raise InputError(f"{where}: got {n_texts} texts but {len(values)} labels; give exactly "
                         "one label per text.")
    if not values:
        raise InputError(f"{where}: got no labels (the list is empty).")
    names = None if class_names is None else list(class_names)
    missing = [i for i, v in enumerate(values)
               if v is None or (isinstance(v, numbers.Real) and not math.isfinite(float(v)))]
    if missing:
        raise InputError(f"{where}: labels are missing (None or NaN) at items {_first(missing)}; "
                         "drop those texts or fill in their labels.")
    if all(isinstance(v, str) for v in values):
        if names is None:
            raise InputError(f"{where}: labels are class names ({_first(sorted(set(values)))}), "
                             "but integer class indices (0, 1, ...) are needed here; map names "
                             "to indices first, e.g. with helpers.data.from_dataframe.")
        index = {name: i for i, name in enumerate(names)}
        unknown = sorted(set(values) - set(index))
        if unknown:
            raise InputError(f"{where}: labels {_first([repr(u) for u in unknown])} are not "
                             f"classes the model knows ({names}); drop those texts or train a "
                             "model with those classes.")
        return np.array([index[v] for v in values], dtype=np.int64)
    kinds = {type(v) for v in values}
    if any(issubclass(k, (bool, np.bool_)) for k in kinds) or not all(
            issubclass(k, numbers.Integral) for k in kinds):
        floats = [v for v in values if isinstance(v, numbers.Real) and not isinstance(v, bool)]
        whole = floats and all(float(v).is_integer() for v in floats) and len(floats) == len(values)
        hint = (" They look like whole numbers: convert with np.asarray(labels).astype(int)."
                if whole else "")
        raise InputError(f"{where}: labels must be integer class indices (0, 1, ...) or class "
                         f"names, found {sorted(k.__name__ for k in kinds)}.{hint}")
    ids = np.array(values, dtype=np.int64)
    if names is not None:
        outside = sorted({int(v) for v in ids if not 0 <= v < len(names)})
        if outside:
            raise InputError(f"{where}: labels {_first(outside)} are outside 0..{len(names) - 1} "
                             f"(class indices: there are {len(names)} class names); renumber them 0..k-1, e.g. "
                             "with helpers.data.from_dataframe(df, class_names=[...]).")
    elif ids.min() < 0:
        raise InputError(f"{where}: labels must be 0 or more, got {int(ids.min())}; renumber "
                         "them 0..k-1.")
    return ids


def check_labeled(texts: Any, labels: Any, class_names: Sequence[str]) -> tuple[list[str], np.ndarray, list[str]]:
    """``LabeledTexts``' fields, checked: strings (empty ones allowed: scikit-learn's ``remove=``
    makes some), one integer label per text in ``0..len(class_names)-1``. Not in a notebook.

    >>> check_labeled(["a", "b"], [1, 0], ("x", "y"))
    (['a', 'b'], array([1, 0]), ['x', 'y'])
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or (labels.size and not np.issubdtype(labels.dtype, np.integer)):
        raise ValueError(f"labels must be a 1-D array of integers, got {labels.dtype} "
                         f"of shape {labels.shape}.")
    texts = list(texts)
    if texts:
        check_texts(texts, where="LabeledTexts")
    names = list(class_names)
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels: give one label per text.")
    if labels.size and (labels.min() < 0 or labels.max() >= len(names)):
        raise ValueError(f"labels must be in 0..{len(names) - 1} (one per class "
                         f"name), got {labels.min()}..{labels.max()}.")
    return texts, labels.astype(np.int64), names


def _first_few(items: list[Any]) -> str:
    return f"{items[:5]}{' ...' if len(items) > 5 else ''}"


def check_text_rows(texts: list[Any], row_ids: list[Any], where: str, rows: str) -> None:
    """Refuse missing, non-string or empty texts in a user's table or folder, naming the rows.
    Not in a notebook: ``helpers.data``'s loaders of your own data call it.

    >>> check_text_rows(["fine", ""], [1, 2], "reviews.csv", "data rows")
    Traceback (most recent call last):
    helpers.checks.InputError: reviews.csv: 1 texts are missing, not strings or empty, at data rows [2]. Drop or fix them.
    """
    bad = [r for r, t in zip(row_ids, texts) if not isinstance(t, str) or not t.strip()]
    if bad:
        raise InputError(f"{where}: {len(bad)} texts are missing, not strings or empty, at {rows} "
                         f"{_first_few(bad)}. Drop or fix them.")


def encode_labels(values: list[Any], class_names: Sequence[str] | None, row_ids: list[Any],
                   where: str, rows: str) -> tuple[np.ndarray, list[str]]:
    """String or integer labels -> (ids 0..k-1, class_names). Shared by every loader of your
    own data. Not in a notebook.

    >>> encode_labels(["pos", "neg", "pos"], None, [1, 2, 3], "reviews.csv", "data rows")
    (array([1, 0, 1]), ['neg', 'pos'])
    """
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


def check_batch_size(batch_size: Any, *, where: str = "batch_size") -> int:
    """A positive ``int`` batch size, or an ``InputError``.
    Not in a notebook.

    >>> check_batch_size(16)
    16
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
            or batch_size < 1:
        raise InputError(f"{where} must be a whole number of at least 1, not {batch_size!r}.")
    return int(batch_size)


def label_out_of_range(tf_message: str) -> InputError | None:
    """TensorFlow's "label value outside the valid range" error, said plainly; else None.
    Not in a notebook.

    >>> str(label_out_of_range("Received a label value of 7 which is outside the valid "
    ...                        "range of [0, 4).  Label values: 0 7"))[:59]
    'training data has label 7, but the model has 4 outputs (lab'
    """
    found = re.search(r"Received a label value of (-?\d+) which is outside the valid range "
                      r"of \[0, (\d+)\)", tf_message)
    if not found:
        return None
    label, outputs = found.group(1), int(found.group(2))
    return InputError(f"training data has label {label}, but the model has {outputs} outputs "
                      f"(labels 0..{outputs - 1}). Build the model with one class name per "
                      "label, e.g. load_classifier(name, data.class_names), or fix the labels.")
