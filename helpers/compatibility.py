"""Does each model family work here? Train, predict, save and reload a tiny random model of it.

A tiny model (hidden size 32, 2 layers) built from each family's published config goes
through this project's own pipeline (``TextEncoder`` batches, ``compile_classifier``,
``predict_logits``, ``save_pretrained`` and ``load_classifier``); a family that fails keeps
its row, with the stage and the exception. Which families there are: ``helpers.registry``.

    >>> from helpers.compatibility import check_compatibility
    >>> check_compatibility(["bert", "distilbert"])[["family", "verdict"]]  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import re
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import pandas as pd

from helpers.backend import AutoConfig, PretrainedConfig, transformers
from helpers.model import (EMBEDDED_MODEL, ModelSource, build_from_config, classifier_config,
                           compile_classifier, load_classifier)
from helpers.precision import Precision, choose_precision, for_family, precision_scope
from helpers.predictor import predict_logits
from helpers.registry import SPECS, ModelSpec, _fast_tokenizer, published_config
from helpers.tokenizer import TextEncoder

_CLASSES = ["negative", "positive"]
_TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "vocab_size": 30522}
_TINY_EXTRA = {"intermediate_size": 64, "hidden_dim": 64, "d_inner": 64, "embedding_size": 16}
_TEXTS = ["a great film, I loved it", "what a wonderful day", "superb acting and music",
          "I enjoyed every minute", "a dull and boring film", "terrible, I hated it",
          "the worst day ever", "awful acting, bad music"]
_LABELS = np.array([1, 1, 1, 1, 0, 0, 0, 0])
TOKENIZER_NOTE = ("embedded MiniLM WordPiece tokenizer; this family's own tokenizer was "
                  "not exercised (its files cannot be downloaded offline)")


def tiny_config(spec: ModelSpec) -> PretrainedConfig:
    """The spec's config shrunk to hidden 32, 2 layers and the embedded tokenizer's vocab.
    Not in a notebook.
    """
    values = dict(spec.config or published_config(spec).to_dict())
    names = AutoConfig.for_model(spec.model_type).attribute_map  # e.g. hidden_size -> dim
    values.update({names.get(key, key): value for key, value in _TINY.items()})
    values.update({key: value for key, value in _TINY_EXTRA.items() if key in values})
    values.pop("model_type", None)
    return AutoConfig.for_model(spec.model_type, **values)


def _caveats(spec: ModelSpec) -> str:
    notes = []
    if _fast_tokenizer(spec.model_type) is None:
        notes.append("no fast tokenizer in transformers: TextEncoder cannot load its own tokenizer")
    if getattr(published_config(spec), "summary_type", None) == "last":
        notes.append("classifies from the LAST token but our batches pad on the right, so "
                     "shorter texts are read at a pad position (its tokenizer pads left)")
    return "; ".join(notes)


def check_compatibility(families: Iterable[str] | None = None, *, seed: int = 0) -> pd.DataFrame:
    """Train, predict, save and reload a tiny random model of each family through our pipeline.

    ``families`` are model types (``"bert"``, ``"xlnet"``...; default: all in the registry).
    A family that fails keeps its row, with the stage and the exception.
    Taught in notebooks/02_model_selection.ipynb.

    >>> check_compatibility(["bert", "xlnet"])[["family", "verdict", "seconds"]]  # doctest: +SKIP
    """
    by_type = {spec.model_type: spec for spec in reversed(SPECS)}  # bert: the embedded config
    wanted = list(dict.fromkeys(s.model_type for s in SPECS) if families is None else families)
    unknown = [f for f in wanted if f not in by_type]
    if unknown:
        raise ValueError(f"Unknown families {unknown}; choose from {sorted(by_type)}.")
    encoder = TextEncoder.from_model(EMBEDDED_MODEL, maxlen=32)
    precision = choose_precision()
    return pd.DataFrame([_check_family(by_type[f], encoder, seed, precision) for f in wanted])


def _check_family(spec: ModelSpec, encoder: TextEncoder, seed: int, precision: Precision) -> dict:
    auto = transformers.models.auto.modeling_tf_auto
    precision = for_family(precision, spec.model_type)  # what load_classifier would build it in
    row = {"family": spec.model_type, "model": spec.name,
           "tf_class": auto.TF_MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES.get(spec.model_type),
           "precision": precision.policy, "verdict": "works", "failed_at": "", "error": "", "train_loss": np.nan,
           "logits_max_abs_diff": np.nan, "own_fast_tokenizer": _fast_tokenizer(spec.model_type),
           "tokenizer_tested": TOKENIZER_NOTE, "notes": _caveats(spec)}
    start = time.perf_counter()
    with tensorflow_warnings() as warnings:
        _run_family(spec, encoder, seed, precision, row)
    unused = unused_weights(warnings)
    if unused:
        row["notes"] = "; ".join(filter(None, [row["notes"], f"no gradient for {len(unused)} weight(s) this "
                                               f"task never uses ({', '.join(unused[:3])}): expected"]))
    row["seconds"] = round(time.perf_counter() - start, 2)
    return row


def _run_family(spec: ModelSpec, encoder: TextEncoder, seed: int, precision: Precision, row: dict) -> None:
    """Train, predict, save, reload and compare; fills ``row`` (a failure names its stage).

    The model is built and reloaded in the same precision, the one this machine trains in,
    so the reloaded logits must equal the first ones: the same weights through the same
    arithmetic. (Reloading a float32 model in bfloat16 moves logits by about 1e-3: a
    precision change, not a broken save.)
    """
    stage = "config"
    try:
        config = classifier_config(tiny_config(spec), _CLASSES)
        stage = "build"
        with precision_scope(precision):
            model = compile_classifier(build_from_config(config, seed=seed), learning_rate=1e-3)
        stage = "train"
        history = model.fit(encoder.dataset(_TEXTS, _LABELS, batch_size=8), epochs=1, verbose=0)
        row["train_loss"] = float(history.history["loss"][-1])
        stage = "predict"
        before = predict_logits(model, encoder, _TEXTS)
        stage = "save+reload"
        with tempfile.TemporaryDirectory() as folder:
            model.save_pretrained(folder)
            source = ModelSource(spec.name, Path(folder), "local")
            reloaded = load_classifier(source, _CLASSES, compile=False, precision=precision)
            after = predict_logits(reloaded, encoder, _TEXTS)
        stage = "compare"
        row["logits_max_abs_diff"] = diff = float(np.max(np.abs(before - after)))
        if not (np.isfinite(row["train_loss"]) and np.isfinite(before).all()):
            row.update(verdict="fails", failed_at=stage, error="non-finite loss or logits")
        elif before.shape != (len(_TEXTS), 2) or not diff <= 1e-5:
            error = f"reloaded logits differ: max abs diff {diff:.3g}, shape {before.shape}"
            row.update(verdict="fails", failed_at=stage, error=error)
    except Exception as err:  # any failure is a result to record, not a crash: that is the point
        message = " ".join(f"{type(err).__name__}: {err}".split())  # one line, trimmed
        row.update(verdict="fails", failed_at=stage, error=message[:300])


class _WarningRecorder(logging.Filter):
    """Keeps each TensorFlow warning's message instead of letting it print."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        self.messages.append(record.getMessage())
        return False


@contextmanager
def tensorflow_warnings() -> Iterator[list[str]]:
    """Collect TensorFlow's Python warnings (retracing, unused weights, deprecations) in a
    list instead of printing them: ``check_compatibility`` reports what matters in its notes.
    Not in a notebook.

    >>> from helpers.backend import tf
    >>> with tensorflow_warnings() as warnings:
    ...     tf.get_logger().warning("Gradients do not exist for variables ['a/pooler/kernel:0']")
    >>> warnings
    ["Gradients do not exist for variables ['a/pooler/kernel:0']"]
    """
    from helpers.backend import tf

    logger, recorder = tf.get_logger(), _WarningRecorder()
    logger.addFilter(recorder)
    try:
        yield recorder.messages
    finally:
        logger.removeFilter(recorder)


def unused_weights(warnings: list[str]) -> list[str]:
    """Short names of the weights TensorFlow said got no gradient (each once, in order).
    Not in a notebook.

    >>> unused_weights(["Gradients do not exist for variables ['m/bert/pooler/dense/kernel:0'] when ..."])
    ['pooler/dense/kernel']
    """
    names = []
    for message in warnings:
        if message.startswith("Gradients do not exist"):
            names += [re.sub(r":\d+$", "", "/".join(v.split("/")[-3:]))
                      for v in re.findall(r"'([^']+)'", message)]
    return list(dict.fromkeys(names))


