"""Shared fixtures: the real embedded tokenizer, and tiny random models built from configs.

Tiny models make unit tests fast; tests marked ``slow`` use the real embedded model and
the real corpus (they still run in ``make test``).
"""

from __future__ import annotations

import numpy as np
import pytest

import helpers  # noqa: F401  (Keras 2 before TensorFlow)


@pytest.fixture(autouse=True, scope="module")
def float32_unless_asked():
    """Unit tests compute in float32 on every machine, so their tolerances hold whatever the
    CPU offers. Tests of the precision choice and of bfloat16 training ask for it explicitly;
    the notebooks (nbval, outside this folder) take the machine's own choice."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HELPERS_PRECISION", "float32")
        yield


CLASS_NAMES = ["alt.atheism", "comp.graphics", "sci.med", "soc.religion.christian"]


@pytest.fixture(scope="session")
def encoder():
    """The embedded model's real tokenizer, truncating at 64 tokens."""
    from helpers.tokenizer import TextEncoder

    return TextEncoder.from_model("minilm-l6", maxlen=64)


def tiny_config(num_labels: int = 4, model_type: str = "bert", **overrides):
    """A config for a very small random model that uses the embedded tokenizer's vocab."""
    from helpers.backend import AutoConfig

    sizes = dict(
        vocab_size=30522, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=128,
    )
    sizes.update(overrides)
    names = CLASS_NAMES[:num_labels] if num_labels <= 4 else [f"c{i}" for i in range(num_labels)]
    return AutoConfig.for_model(
        model_type, num_labels=num_labels,
        id2label=dict(enumerate(names)), label2id={n: i for i, n in enumerate(names)},
        **sizes,
    )


@pytest.fixture
def tiny_classifier():
    """Factory: a compiled tiny random BERT classifier, ``tiny_classifier(num_labels=4, seed=0)``."""
    from helpers.model import build_from_config, compile_classifier

    def make(num_labels: int = 4, seed: int = 0, learning_rate: float = 1e-3):
        model = build_from_config(tiny_config(num_labels), seed=seed)
        return compile_classifier(model, learning_rate=learning_rate)

    return make


@pytest.fixture(scope="session")
def toy_texts():
    """A small learnable task: 4 classes, each with its own vocabulary, 80 texts."""
    return make_toy_texts()


def make_toy_texts():
    """The ``toy_texts`` data, callable outside pytest (e.g. in a subprocess)."""
    rng = np.random.default_rng(0)
    vocab = [
        ["god", "atheist", "belief", "religion", "moral"],
        ["image", "pixel", "render", "graphics", "polygon"],
        ["doctor", "patient", "disease", "medicine", "treatment"],
        ["church", "jesus", "christian", "prayer", "bible"],
    ]
    texts, labels = [], []
    for i in range(80):
        label = i % 4
        words = rng.choice(vocab[label], size=rng.integers(3, 20))
        texts.append(" ".join(words))
        labels.append(label)
    return texts, np.array(labels)
