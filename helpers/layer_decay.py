"""Layer-wise learning-rate decay: lower layers of the encoder learn more slowly.

The bottom layers of a pretrained transformer hold general knowledge of the language;
the top ones and the new head are the most task-specific. With a decay of 0.8 the head
learns at the full rate, the top encoder layer at 0.8 of it, the next at 0.64, down to
the embeddings. The 1cycle schedule still sets the one rate; each weight's step is
scaled by its factor.

    >>> from helpers.model import compile_classifier, load_classifier
    >>> model = load_classifier("minilm-l6", ["a", "b"])
    >>> model = compile_classifier(model, optimizer=layerwise_adam(model, decay=0.8))
    >>> round(layer_factors(model, 0.8)["embeddings"], 3)
    0.21
"""

from __future__ import annotations

import re

from helpers.backend import keras, tf

_LAYER = re.compile(r"/layer_\._(\d+)/")


def _group(name: str) -> str:
    """``"embeddings"``, ``"layer 3"`` or ``"head"`` for a weight's name."""
    if "/embeddings/" in name:
        return "embeddings"
    match = _LAYER.search(name)
    return f"layer {match.group(1)}" if match else "head"


def layer_factors(model: keras.Model, decay: float) -> dict[str, float]:
    """The learning-rate factor of each group of weights: head 1, top layer ``decay``, ...
    Not in a notebook.

    >>> layer_factors(model, 0.5)                                  # doctest: +SKIP
    {'embeddings': 0.0078125, 'layer 0': 0.015625, ..., 'layer 5': 0.5, 'head': 1.0}
    """
    if not 0 < decay <= 1:
        raise ValueError(f"decay={decay} must be in (0, 1]: 1 means the same rate for every layer.")
    layers = sorted({int(m.group(1)) for w in model.trainable_weights if (m := _LAYER.search(w.name))})
    top = len(layers)
    factors = {"embeddings": decay ** (top + 1)}
    factors.update({f"layer {i}": decay ** (top - i) for i in layers})
    factors["head"] = 1.0
    return factors


class LayerwiseAdam(keras.optimizers.Adam):
    """Adam whose step for each weight is scaled by its layer's factor.

    Adam's step is proportional to the learning rate, so scaling the step is the same as
    giving the weight its own rate; Adam's own update code runs unchanged.
    Not in a notebook.
    """

    def __init__(self, factors: dict[str, float], **kwargs) -> None:
        super().__init__(**kwargs)
        self.factors = dict(factors)

    def update_step(self, gradient, variable):
        factor = self.factors.get(_group(variable.name), 1.0)
        if factor == 1.0:
            return super().update_step(gradient, variable)
        before = tf.identity(variable)
        super().update_step(gradient, variable)
        variable.assign(before + (variable - before) * tf.cast(factor, variable.dtype))

    def get_config(self) -> dict:
        return {**super().get_config(), "factors": self.factors}


def layerwise_adam(model: keras.Model, decay: float, learning_rate: float = 5e-5) -> LayerwiseAdam:
    """An Adam for ``model`` with layer-wise learning-rate decay ``decay`` (1: plain Adam).
    Not in a notebook.

    >>> layerwise_adam(model, 0.8).factors["head"]                 # doctest: +SKIP
    1.0
    """
    return LayerwiseAdam(layer_factors(model, decay), learning_rate=learning_rate)
