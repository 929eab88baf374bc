"""Progress bars: tqdm's widget in Jupyter, plain text in a terminal or a headless run.

Text bars go to stdout: a notebook shows stderr on a red background, as if it were an error.

A notebook executed headlessly would store the widget as a frozen "0%"; set
``HELPERS_PROGRESS=text`` (``python -m helpers.suite`` does) to get text bars instead.

    >>> from helpers._progress import progress
    >>> for batch in progress(batches, desc="predicting", unit="batch"):  # doctest: +SKIP
    ...     ...
"""

from __future__ import annotations

import os
import sys
from typing import Iterable, TypeVar

T = TypeVar("T")
ENV_VAR = "HELPERS_PROGRESS"


def progress(iterable: Iterable[T], **kwargs) -> Iterable[T]:
    """``iterable`` wrapped in a tqdm progress bar (keyword arguments go to tqdm), on stdout.

    >>> list(progress(range(3), disable=True))
    [0, 1, 2]
    """
    if os.environ.get(ENV_VAR) == "text":
        from tqdm.std import tqdm
    else:
        from tqdm.auto import tqdm
    return tqdm(iterable, **{"file": sys.stdout, **kwargs})
