"""A run's settings and size: ``RunSettings`` (what decides a result), the run modes (one notebook
serves a reader, ``full``; a classroom, ``quick``; CI, ``smoke``) and ``phase`` (timing each step).

Each notebook's ``parameters`` cell sets ``MODE``; the environment variable ``NOTEBOOK_MODE``
overrides it, so ``NOTEBOOK_MODE=smoke`` runs every notebook on tiny subsets without editing them.

    >>> from helpers.run import RunSettings, get_mode
    >>> mode = get_mode("quick")
    >>> mode.settings.maxlen, mode.train_size
    (128, 320)
    >>> RunSettings().batch_size
    16
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from helpers.data import LabeledTexts, subset


@dataclasses.dataclass(frozen=True)
class RunSettings:
    """Everything that decides a run's result. Defaults: the settings chosen on validation.
    Not in a notebook.
    """

    model: str = "minilm-l6"
    maxlen: int = 256
    batch_size: int = 16
    # On the date-ordered validation split (bench/date_validation.py; bench/variants.py tables
    # every run): 4 epochs 97.12% and 97.35% (seeds 42, 7), 5 epochs 97.57%, the best of the
    # variants tried (README, "Variants"); five still fit the 20-minute budget here.
    epochs: int = 5
    # None: the LR finder's suggestion, taken afresh on every run (README, "The LR finder").
    # A number overrides the finder; so does lr_suggestion, naming another of its suggestions.
    lr_max: float | None = None
    lr_suggestion: str | None = None
    # The finder sweeps on texts cut at 128 tokens: half the cost, the same suggestions
    # as at 256 on the date-ordered split (README).
    lr_find_maxlen: int = 128
    lr_find_steps: int | None = None  # None: the finder's own default (helpers.lr_finder.SWEEP)
    padding: Literal["dynamic", "static"] = "dynamic"
    # Length bucketing of the training batches saves padding, but it cost accuracy on the
    # date-ordered validation split (95.58% against 96.46%, same settings; see README) and
    # was not faster under model.fit, where batches of many lengths cost more. Off by default.
    bucket: bool = False
    remove: tuple[str, ...] = ()
    # Head+tail truncation: a longer text keeps its first maxlen - tail tokens and its last
    # tail ones, in training and prediction alike (0: the head only).
    tail: int = 0
    # The head reads the [CLS] vector ("cls") or the mean of the token vectors ("mean",
    # how the embedded model was trained as a sentence encoder; helpers.pooling).
    pooling: str = "cls"
    # Layer-wise learning-rate decay (helpers.layer_decay): each encoder layer learns at this
    # share of the rate of the layer above it; 1.0: one rate for all.
    layer_decay: float = 1.0
    seed: int = 42
    val_size: float = 0.2  # used when evaluating on a validation split
    # "auto": bfloat16 where this machine multiplies it fast, else float32 (helpers.precision).
    precision: str = "auto"

    @classmethod
    def for_model(cls, model: str | None = None, **changes) -> RunSettings:
        """The recipe for ``model`` (default: the default model): these defaults, then what
        ``MODEL_RECIPES`` chose for that model, then ``changes``. Not in a notebook.

        >>> RunSettings.for_model("minilm-l6") == RunSettings()
        True
        >>> RunSettings.for_model("mpnet-base").pooling
        'mean'
        """
        model = model or cls().model
        return dataclasses.replace(cls(), model=model, **{**MODEL_RECIPES.get(model, {}), **changes})


# Where a model's own validation runs chose differently from the defaults above (the same
# date-ordered split, bench/date_validation.py; docs/results.md, "The large model"). The
# large model diverged at the finder's steepest rate; it reads the mean of its token
# vectors, as it was trained to, at a fixed lower rate, for fewer epochs (each costs more).
MODEL_RECIPES: dict[str, dict[str, object]] = {
    "mpnet-base": {"pooling": "mean", "lr_max": 3e-5, "epochs": 3},
}


@contextmanager
def phase(seconds: dict[str, float], name: str) -> Iterator[None]:
    """Time the ``with`` block into ``seconds[name]`` (rounded to 0.1 s) and print it.
    Taught in notebooks/04_one_cycle_training.ipynb.

    >>> seconds = {}
    >>> with phase(seconds, "train"):
    ...     history = fit_onecycle(model, batches, lr_max=1e-4, epochs=1)  # doctest: +SKIP
    [train] 250 s
    >>> with phase(seconds, "nothing"):
    ...     pass
    [nothing] 0 s
    >>> seconds["nothing"]
    0.0
    """
    start = time.perf_counter()
    yield
    seconds[name] = round(time.perf_counter() - start, 1)
    print(f"[{name}] {seconds[name]:.0f} s", flush=True)


ENV_VAR = "NOTEBOOK_MODE"


def readable_tables() -> None:
    """Let pandas show whole cells (a sender, a subject, a note) instead of cutting them at
    50 characters, and wide tables in one piece. Every notebook imports this module first,
    so it applies to them all.
    Not in a notebook.

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
    Not in a notebook.
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
            "LR finder steps": lambda m: m.settings.lr_find_steps or "its default",
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
    Taught in notebooks/01_data.ipynb and notebooks/02_model_selection.ipynb.

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
    Not in a notebook.

    >>> with_settings(get_mode("quick"), maxlen=64).settings.maxlen
    64
    """
    return dataclasses.replace(mode, settings=dataclasses.replace(mode.settings, **changes))
