"""The README keeps its promises: its tables are what `make docs` writes from the code and the
records, and every code block on it runs (Python blocks as written, smoke-sized; shell blocks
as a dry run: each `make` target exists and each `python -m helpers` command answers --help)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import _readme
from helpers.paths import project_dir

ROOT = project_dir()
FENCE = re.compile(r"^```(?P<lang>\w+)\n(?P<code>.*?)^```", re.M | re.S)


def blocks(lang: str) -> list[str]:
    return [m["code"] for m in FENCE.finditer((ROOT / "README.md").read_text()) if m["lang"] == lang]


def test_the_generated_tables_are_up_to_date():
    stale = [name for name in _readme.FILES if _readme.render((ROOT / name).read_text()) != (ROOT / name).read_text()]
    assert stale == [], f"{stale} differ from what `make docs` writes: run it and commit the result"


def test_a_stale_table_is_noticed():
    text = (ROOT / "README.md").read_text()
    tampered = re.sub(r"(\| maxlen \(tokens\) \| )\d+", r"\g<1>999", text, count=1)
    assert tampered != text and _readme.render(tampered) == text


def test_the_stamp_is_read_with_and_without_a_machine():
    old = ("**Measured time** (this notebook in a fresh kernel, `python -m helpers.suite`, on the machine that "
           "stored these outputs; each mode's last run): full 155 s · smoke 34 s.")
    new = old.replace("outputs;", "outputs, 2 cores of Some CPU with amx_bf16;")
    parsed_old, parsed_new = _readme._STAMP.search(old), _readme._STAMP.search(new)
    assert (parsed_old["machine"], parsed_old["times"]) == (None, "full 155 s · smoke 34 s")
    assert (parsed_new["machine"], parsed_new["times"]) == ("2 cores of Some CPU with amx_bf16", "full 155 s · smoke 34 s")


def test_the_readme_is_a_newcomers_page():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 220, f"the README has {len(lines)} lines; history belongs in docs/"
    for heading in ("## Two commands", "## The notebooks", "## Your own data", "## Tests"):
        assert heading in lines


@pytest.mark.slow
@pytest.mark.parametrize("code", blocks("python"), ids=lambda c: c.splitlines()[1][:40])
def test_each_python_block_runs(code, tmp_path):
    """Run as written, in a fresh process, from an empty folder (so nothing is left behind)."""
    env = {**os.environ, "HELPERS_PROJECT_DIR": str(ROOT), "HELPERS_PROGRESS": "text"}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]


def shell_commands() -> list[str]:
    commands = []
    for code in blocks("bash"):
        for line in code.splitlines():
            command = line.split("#", 1)[0].strip()
            if command:
                commands.append(command)
    return commands


@pytest.mark.parametrize("command", shell_commands())
def test_each_shell_command_exists(command):
    words = shlex.split(command)
    if words[0] == "make":
        done = subprocess.run(["make", "-n", *words[1:]], cwd=ROOT, capture_output=True, text=True)
    else:
        assert words[:3] == [".venv/bin/python", "-m", "helpers"], f"no dry run known for {command!r}"
        done = subprocess.run([sys.executable, "-m", "helpers", words[3], "--help"], cwd=ROOT,
                              capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
