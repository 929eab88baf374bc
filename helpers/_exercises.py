"""The notebooks' "Try this" exercises, run and written down: plumbing behind
``python -m helpers._exercises``; a learner can skip it.

Each notebook's "## Try this" cell holds fenced ```python blocks. This module finds them
(``exercises``), runs each notebook followed by its blocks in a fresh kernel, in one run
mode, and writes what every block printed into ``docs/exercises.md``, with the date, the
mode and the CPU: the answers in the notebooks point there for what was measured. Each
block is named by a hash of its code, so a test notices an exercise whose code changed
after its output was written down.

    python -m helpers._exercises                 # quick mode, every notebook (~15 min here)
    python -m helpers._exercises --only 03 04    # rewrite these notebooks' sections only

A block whose first line is a comment starting ``# needs:`` depends on a terminal step
first (a second training, say): it is listed, not run.

    >>> import nbformat
    >>> cell = nbformat.v4.new_markdown_cell("## Try this\\n\\n- one:\\n  ```python\\n  x = 1\\n  ```\\n")
    >>> exercises(nbformat.v4.new_notebook(cells=[cell]))
    ['x = 1\\n']
    >>> block_id("x = 1\\n")
    '9e26bf369911'
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import re
import sys
import textwrap
import time
from pathlib import Path

from helpers.paths import project_dir

FENCE = re.compile(r"^[ \t]*```python\n(?P<code>.*?)^[ \t]*```", re.M | re.S)
NEEDS = "# needs:"
DOC = "docs/exercises.md"
MAX_LINES = 40  # of one block's output, in the document
_SECTION = re.compile(r"^## (?P<name>\d\d_\w+)\n.*?(?=^## \d\d_|\Z)", re.M | re.S)


def exercises(nb) -> list[str]:
    """The fenced Python blocks of a notebook's "Try this" cell, dedented, in order."""
    cells = [c for c in nb.cells if c.cell_type == "markdown" and "## Try this" in c.source]
    return [textwrap.dedent(m["code"]) for c in cells for m in FENCE.finditer(c.source)]


def runnable(block: str) -> bool:
    """Whether a block runs as written after its notebook (no ``# needs:`` first line)."""
    return not block.lstrip().startswith(NEEDS)


def block_id(block: str) -> str:
    """The first 12 hex digits of the SHA-256 of a block's code: its name in the document."""
    return hashlib.sha256(block.encode()).hexdigest()[:12]


def _printed(cell) -> str:
    """What a cell showed, as text: its printed lines, a table's text, "[a figure]"."""
    parts = []
    for output in cell.get("outputs", []):
        kind = output.get("output_type")
        if kind == "stream":
            parts.append(("[on stderr] " if output.get("name") == "stderr" else "") + output["text"])
        elif kind in ("execute_result", "display_data"):
            data = output.get("data", {})
            parts.append("[a figure]\n" if "image/png" in data else data.get("text/plain", "") + "\n")
        elif kind == "error":
            parts.append(f"[error] {output.get('ename')}: {output.get('evalue')}\n")
    lines = "".join(parts).rstrip("\n").split("\n")
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES] + [f"... ({len(lines) - MAX_LINES} more lines)"]
    return "\n".join(lines) if any(lines) else "(nothing printed)"


def section(path: Path, mode: str, blocks: list[str], executed, seconds: float) -> str:
    """The document's section for one notebook: when and how it ran, then each block's output."""
    from helpers.precision import cpu_summary

    ran = [b for b in blocks if runnable(b)]
    outputs = dict(zip(ran, executed.cells[len(executed.cells) - len(ran):]))
    lines = [f"## {path.stem}", "",
             f"Measured {dt.date.today().isoformat()} in **{mode}** mode on {cpu_summary()}: the notebook, then "
             f"its {len(ran)} block(s), in one fresh kernel, {seconds:.0f} s in all.", ""]
    for number, block in enumerate(blocks, 1):
        lines += [f"### Block {number} · `{block_id(block)}`", ""]
        if block in outputs:
            lines += ["```text", _printed(outputs[block]), "```", ""]
        else:
            lines += ["Not run here: " + block.lstrip().splitlines()[0][len(NEEDS):].strip(), ""]
    return "\n".join(lines)


HEADER = """# What the "Try this" exercises printed

Written by `python -m helpers._exercises` (do not edit by hand): each notebook ran
in a fresh kernel followed by the fenced blocks of its "Try this" cell, and below is what each
block printed. The notebooks' answers say what to look for; these are the numbers one run gave,
with the date, the run mode and the CPU. A block is named by a hash of its code; a test fails
when a notebook's block no longer matches what was run here.

"""


def write(sections: dict[str, str]) -> Path:
    """Merge these notebooks' sections into the document, keeping the others' as they were."""
    path = project_dir() / DOC
    old = {m["name"]: m.group(0).rstrip() + "\n" for m in _SECTION.finditer(path.read_text())} if path.is_file() else {}
    merged = {**old, **{k: v.rstrip() + "\n" for k, v in sections.items()}}
    path.write_text(HEADER + "\n".join(merged[k] for k in sorted(merged)))
    return path


def recorded_ids() -> set[str]:
    """The block names the document holds."""
    path = project_dir() / DOC
    return set(re.findall(r"^### Block \d+ · `([0-9a-f]{12})`", path.read_text(), re.M)) if path.is_file() else set()


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m helpers._exercises --help``."""
    import nbformat

    from helpers.artifacts import artifacts_dir
    from helpers.run import MODES, get_mode
    from helpers.suite import notebook_paths, run_notebook

    parser = argparse.ArgumentParser(prog="python -m helpers._exercises", description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=sorted(MODES), default="quick")
    parser.add_argument("--only", nargs="*", help="notebooks whose name starts with these (e.g. 03 04)")
    args = parser.parse_args(argv)
    out_dir = artifacts_dir(get_mode(args.mode)) / "exercises"
    sections = {}
    for path in notebook_paths():
        if args.only and not path.name.startswith(tuple(args.only)):
            continue
        blocks = exercises(nbformat.read(path, as_version=4))
        if not blocks:
            continue
        print(f"{path.name:<32} ({args.mode}, {sum(map(runnable, blocks))} blocks) ", end="", flush=True)
        start = time.perf_counter()
        run_notebook(path, args.mode, out_dir, then=tuple(b for b in blocks if runnable(b)))
        seconds = time.perf_counter() - start
        print(f"{seconds:5.0f} s", flush=True)
        sections[path.stem] = section(path, args.mode, blocks, nbformat.read(out_dir / path.name, as_version=4),
                                      seconds)
    print(f"written: {write(sections)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
