"""Which pretrained models can this project fine-tune, and do they work here?

The tutorial's models plus newer TF-capable families. Architecture facts come from each
model's published ``config.json`` (copied below: configs cannot be downloaded offline) or,
for the embedded model, its real file. Parameter counts are counted on a model built from
the config. Cost per example: ``helpers.costs.cost_table``.

    >>> from helpers.registry import model_registry
    >>> model_registry()[["name", "parameters", "available"]]        # doctest: +SKIP

Whether each family trains, predicts and reloads here: ``helpers.compatibility``.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from helpers._large_model import LARGE_MODEL, LARGE_MODEL_COMMAND, is_installed, large_model_path
from helpers.backend import AutoConfig, PretrainedConfig, transformers
from helpers.model import EMBEDDED_MODEL, build_from_config, classifier_config, count_parameters, resolve_model


@dataclass(frozen=True)
class ModelSpec:
    """One registry entry: ``config`` holds the architecture values of the published config.json.
    Not in a notebook.
    """

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
    # The optional large model (make setup-large): all-mpnet-base-v2's published config.json.
    ModelSpec(LARGE_MODEL, "MPNet", "mpnet", False,
              dict(_BERT_BASE, vocab_size=30527, max_position_embeddings=514,
                   relative_attention_num_buckets=32, layer_norm_eps=1e-5, pad_token_id=1,
                   bos_token_id=0, eos_token_id=2),
              ("sentence-transformers/all-mpnet-base-v2",)),
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
    """The registry entry for a name or hub id (``KeyError`` lists the known names).
    Not in a notebook.
    """
    for spec in SPECS:
        if name == spec.name or name in spec.hub_ids:
            return spec
    raise KeyError(f"{name!r} is not in the registry; known: {[s.name for s in SPECS]}.")


def published_config(spec: ModelSpec) -> PretrainedConfig:
    """The spec's config: its published values, or the embedded model's real config.json.
    Not in a notebook.
    """
    if spec.config is None:
        return AutoConfig.from_pretrained(resolve_model(spec.name).path, trust_remote_code=False)
    return AutoConfig.for_model(spec.model_type, **spec.config)


def architecture(config: PretrainedConfig) -> dict:
    """Sizes under their common names, whatever the family calls them (``dim``, ``n_layer``...).
    Not in a notebook.
    """
    ffn = next((getattr(config, k) for k in ("intermediate_size", "hidden_dim", "d_inner")
                if k in config.to_dict()), 4 * config.hidden_size)  # XLM: always 4 x hidden
    positions = getattr(config, "max_position_embeddings", None)
    return {"hidden_size": config.hidden_size, "layers": config.num_hidden_layers,
            "heads": config.num_attention_heads, "ffn_size": ffn, "vocab_size": config.vocab_size,
            # XLNet has no position table (relative positions): no hard length limit.
            "max_positions": positions if positions and positions > 0 else None}


def local_weights(spec: ModelSpec) -> Path | None:
    """The folder of this model's files if config and weights are on this machine (no network).
    Not in a notebook.
    """
    if spec.name == EMBEDDED_MODEL:
        return resolve_model(spec.name).path
    if spec.name == LARGE_MODEL and is_installed():
        return large_model_path()
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
    Not in a notebook.

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
    Not in a notebook.

    >>> model_info("minilm-l6")["available"]
    'embedded'
    """
    spec = get_spec(name)
    arch = architecture(published_config(spec))
    total, encoder = _counted(spec.name)
    if spec.name == EMBEDDED_MODEL:
        available = "embedded"
    elif spec.name == LARGE_MODEL:
        available = "embedded (make setup-large)" if is_installed() else f"optional: {LARGE_MODEL_COMMAND}"
    else:
        available = "local cache" if local_weights(spec) else "needs download"
    return {"name": spec.name, "family": spec.family, "model_type": spec.model_type,
            "tutorial": spec.tutorial, "parameters": total, "encoder_parameters": encoder, **arch,
            "cased": spec.cased, "fast_tokenizer": _fast_tokenizer(spec.model_type) is not None,
            "available": available, **recommend(total, arch)}


def model_registry() -> pd.DataFrame:
    """One row per registry model. The first call builds each model once to count it (~30 s).
    Taught in notebooks/02_model_selection.ipynb.

    >>> model_registry().set_index("name").loc["minilm-l6", "layers"]    # doctest: +SKIP
    6
    """
    table = pd.DataFrame([model_info(spec.name) for spec in SPECS])
    return table.astype({"max_positions": "Int64"})  # XLNet: <NA>, no position table


def _fast_tokenizer(model_type: str) -> str | None:
    """The fast (Rust) tokenizer class transformers has for a family, if any."""
    names = transformers.models.auto.tokenization_auto.TOKENIZER_MAPPING_NAMES
    return names.get(model_type, (None, None))[1]
