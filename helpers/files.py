"""Small file utilities shared by the data cache, saved predictors and benchmark records.

    >>> from helpers.files import sha256, write_json
    >>> write_json(Path("out/record.json"), {"accuracy": 0.96})   # atomic: never half-written
    >>> sha256(Path("out/record.json"))                           # doctest: +SKIP
    '3f7a...'
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any


def sha256(path: Path) -> str:
    """The file's SHA-256 as hex, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as JSON atomically: readers see the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, indent=2) + "\n")
    os.replace(tmp, path)
