"""Which pretrained models can this project fine-tune, and do they work here?

The tutorial's models plus newer TF-capable families. Architecture facts come from each
model's published ``config.json`` (copied below: configs cannot be downloaded offline) or,
for the embedded model, its real file. Parameter counts are counted on a model built from
the config. Cost per example: ``helpers.costs.cost_table``.

    >>> from helpers.registry import model_registry, check_compatibility
    >>> model_registry()[["name", "parameters", "available"]]        # doctest: +SKIP
    >>> check_compatibility(["bert", "distilbert"])[["family", "verdict"]]  # doctest: +SKIP
"""

from __future__ import annotations

import gc
import logging
import re
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import pandas as pd

from helpers.backend import AutoConfig, PretrainedConfig, transformers
from helpers.model import (EMBEDDED_MODEL, ModelSource, build_from_config, classifier_config,
                           compile_classifier, count_parameters, load_classifier, resolve_model)
from helpers.tokenizer import TextEncoder, predict_logits


@dataclass(frozen=True)
class ModelSpec:
    """One registry entry: ``config`` holds the architecture values of the published config.json."""

    name: str
    family: str
    model_type: str
    cased: bool  # from the model's tokenizer_config (do_lower_case)
    config: dict | None  # None: read the real config.json (the embedded model)
    hub_ids: tuple[str, ...] = ()
    tutorial: bool = False


_BERT_BASE = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                  intermediate_size=3072)
SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(EMBEDDED_MODEL, "MiniLM (BERT)", "bert", False, None),
    ModelSpec("bert-base-uncased", "BERT", "bert", False,
              dict(_BERT_BASE, vocab_size=30522, max_position_embeddings=512, type_vocab_size=2),
              ("bert-base-uncased", "google-bert/bert-base-uncased"), True),
    ModelSpec("distilbert-base-uncased", "DistilBERT", "distilbert", False,
              dict(dim=768, n_layers=6, n_heads=12, hidden_dim=3072, vocab_size=30522,
                   max_position_embeddings=512, sinusoidal_pos_embds=False),
              ("distilbert-base-uncased", "distilbert/distilbert-base-uncased"), True),
    ModelSpec("albert-base-v2", "ALBERT", "albert", False,
              dict(_BERT_BASE, embedding_size=128, vocab_size=30000, max_position_embeddings=512,
                   num_hidden_groups=1, inner_group_num=1, hidden_act="gelu_new",
                   type_vocab_size=2),
              ("albert-base-v2", "albert/albert-base-v2"), True),
    ModelSpec("roberta-base", "RoBERTa", "roberta", True,
              dict(_BERT_BASE, vocab_size=50265, max_position_embeddings=514, type_vocab_size=1,
                   pad_token_id=1, layer_norm_eps=1e-5),
              ("roberta-base", "FacebookAI/roberta-base"), True),
    # XLM: TFXLMForSequenceClassification exists in transformers 4.57. The xnli15
    # tokenizer lowercases and strips accents (do_lowercase_and_remove_accent=True).
    ModelSpec("xlm-mlm-xnli15-1024", "XLM", "xlm", False,
              dict(emb_dim=1024, n_layers=12, n_heads=8, vocab_size=95000,
                   max_position_embeddings=512, n_langs=15, use_lang_emb=True,
                   gelu_activation=True, summary_type="first"),
              ("xlm-mlm-xnli15-1024", "FacebookAI/xlm-mlm-xnli15-1024"), True),
    ModelSpec("xlnet-base-cased", "XLNet", "xlnet", True,
              dict(d_model=768, n_layer=12, n_head=12, d_inner=3072, vocab_size=32000,
                   ff_activation="gelu", untie_r=True, summary_type="last"),
              ("xlnet-base-cased", "xlnet/xlnet-base-cased"), True),
    ModelSpec("google/electra-small-discriminator", "ELECTRA", "electra", False,
              dict(hidden_size=256, num_hidden_layers=12, num_attention_heads=4,
                   intermediate_size=1024, embedding_size=128, vocab_size=30522,
                   max_position_embeddings=512, type_vocab_size=2),
              ("google/electra-small-discriminator",)),
    ModelSpec("microsoft/mpnet-base", "MPNet", "mpnet", False,
              dict(_BERT_BASE, vocab_size=30527, max_position_embeddings=514,
                   relative_attention_num_buckets=32, layer_norm_eps=1e-5),
              ("microsoft/mpnet-base",)),
    ModelSpec("microsoft/deberta-v3-small", "DeBERTa-v3", "deberta-v2", True,
              dict(_BERT_BASE, num_hidden_layers=6, vocab_size=128100, max_position_embeddings=512,
                   type_vocab_size=0, relative_attention=True, position_buckets=256,
                   norm_rel_ebd="layer_norm", share_att_key=True, pos_att_type="p2c|c2p",
                   max_relative_positions=-1, position_biased_input=False, layer_norm_eps=1e-7),
              ("microsoft/deberta-v3-small",)),
)
_CLASSES = ["negative", "positive"]


def get_spec(name: str) -> ModelSpec:
    """The registry entry for a name or hub id (``KeyError`` lists the known names)."""
    for spec in SPECS:
        if name == spec.name or name in spec.hub_ids:
            return spec
    raise KeyError(f"{name!r} is not in the registry; known: {[s.name for s in SPECS]}.")


def published_config(spec: ModelSpec) -> PretrainedConfig:
    """The spec's config: its published values, or the embedded model's real config.json."""
    if spec.config is None:
        return AutoConfig.from_pretrained(resolve_model(spec.name).path, trust_remote_code=False)
    return AutoConfig.for_model(spec.model_type, **spec.config)


def architecture(config: PretrainedConfig) -> dict:
    """Sizes under their common names, whatever the family calls them (``dim``, ``n_layer``...)."""
    ffn = next((getattr(config, k) for k in ("intermediate_size", "hidden_dim", "d_inner")
                if k in config.to_dict()), 4 * config.hidden_size)  # XLM: always 4 x hidden
    positions = getattr(config, "max_position_embeddings", None)
    return {"hidden_size": config.hidden_size, "layers": config.num_hidden_layers,
            "heads": config.num_attention_heads, "ffn_size": ffn, "vocab_size": config.vocab_size,
            # XLNet has no position table (relative positions): no hard length limit.
            "max_positions": positions if positions and positions > 0 else None}


def local_weights(spec: ModelSpec) -> Path | None:
    """The folder of this model's files if config and weights are on this machine (no network)."""
    if spec.name == EMBEDDED_MODEL:
        return resolve_model(spec.name).path
    from huggingface_hub import try_to_load_from_cache

    for repo in spec.hub_ids:
        config = try_to_load_from_cache(repo, "config.json")
        if isinstance(config, str):
            for weights in ("tf_model.h5", "model.safetensors"):
                if isinstance(try_to_load_from_cache(repo, weights), str):
                    return Path(config).parent
    return None


@lru_cache(maxsize=None)
def _counted(name: str) -> tuple[int, int]:
    """(total with a 2-class head, encoder only), counted on a full-size random model."""
    model = build_from_config(classifier_config(published_config(get_spec(name)), _CLASSES))
    encoder = getattr(model, model.base_model_prefix)  # the pretrained part, without the head
    counts = count_parameters(model)["total"], encoder.count_params()
    del model, encoder
    gc.collect()
    return counts


def recommend(parameters: int, arch: dict) -> dict:
    """Rule-of-thumb ``maxlen`` and batch size for a 2-core CPU and a 16 GB GPU.

    CPU: time is the limit, so short inputs (seconds measured by ``helpers.costs.cost_table``).
    GPU: memory is. Adam training in fp32 keeps 16 bytes per parameter, and each example
    keeps about ``layers*seq*hidden*(68 + 10*heads*seq/hidden)`` bytes of activations
    (Korthikanti et al. 2022, doubled for fp32); the batch is the largest power of two
    up to 32 that fits in 75% of 16 GB.

    >>> bert = {"layers": 12, "hidden_size": 768, "heads": 12, "max_positions": 512}
    >>> recommend(109_483_778, bert)
    {'cpu_maxlen': 128, 'cpu_batch_size': 8, 'gpu16_maxlen': 512, 'gpu16_batch_size': 8}
    """
    small = parameters < 30_000_000
    seq = min(512, arch["max_positions"] or 512)
    layers, hidden, heads = arch["layers"], arch["hidden_size"], arch["heads"]
    per_example = layers * seq * hidden * (68 + 10 * heads * seq / hidden)
    budget = 0.75 * 16e9 - 16 * parameters
    batch = max((b for b in (1, 2, 4, 8, 16, 32) if b * per_example <= budget), default=1)
    return {"cpu_maxlen": 256 if small else 128,
            "cpu_batch_size": 16 if small else 8 if parameters < 150_000_000 else 4,
            "gpu16_maxlen": seq, "gpu16_batch_size": batch}


def model_info(name: str) -> dict:
    """Everything the registry knows about one model.

    >>> model_info("minilm-l6")["available"]
    'embedded'
    """
    spec = get_spec(name)
    arch = architecture(published_config(spec))
    total, encoder = _counted(spec.name)
    if spec.name == EMBEDDED_MODEL:
        available = "embedded"
    else:
        available = "local cache" if local_weights(spec) else "needs download"
    return {"name": spec.name, "family": spec.family, "model_type": spec.model_type,
            "tutorial": spec.tutorial, "parameters": total, "encoder_parameters": encoder, **arch,
            "cased": spec.cased, "fast_tokenizer": _fast_tokenizer(spec.model_type) is not None,
            "available": available, **recommend(total, arch)}


def model_registry() -> pd.DataFrame:
    """One row per registry model. The first call builds each model once to count it (~30 s).

    >>> model_registry().set_index("name").loc["minilm-l6", "layers"]    # doctest: +SKIP
    6
    """
    table = pd.DataFrame([model_info(spec.name) for spec in SPECS])
    return table.astype({"max_positions": "Int64"})  # XLNet: <NA>, no position table


def _fast_tokenizer(model_type: str) -> str | None:
    """The fast (Rust) tokenizer class transformers has for a family, if any."""
    names = transformers.models.auto.tokenization_auto.TOKENIZER_MAPPING_NAMES
    return names.get(model_type, (None, None))[1]


# ---------------------------------------------------------------- compatibility check
_TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "vocab_size": 30522}
_TINY_EXTRA = {"intermediate_size": 64, "hidden_dim": 64, "d_inner": 64, "embedding_size": 16}
_TEXTS = ["a great film, I loved it", "what a wonderful day", "superb acting and music",
          "I enjoyed every minute", "a dull and boring film", "terrible, I hated it",
          "the worst day ever", "awful acting, bad music"]
_LABELS = np.array([1, 1, 1, 1, 0, 0, 0, 0])
TOKENIZER_NOTE = ("embedded MiniLM WordPiece tokenizer; this family's own tokenizer was "
                  "not exercised (its files cannot be downloaded offline)")


def tiny_config(spec: ModelSpec) -> PretrainedConfig:
    """The spec's config shrunk to hidden 32, 2 layers and the embedded tokenizer's vocab."""
    values = dict(spec.config or published_config(spec).to_dict())
    names = AutoConfig.for_model(spec.model_type).attribute_map  # e.g. hidden_size -> dim
    values.update({names.get(key, key): value for key, value in _TINY.items()})
    values.update({key: value for key, value in _TINY_EXTRA.items() if key in values})
    values.pop("model_type", None)
    return AutoConfig.for_model(spec.model_type, **values)


def check_compatibility(families: Iterable[str] | None = None, *, seed: int = 0) -> pd.DataFrame:
    """Train, predict, save and reload a tiny random model of each family through our pipeline.

    ``families`` are model types (``"bert"``, ``"xlnet"``...; default: all in the registry).
    A family that fails keeps its row, with the stage and the exception.

    >>> check_compatibility(["bert", "xlnet"])[["family", "verdict", "seconds"]]  # doctest: +SKIP
    """
    by_type = {spec.model_type: spec for spec in reversed(SPECS)}  # bert: the embedded config
    wanted = list(dict.fromkeys(s.model_type for s in SPECS) if families is None else families)
    unknown = [f for f in wanted if f not in by_type]
    if unknown:
        raise ValueError(f"Unknown families {unknown}; choose from {sorted(by_type)}.")
    encoder = TextEncoder.from_model(EMBEDDED_MODEL, maxlen=32)
    return pd.DataFrame([_check_family(by_type[f], encoder, seed) for f in wanted])


def _check_family(spec: ModelSpec, encoder: TextEncoder, seed: int) -> dict:
    auto = transformers.models.auto.modeling_tf_auto
    row = {"family": spec.model_type, "model": spec.name,
           "tf_class": auto.TF_MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES.get(spec.model_type),
           "verdict": "works", "failed_at": "", "error": "", "train_loss": np.nan,
           "logits_max_abs_diff": np.nan, "own_fast_tokenizer": _fast_tokenizer(spec.model_type),
           "tokenizer_tested": TOKENIZER_NOTE, "notes": _caveats(spec)}
    start = time.perf_counter()
    with tensorflow_warnings() as warnings:
        _run_family(spec, encoder, seed, row)
    unused = unused_weights(warnings)
    if unused:
        row["notes"] = "; ".join(filter(None, [row["notes"], f"no gradient for {len(unused)} weight(s) this "
                                               f"task never uses ({', '.join(unused[:3])}): expected"]))
    row["seconds"] = round(time.perf_counter() - start, 2)
    return row


def _run_family(spec: ModelSpec, encoder: TextEncoder, seed: int, row: dict) -> None:
    """Train, predict, save, reload and compare; fills ``row`` (a failure names its stage)."""
    stage = "config"
    try:
        config = classifier_config(tiny_config(spec), _CLASSES)
        stage = "build"
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
            reloaded = load_classifier(source, _CLASSES, compile=False)
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

    >>> unused_weights(["Gradients do not exist for variables ['m/bert/pooler/dense/kernel:0'] when ..."])
    ['pooler/dense/kernel']
    """
    names = []
    for message in warnings:
        if message.startswith("Gradients do not exist"):
            names += [re.sub(r":\d+$", "", "/".join(v.split("/")[-3:]))
                      for v in re.findall(r"'([^']+)'", message)]
    return list(dict.fromkeys(names))


def _caveats(spec: ModelSpec) -> str:
    notes = []
    if _fast_tokenizer(spec.model_type) is None:
        notes.append("no fast tokenizer in transformers: TextEncoder cannot load its own tokenizer")
    if getattr(published_config(spec), "summary_type", None) == "last":
        notes.append("classifies from the LAST token but our batches pad on the right, so "
                     "shorter texts are read at a pad position (its tokenizer pads left)")
    return "; ".join(notes)
