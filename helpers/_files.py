"""File plumbing shared by the data cache, saved predictors, checkpoints and run records:
checksums, atomic JSON writes, the one records helper and the one atomic folder replacement.

    >>> from helpers._files import sha256, update_json, write_json
    >>> write_json(tmp / "record.json", {"accuracy": 0.96})   # atomic: never half-written
    >>> update_json(tmp / "records.json", "full_run", {"accuracy": 0.95})  # other keys kept
    >>> len(sha256(tmp / "record.json"))
    64
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any


def sha256(path: Path) -> str:
    """The file's SHA-256 as hex, read in 1 MiB blocks. Not in a notebook."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as JSON atomically: readers see the old file or the new one, never half.
    Not in a notebook."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, indent=2) + "\n")
    os.replace(tmp, path)


def update_json(path: Path, key: str, value: Any, *, merge: bool = False) -> None:
    """Set ``key`` in the JSON object stored at ``path`` (created if missing), other keys kept.

    ``merge=True`` merges a dict ``value`` into the one already there instead of replacing it.
    The one way records are written: run records, benchmark results, notebooks' numbers.
    Not in a notebook (``helpers.artifacts.note_result`` and ``helpers.full_run.save_record`` use it).

    >>> update_json(tmp / "records.json", "04", {"accuracy": 0.9}, merge=True)
    >>> update_json(tmp / "records.json", "04", {"seconds": 3}, merge=True)
    >>> json.loads((tmp / "records.json").read_text())["04"]
    {'accuracy': 0.9, 'seconds': 3}
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


def replace_folder(tmp: Path, target: Path) -> None:
    """Rename the complete folder ``tmp`` to ``target``, atomically; an old ``target`` is moved
    aside to ``.<name>.old-*`` first and deleted only once the new one is in place (a failed
    rename puts it back). The one way a folder is replaced: the unpacked corpus, a saved
    predictor, a training checkpoint. Not in a notebook.

    >>> (tmp / "new").mkdir(); (tmp / "new" / "a.txt").write_text("new")
    3
    >>> replace_folder(tmp / "new", tmp / "folder"); (tmp / "folder" / "a.txt").read_text()
    'new'
    """
    old = None
    if target.exists():
        old = target.parent / f"{_aside_prefix(target)}{uuid.uuid4().hex[:8]}"
        os.rename(target, old)
    try:
        os.rename(tmp, target)
    except OSError:
        if old is not None:
            os.rename(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _aside_prefix(target: Path) -> str:
    return f".{target.name}.old-"


def moved_aside(target: Path) -> list[Path]:
    """The old folders ``replace_folder`` moved aside from ``target`` and has not deleted yet
    (a process killed between its two renames leaves one), oldest first. Not in a notebook.

    >>> moved_aside(tmp / "folder")
    []
    """
    return sorted(target.parent.glob(f"{_aside_prefix(target)}*"), key=lambda p: p.stat().st_mtime)
