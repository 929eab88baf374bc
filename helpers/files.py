"""Small file utilities shared by the data cache, saved predictors and benchmark records.

    >>> from helpers.files import sha256, write_json
    >>> write_json(Path("out/record.json"), {"accuracy": 0.96})   # atomic: never half-written
    >>> update_json(Path("out/records.json"), "full_run", {"accuracy": 0.95})  # other keys kept
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


def update_json(path: Path, key: str, value: Any, *, merge: bool = False) -> None:
    """Set ``key`` in the JSON object stored at ``path`` (created if missing), other keys kept.

    ``merge=True`` merges a dict ``value`` into the one already there instead of replacing it.
    The one way records are written: run records, benchmark results, notebooks' numbers.

    >>> update_json(Path("out/records.json"), "04", {"accuracy": 0.9}, merge=True)  # doctest: +SKIP
    """
    path = Path(path)
    try:
        stored = json.loads(path.read_text()) if path.is_file() else {}
    except ValueError as err:
        raise ValueError(f"{path} is not valid JSON ({err}); fix or delete it, then run again.") from None
    if not isinstance(stored, dict):
        raise ValueError(f"{path} holds a JSON {type(stored).__name__}, not an object; fix or delete it.")
    stored[key] = {**stored.get(key, {}), **value} if merge else value
    write_json(path, stored)
