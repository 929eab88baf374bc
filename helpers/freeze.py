"""Freeze parts of a transformer classifier: embeddings, the first k blocks, or the whole encoder.

Fine-tuning everything is the default. Freezing the lower layers trains faster, needs less
memory and can help on small data sets; training only the head ("feature extraction") is
the cheapest. (ktrain can only freeze the whole encoder; here any number of blocks.)

**Keras 2: compile again after changing trainable flags.** A compiled model keeps the
list of weights it trains; ``compile_classifier(model)`` makes it read the new flags.

    >>> from helpers.freeze import freeze, trainable_summary
    >>> freeze(model, embeddings=True, blocks=4)   # embeddings and blocks 0-3 frozen  # doctest: +SKIP
    >>> compile_classifier(model)                 # needed in Keras 2  # doctest: +SKIP
    >>> trainable_summary(model)                  # doctest: +SKIP

Supported families: BERT (and MiniLM), RoBERTa, ELECTRA, MPNet, DeBERTa-v2/v3, DistilBERT,
ALBERT and XLNet. ALBERT shares one set of block weights between all its layers
(``num_hidden_groups=1`` in albert-base-v2), so it has one block: freezing it freezes
every layer at once, and freezing "the first 4 layers" alone is impossible.
"""

from __future__ import annotations

from functools import reduce

import pandas as pd

from helpers.backend import keras
from helpers.model import count_parameters

# Where each family keeps its parts, as attribute paths from the encoder's main layer
# (``model.bert``, ``model.distilbert``, ...: ``getattr(model, model.base_model_prefix)``).
# Blocks: one list of layers per path; block i is made of the i-th layer of each list.
_BERT_LIKE = (("embeddings",), ("encoder.layer",))
_LAYOUTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "bert": _BERT_LIKE,
    "roberta": _BERT_LIKE,
    "mpnet": _BERT_LIKE,
    "deberta-v2": _BERT_LIKE,
    "electra": (("embeddings", "embeddings_project"), ("encoder.layer",)),
    "distilbert": (("embeddings",), ("transformer.layer",)),
    "albert": (("embeddings", "encoder.embedding_hidden_mapping_in"),
               ("encoder.albert_layer_groups",)),
    "xlnet": (("word_embedding",), ("layer",)),
}
# Not XLM: its position table is a weight of the main layer itself, not a layer, so Keras
# cannot freeze it apart from the whole encoder (freeze_encoder and unfreeze still work).


def _main_layer(model: keras.Model) -> keras.layers.Layer:
    """The pretrained encoder inside a transformers classifier (everything but the head)."""
    prefix = getattr(model, "base_model_prefix", None)
    if not prefix or not hasattr(model, prefix):
        raise TypeError(f"{type(model).__name__} is not a transformers TF model with an encoder.")
    return getattr(model, prefix)


def _attribute(layer: object, path: str) -> object | None:
    """``layer.a.b`` for ``path="a.b"``; None when the family leaves that part out."""
    return reduce(lambda obj, name: getattr(obj, name, None), path.split("."), layer)


def _parts(model: keras.Model) -> tuple[list[keras.layers.Layer], list[list[keras.layers.Layer]]]:
    """(embedding layers, blocks as lists of layers) of a supported model."""
    model_type = model.config.model_type
    if model_type not in _LAYOUTS:
        raise NotImplementedError(
            f"Block-wise freezing does not know the {model_type!r} family yet (known: "
            f"{sorted(_LAYOUTS)}). freeze_encoder() and unfreeze() work for any model."
        )
    embedding_paths, block_paths = _LAYOUTS[model_type]
    main = _main_layer(model)
    embeddings = [part for path in embedding_paths if (part := _attribute(main, path)) is not None]
    blocks = [list(layers) for layers in zip(*(_attribute(main, path) for path in block_paths))]
    return embeddings, blocks


def unfreeze(model: keras.Model) -> keras.Model:
    """Make every weight trainable again. Compile again afterwards (Keras 2).
    Not in a notebook.

    >>> unfreeze(model); compile_classifier(model)   # doctest: +SKIP
    """
    model.trainable = True  # in Keras 2 this also sets every sub-layer
    return model


def freeze(model: keras.Model, *, embeddings: bool = True, blocks: int = 0) -> keras.Model:
    """Freeze the embeddings (if asked) and the first ``blocks`` transformer blocks; train the rest.

    Sets exactly this state, whatever was frozen before. Compile again afterwards (Keras 2).
    For ALBERT, ``blocks`` counts weight groups (1 in albert-base-v2, shared by all layers).
    Taught in notebooks/04_one_cycle_training.ipynb.

    >>> freeze(model, embeddings=True, blocks=2)     # doctest: +SKIP
    >>> compile_classifier(model, learning_rate=5e-5)  # doctest: +SKIP
    """
    embedding_layers, block_layers = _parts(model)
    if not 0 <= blocks <= len(block_layers):
        raise ValueError(
            f"blocks={blocks}, but this {model.config.model_type} model has "
            f"{len(block_layers)} blocks with their own weights: choose 0 to {len(block_layers)}."
        )
    unfreeze(model)
    frozen = (embedding_layers if embeddings else []) + [
        layer for block in block_layers[:blocks] for layer in block
    ]
    for layer in frozen:
        layer.trainable = False
    return model


def freeze_encoder(model: keras.Model) -> keras.Model:
    """Train only the classification head: the whole pretrained encoder is frozen.
    Not in a notebook.

    >>> freeze_encoder(model); compile_classifier(model, learning_rate=1e-3)  # doctest: +SKIP
    """
    unfreeze(model)
    _main_layer(model).trainable = False
    return model


def trainable_summary(model: keras.Model) -> pd.DataFrame:
    """Parameters per part (embeddings, each block, other encoder weights, head), trainable or not.

    The last row holds the totals from ``helpers.model.count_parameters``.
    Taught in notebooks/04_one_cycle_training.ipynb.

    >>> trainable_summary(model)[["part", "parameters", "trainable"]]  # doctest: +SKIP
              part  parameters trainable
    0   embeddings    11918592        no
    1      block 0     1774464        no
    ...
    """
    embedding_layers, block_layers = _parts(model)
    main = _main_layer(model)
    trainable_ids = {id(w) for w in model.trainable_weights}
    parts: list[tuple[str, list]] = [
        ("embeddings", [w for layer in embedding_layers for w in layer.weights])
    ]
    shared = _shared_label(model, len(block_layers))
    for i, block in enumerate(block_layers):
        parts.append((f"block {i}{shared}", [w for layer in block for w in layer.weights]))
    assigned = {id(w) for _, weights in parts for w in weights}
    parts.append(("encoder (other)", [w for w in main.weights if id(w) not in assigned]))
    in_main = {id(w) for w in main.weights}
    parts.append(("head", [w for w in model.weights if id(w) not in in_main]))

    rows = []
    for part, weights in parts:
        if not weights:
            continue
        unique = list({id(w): w for w in weights}.values())
        size = sum(int(w.shape.num_elements()) for w in unique)
        trained = sum(int(w.shape.num_elements()) for w in unique if id(w) in trainable_ids)
        rows.append({"part": part, "layers": _layer_names(unique), "parameters": size,
                     "trainable_parameters": trained,
                     "trainable": "yes" if trained == size else "no" if trained == 0 else "partly"})
    totals = count_parameters(model)
    rows.append({"part": "total", "layers": "", "parameters": totals["total"],
                 "trainable_parameters": totals["trainable"], "trainable": ""})
    return pd.DataFrame(rows)


def _shared_label(model: keras.Model, n_blocks: int) -> str:
    """ALBERT: say which layers run on a block's shared weights."""
    layers = model.config.num_hidden_layers
    if n_blocks >= layers:
        return ""
    per_block = layers // n_blocks
    return f" (shared by {per_block} layers)"


def _layer_names(weights: list) -> str:
    """Where these weights live, e.g. 'bert/encoder/layer_._0' (at most 3 places named)."""
    names = []
    for weight in weights:
        path = weight.name.split("/")[1:]  # drop the model's own name
        name = "/".join((path[:-1] or path)[:3])  # the layer, not the variable
        if name not in names:
            names.append(name)
    return ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
