"""The package's docstring examples, run: every ``>>>`` line in ``helpers`` (``make test`` runs this).

Each module's examples run in a fresh temporary project folder (``HELPERS_PROJECT_DIR``, also
the working directory), so nothing they write lands in the checkout, with these names ready:

- ``tmp``: that folder (a ``pathlib.Path``); ``np``, ``pd``, ``Path``, ``json``;
- ``encoder``: the embedded model's real tokenizer (``maxlen=64``);
- ``model``: a tiny random 4-class classifier (compiled) that reads ``encoder``'s tokens;
- ``predictor``: ``model`` + ``encoder`` with the tutorial's four class names;
- ``train``, ``test``: the tutorial's task (the real corpus, ``helpers.data.load_newsgroups``);
- ``texts``, ``labels``: eight texts of ``train`` and their labels;
- ``finder``: an LR finder result from ``model`` on ``texts``; ``get_mode`` (``helpers.run``).

Examples that need a trained model or minutes of work say ``# doctest: +SKIP``; the test
below also counts them, so they stay a minority.
"""

from __future__ import annotations

import doctest
import importlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import CLASS_NAMES, tiny_config

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(f"helpers.{p.stem}" if p.stem != "__init__" else "helpers"
                 for p in (ROOT / "helpers").glob("*.py"))
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.fixture(scope="module")
def namespace(encoder):
    for name in MODULES:  # imported here, in the real project: module constants (suite.ROOT) see it
        importlib.import_module(name)
    from helpers._archive import ARCHIVE_NAME
    from helpers.data import load_newsgroups
    from helpers.lr_finder import lr_find
    from helpers.model import build_from_config, compile_classifier
    from helpers.paths import project_dir
    from helpers.predictor import Predictor
    from helpers.run import get_mode

    archive = os.environ.get("NEWSGROUPS_ARCHIVE") or str(project_dir().parent / "shared" / "data" / ARCHIVE_NAME)
    train, test = load_newsgroups(archive=archive)
    model = compile_classifier(build_from_config(tiny_config(), seed=0), learning_rate=1e-3)
    texts, labels = train.texts[:8], train.labels[:8]
    model(next(iter(encoder.dataset(texts[:1], batch_size=1))))  # build the weights
    finder = lr_find(model, encoder.dataset(texts, labels, batch_size=4, shuffle=True), num_steps=12,
                     progress=False)
    return {"encoder": encoder, "model": model, "predictor": Predictor(model, encoder, CLASS_NAMES),
            "train": train, "test": test, "texts": texts, "labels": labels, "finder": finder,
            "get_mode": get_mode, "np": np, "pd": pd, "Path": Path, "json": json, "_archive": archive}


def examples(module_name: str) -> list[doctest.DocTest]:
    module = importlib.import_module(module_name)
    tests = doctest.DocTestFinder(exclude_empty=True).find(module, module_name)
    return [t for t in tests if t.examples]


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples_run(module_name, namespace, tmp_path, monkeypatch):
    for var in ("NOTEBOOK_ARTIFACTS", "NOTEBOOK_MODE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HELPERS_PRECISION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HELPERS_PROJECT_DIR", str(tmp_path))
    monkeypatch.setenv("NEWSGROUPS_ARCHIVE", namespace["_archive"])
    monkeypatch.chdir(tmp_path)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report = []
    for test in examples(module_name):
        test.globs = {**test.globs, **{k: v for k, v in namespace.items() if k != "_archive"}, "tmp": tmp_path}
        lines: list[str] = []
        result = runner.run(test, out=lines.append, clear_globs=True)
        if result.failed:
            report.append("".join(lines))
    assert not report, "\n".join(report)


def test_most_examples_run_rather_than_being_skipped():
    ran = skipped = 0
    for name in MODULES:
        for test in examples(name):
            for example in test.examples:
                if example.options.get(doctest.SKIP):
                    skipped += 1
                else:
                    ran += 1
    assert ran > 2 * skipped, f"{ran} examples run, {skipped} skipped"
