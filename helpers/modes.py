"""Run modes: one notebook serves a reader (``full``), a classroom (``quick``) and CI (``smoke``).

Each notebook's ``parameters`` cell sets ``MODE``; the environment variable
``NOTEBOOK_MODE`` overrides it, so ``NOTEBOOK_MODE=smoke`` runs every notebook on tiny
subsets without editing them.

    >>> from helpers.modes import get_mode
    >>> mode = get_mode("quick")
    >>> mode.settings.maxlen, mode.train_size
    (128, 320)
    >>> train, test = mode.load_data()      # stratified subsets of the tutorial's task
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.data import LabeledTexts
from helpers.full_run import RunSettings

ENV_VAR = "NOTEBOOK_MODE"


def readable_tables() -> None:
    """Let pandas show whole cells (a sender, a subject, a note) instead of cutting them at
    50 characters, and wide tables in one piece. Every notebook imports this module first,
    so it applies to them all.

    >>> readable_tables(); pd.get_option("display.max_colwidth")
    300
    """
    pd.set_option("display.max_colwidth", 300)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 30)


readable_tables()


@dataclass(frozen=True)
class RunMode:
    """How big a notebook's work is: data sizes, training settings, explanation effort.

    ``train_size`` / ``eval_size`` of ``None`` mean all 2,257 / 1,502 messages.
    """

    name: str
    audience: str
    train_size: int | None
    eval_size: int | None
    settings: RunSettings
    lime_samples: int
    gradient_steps: int

    def load_data(self) -> tuple[LabeledTexts, LabeledTexts]:
        """The tutorial's (train, test) task, cut to this mode's sizes (stratified, fixed seed).

        >>> train, test = get_mode("smoke").load_data()
        >>> len(train), len(test)
        (32, 32)
        """
        from helpers.data import load_newsgroups

        train, test = load_newsgroups(remove=self.settings.remove)
        return subset(train, self.train_size, self.settings.seed), subset(test, self.eval_size, self.settings.seed)

    def describe(self) -> pd.DataFrame:
        """What each mode changes, one column per mode, this one marked with an arrow.

        >>> get_mode("smoke").describe().columns[-1]
        '→ smoke'
        """
        rows = {
            "for": lambda m: m.audience,
            "training messages": lambda m: _size(m.train_size, 2257),
            "evaluation messages": lambda m: _size(m.eval_size, 1502),
            "maxlen (tokens)": lambda m: m.settings.maxlen,
            "epochs": lambda m: m.settings.epochs,
            "batch size": lambda m: m.settings.batch_size,
            "LR finder steps": lambda m: m.settings.lr_find_steps,
            "LIME perturbed texts": lambda m: m.lime_samples,
            "integrated-gradient steps": lambda m: m.gradient_steps,
        }
        return pd.DataFrame({(f"→ {m.name}" if m.name == self.name else m.name):
                             {row: value(m) for row, value in rows.items()} for m in MODES.values()})

    def __repr__(self) -> str:
        return f"RunMode({self.name!r}: {self.audience})"


def _size(n: int | None, total: int) -> str:
    return f"all {total:,}" if n is None else f"{n:,}"


MODES: dict[str, RunMode] = {
    "full": RunMode("full", "a reader: the tutorial's task at full size", None, None, RunSettings(),
                    lime_samples=1000, gradient_steps=32),
    "quick": RunMode("quick", "a classroom: each notebook in about 2 minutes", 320, 200,
                     RunSettings(maxlen=128, epochs=3, lr_max=3e-4, lr_find_steps=24),
                     lime_samples=300, gradient_steps=16),
    "smoke": RunMode("smoke", "CI: tiny subsets, every cell runs", 32, 32,
                     RunSettings(maxlen=32, epochs=1, batch_size=8, lr_max=2e-4, lr_find_steps=8),
                     lime_samples=40, gradient_steps=4),
}


def get_mode(name: str = "full") -> RunMode:
    """The run mode called ``name``, unless ``$NOTEBOOK_MODE`` names another.

    >>> get_mode("full").settings.maxlen
    256
    """
    chosen = os.environ.get(ENV_VAR) or name
    key = chosen.strip().lower()
    if key not in MODES:
        source = f"${ENV_VAR}" if os.environ.get(ENV_VAR) else "MODE"
        raise ValueError(f"{source} is {chosen!r}; choose one of {sorted(MODES)}.")
    return MODES[key]


def with_settings(mode: RunMode, **changes) -> RunMode:
    """A copy of ``mode`` with some training settings changed (for "try this" experiments).

    >>> with_settings(get_mode("quick"), maxlen=64).settings.maxlen
    64
    """
    return dataclasses.replace(mode, settings=dataclasses.replace(mode.settings, **changes))


def subset(data: LabeledTexts, size: int | None, seed: int = 42) -> LabeledTexts:
    """``size`` texts of ``data`` with the class proportions kept (all of them for ``None``).

    Texts keep their original order, so the same size always gives the same texts.

    >>> small = subset(train, 100)
    >>> len(small), small.class_names == train.class_names
    (100, True)
    """
    if size is None or size >= len(data):
        return data
    if size < len(data.class_names):
        raise ValueError(f"size {size} is smaller than the number of classes ({len(data.class_names)}).")
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(np.arange(len(data)), train_size=size, stratify=data.labels, random_state=seed)
    return data.take(np.sort(keep))
