"""Offline mode: one switch for every download, and a short timeout when online.

``HF_HUB_OFFLINE=1`` (or ``TRANSFORMERS_OFFLINE=1``) turns off every download this project
would try: Hugging Face hub models and scikit-learn's 20 Newsgroups downloader. Entry
points then work from local files or fail at once, saying which file or package to provide.

    >>> import os
    >>> os.environ["HF_HUB_OFFLINE"] = "1"
    >>> is_offline()
    True
    >>> del os.environ["HF_HUB_OFFLINE"]
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

NETWORK_TIMEOUT = 20.0  # seconds without an answer before a download gives up


def is_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` or ``TRANSFORMERS_OFFLINE`` is 1/true/yes/on.

    Read at call time, so setting it in a running notebook takes effect at once
    (``huggingface_hub`` itself reads it only when first imported).

    >>> is_offline()                          # with neither variable set
    False
    """
    return any(os.environ.get(var, "").strip().upper() in {"1", "ON", "YES", "TRUE"}
               for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


@contextmanager
def network_timeout(seconds: float = NETWORK_TIMEOUT) -> Iterator[None]:
    """Give sockets opened in the block a timeout, so a dead network fails instead of hanging.

    >>> with network_timeout(5):
    ...     fetch_20newsgroups(subset="all")     # doctest: +SKIP
    """
    before = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(before)
