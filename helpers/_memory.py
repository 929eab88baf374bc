"""Turn TensorFlow's out-of-memory error into a short message that says what to change.

    >>> from helpers._memory import out_of_memory_hint
    >>> with out_of_memory_hint("training"):
    ...     model.fit(batches)                     # doctest: +SKIP
    OutOfMemoryError: Out of memory while training ... use a smaller batch_size ...
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from helpers.backend import tf


class OutOfMemoryError(MemoryError):
    """A device (usually a GPU) ran out of memory; the message suggests smaller settings."""


@contextmanager
def out_of_memory_hint(what: str, *, batch_size: int | None = None,
                       maxlen: int | None = None) -> Iterator[None]:
    """Re-raise ``tf.errors.ResourceExhaustedError`` in the block as a short ``OutOfMemoryError``.

    >>> with out_of_memory_hint("predicting", batch_size=32, maxlen=256):
    ...     predictor.predict_proba(texts)          # doctest: +SKIP
    """
    try:
        yield
    except tf.errors.ResourceExhaustedError as err:
        first_line = (err.message or "").strip().splitlines()[:1]
        detail = f" (TensorFlow: {first_line[0][:160]})" if first_line else ""
        now = ", ".join(f"{k}={v}" for k, v in (("batch_size", batch_size), ("maxlen", maxlen))
                        if v is not None)
        raise OutOfMemoryError(
            f"Out of memory while {what}{f' with {now}' if now else ''}{detail}. Fix: use a "
            "smaller batch_size (e.g. half: TextEncoder.dataset(..., batch_size=8)) or a "
            "smaller maxlen (TextEncoder.from_model(..., maxlen=128)), or a smaller model."
        ) from None
