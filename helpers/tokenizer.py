"""Texts -> token ids -> padded batches that a transformer can read.

A transformer reads a batch as a rectangle of token ids, so shorter texts are padded.
Padding every text to ``maxlen`` ("static") wastes work on pad tokens; padding each
batch only to its own longest text ("dynamic"), and putting texts of similar length in
the same batch ("bucketing"), removes most of that waste.

    >>> from helpers.tokenizer import TextEncoder
    >>> encoder = TextEncoder.from_model("minilm-l6", maxlen=256)
    >>> batches = encoder.dataset(["a short text", "another one"], [0, 1], batch_size=2)
    >>> inputs, labels = next(iter(batches))
    >>> inputs["input_ids"].shape          # padded to the longest text, not to 256
    TensorShape([2, 5])
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Sequence

import numpy as np
import pandas as pd

from helpers.backend import AutoTokenizer, tf
from helpers.checks import check_batch_size, check_labels, check_texts
from helpers.model import EMBEDDED_MODEL, ModelSource, check_no_custom_code, resolve_model
from helpers.run import RunSettings

Padding = Literal["dynamic", "static"]
_ENCODE_CHUNK = 1000  # texts per call to the (multi-threaded, Rust) fast tokenizer


class TextEncoder:
    """A model's fast tokenizer plus the ``maxlen`` it truncates to.

    A long text keeps its first ``maxlen - tail`` tokens and its last ``tail`` ones
    (``tail=0``, the default: the head only). A newsgroup message's head holds the
    headers and the opening, its tail the signature and the conclusion.
    Taught in notebooks/01_data.ipynb and notebooks/02_model_selection.ipynb.

    >>> encoder = TextEncoder.from_model("minilm-l6", maxlen=128)
    >>> [len(ids) for ids in encoder.encode(["hello world", "x " * 500])]
    [4, 128]
    """

    def __init__(self, tokenizer, maxlen: int = RunSettings.maxlen, tail: int = RunSettings.tail) -> None:
        if not getattr(tokenizer, "is_fast", False):
            raise ValueError("TextEncoder needs a fast (Rust) tokenizer; this model has none.")
        model_max = getattr(tokenizer, "model_max_length", None) or maxlen
        if not 2 < maxlen <= min(model_max, 100_000):
            raise ValueError(
                f"maxlen={maxlen} is out of range: it must be more than 2 (room for the "
                f"special tokens) and at most the model's limit, {model_max}."
            )
        if not 0 <= tail <= maxlen - 2:
            raise ValueError(f"tail={tail} is out of range: it must be between 0 (keep the head "
                             f"only) and maxlen - 2 = {maxlen - 2} (room for [CLS] at the head).")
        self.tokenizer = tokenizer
        self.maxlen = int(maxlen)
        self.tail = int(tail)

    @classmethod
    def from_model(cls, name: str | ModelSource = EMBEDDED_MODEL, maxlen: int = RunSettings.maxlen,
                   tail: int = RunSettings.tail) -> "TextEncoder":
        """The tokenizer that belongs to a model name or directory (see ``helpers.model``).

        >>> TextEncoder.from_model("minilm-l6").maxlen
        256
        """
        if isinstance(name, ModelSource):
            path = name.path
        elif Path(name).is_dir():  # a model folder, or one that holds only tokenizer files
            path = Path(name)
        else:
            path = resolve_model(name).path
        check_no_custom_code(path)
        return cls(AutoTokenizer.from_pretrained(path, use_fast=True, trust_remote_code=False),
                   maxlen, tail)

    @property
    def pad_token_id(self) -> int:
        return int(self.tokenizer.pad_token_id or 0)

    def save(self, directory: str | Path) -> None:
        """Write the tokenizer files (JSON and vocabulary, no pickles) to ``directory``."""
        self.tokenizer.save_pretrained(str(directory))

    def encode(self, texts: Sequence[str], *, truncate: bool = True) -> list[np.ndarray]:
        """Token ids per text, special tokens included, cut to ``maxlen`` unless asked not to
        (the first ``maxlen - tail`` and the last ``tail`` of a longer text).

        >>> encoder.encode(["Hello world"])[0]
        array([ 101, 7592, 2088,  102], dtype=int32)
        """
        texts = check_texts(texts, where="TextEncoder.encode")
        head_only = truncate and not self.tail
        ids: list[np.ndarray] = []
        for start in range(0, len(texts), _ENCODE_CHUNK):
            chunk = self.tokenizer(
                texts[start : start + _ENCODE_CHUNK],
                truncation=head_only,
                max_length=self.maxlen if head_only else None,
                return_attention_mask=False,
                return_token_type_ids=False,
                verbose=False,
            )["input_ids"]
            ids.extend(np.asarray(row, dtype=np.int32) for row in chunk)
        if truncate and self.tail:
            head = self.maxlen - self.tail
            ids = [row if len(row) <= self.maxlen else np.concatenate([row[:head], row[-self.tail:]])
                   for row in ids]
        return ids

    def token_lengths(self, texts: Sequence[str]) -> np.ndarray:
        """How many tokens each text has before truncation.

        >>> encoder.token_lengths(["Hello world"])
        array([4])
        """
        return np.array([len(ids) for ids in self.encode(texts, truncate=False)])

    def dataset(
        self,
        texts: Sequence[str],
        labels: Sequence[int] | np.ndarray | None = None,
        *,
        batch_size: int = RunSettings.batch_size,
        padding: Padding = RunSettings.padding,
        bucket: bool = RunSettings.bucket,
        shuffle: bool = False,
        seed: int = 0,
    ) -> tf.data.Dataset:
        """A ``tf.data`` pipeline of ``(inputs, labels)`` batches (just ``inputs`` without labels).

        ``padding="dynamic"`` pads each batch to its own longest text; ``"static"`` pads
        every batch to ``maxlen``. ``bucket=True`` groups texts of similar length into the
        same batch (off by default, as in ``RunSettings``: it cost accuracy here). Without
        shuffling and bucketing the batches keep the order of ``texts``, which is what
        prediction needs. Defaults: the project's ``helpers.run.RunSettings``.
        Every text is in exactly one batch per pass; the last batch may be smaller.

        >>> train = encoder.dataset(texts, labels, shuffle=True)          # training
        >>> test = encoder.dataset(texts, labels)                          # evaluation
        """
        if padding not in ("dynamic", "static"):
            raise ValueError(f"padding must be 'dynamic' or 'static', not {padding!r}.")
        batch_size = check_batch_size(batch_size)
        texts = check_texts(texts, where="TextEncoder.dataset")
        if labels is not None:
            labels = check_labels(labels, n_texts=len(texts), where="TextEncoder.dataset")
        ids = self.encode(texts)

        # All ids in one flat tensor; each example is a (start, length) slice of it.
        flat = tf.constant(np.concatenate(ids))
        lengths = np.array([len(row) for row in ids], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])

        def to_inputs(start, length):
            token_ids = flat[start : start + length]
            return {"input_ids": token_ids, "attention_mask": tf.ones_like(token_ids)}

        spans = tf.data.Dataset.from_tensor_slices((starts, lengths))
        if labels is None:
            ds = spans
        else:
            ds = tf.data.Dataset.zip(spans, tf.data.Dataset.from_tensor_slices(labels.astype(np.int32)))
        if shuffle:
            ds = ds.shuffle(len(ids), seed=seed, reshuffle_each_iteration=True)
        if labels is None:
            ds = ds.map(to_inputs, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        else:
            ds = ds.map(
                lambda span, label: (to_inputs(*span), label),
                num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=True,
            )

        width = self.maxlen if padding == "static" else None
        pad_inputs = {
            "input_ids": tf.constant(self.pad_token_id, tf.int32),
            "attention_mask": tf.constant(0, tf.int32),
        }
        shapes_inputs = {"input_ids": [width], "attention_mask": [width]}
        if labels is None:
            pad_values, shapes = pad_inputs, shapes_inputs
        else:
            pad_values, shapes = (pad_inputs, tf.constant(0, tf.int32)), (shapes_inputs, [])

        if bucket:
            boundaries = _bucket_boundaries(self.maxlen)
            ds = ds.bucket_by_sequence_length(
                element_length_func=lambda x, *_: tf.shape(x["input_ids"])[0],
                bucket_boundaries=boundaries,
                bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
                padded_shapes=shapes,
                padding_values=pad_values,
                pad_to_bucket_boundary=False,
            )
            # Each bucket ends with one part-filled batch, so the count is fixed: tell tf.data,
            # so progress bars show a total and schedules know the number of steps.
            per_bucket = np.bincount(np.searchsorted(boundaries, lengths, side="right"))
            n_batches = int(sum(-(-count // batch_size) for count in per_bucket))
            ds = ds.apply(tf.data.experimental.assert_cardinality(n_batches))
        else:
            ds = ds.padded_batch(batch_size, padded_shapes=shapes, padding_values=pad_values)
        return ds.prefetch(tf.data.AUTOTUNE)


def _bucket_boundaries(maxlen: int, buckets: int = 16) -> list[int]:
    """Length limits of the buckets: ``buckets`` equal slices of ``0..maxlen`` (at least 8 tokens wide).

    More buckets mean less padding but more part-filled batches at the end of an epoch.
    """
    width = max(8, maxlen // buckets)
    return list(range(width + 1, maxlen + 1, width))


def length_stats(lengths: Sequence[int] | np.ndarray, maxlen: int) -> pd.Series:
    """Percentiles of token lengths (whole tokens) and the shares that ``maxlen`` cuts: of the
    texts (``truncated``) and of all their tokens (``tokens_lost``).
    Taught in notebooks/01_data.ipynb.

    >>> length_stats([10, 20, 30, 400], maxlen=256)[["texts", "p50", "max", "truncated", "tokens_lost"]].tolist()
    [4, 25, 400, 0.25, 0.313]
    """
    lengths = np.asarray(lengths)
    if lengths.size == 0:
        raise ValueError("No lengths given.")
    stats = {"texts": int(lengths.size), "mean": round(float(lengths.mean()), 1)}
    for p in (10, 25, 50, 75, 90, 95, 99):
        stats[f"p{p}"] = int(round(float(np.percentile(lengths, p))))
    stats["max"] = int(lengths.max())
    stats["maxlen"] = int(maxlen)
    stats["truncated"] = round(float((lengths > maxlen).mean()), 3)
    stats["tokens_lost"] = round(float(np.clip(lengths - maxlen, 0, None).sum() / lengths.sum()), 3)
    return pd.Series(stats, name="token lengths", dtype=object)  # counts stay whole numbers in a table


def plot_lengths(lengths: Sequence[int] | np.ndarray, maxlen: int, ax=None):
    """Histogram of token lengths with the ``maxlen`` cut marked; returns the axes.
    Taught in notebooks/01_data.ipynb.

    >>> plot_lengths(encoder.token_lengths(train.texts), maxlen=256)  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    lengths = np.asarray(lengths)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    cap = np.percentile(lengths, 99)
    ax.hist(np.clip(lengths, 0, cap), bins=60, color="#4c72b0")
    truncated = (lengths > maxlen).mean()
    ax.axvline(maxlen, color="#c44e52", linestyle="--", label=f"maxlen={maxlen}: {truncated:.0%} truncated")
    ax.axvline(np.median(lengths), color="#55a868", label=f"median {np.median(lengths):.0f} tokens")
    ax.set_xlabel("tokens per text (longest 1% clipped)")
    ax.set_ylabel("texts")
    ax.legend()
    return ax
