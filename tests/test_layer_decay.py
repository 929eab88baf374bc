"""Layer-wise learning-rate decay: each weight's step is its layer's share of Adam's."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.layer_decay import layer_factors, layerwise_adam
from helpers.model import build_from_config, compile_classifier
from tests.conftest import tiny_config


def _one_step(encoder, optimizer_for) -> tuple[list, list, list[str]]:
    model = build_from_config(tiny_config(), seed=5)
    compile_classifier(model, optimizer=optimizer_for(model))
    batches = encoder.dataset(["the first text", "a second one here"], [0, 1], batch_size=2)
    before = [w.numpy() for w in model.trainable_weights]
    model.fit(batches, epochs=1, verbose=0)
    return before, [w.numpy() for w in model.trainable_weights], [w.name for w in model.trainable_weights]


def test_each_weights_step_is_its_layers_factor_times_adams(encoder):
    from helpers.backend import keras

    start, plain, names = _one_step(encoder, lambda m: keras.optimizers.Adam(learning_rate=1e-3))
    start2, decayed, _ = _one_step(encoder, lambda m: layerwise_adam(m, decay=0.5, learning_rate=1e-3))
    factors = layer_factors(build_from_config(tiny_config(), seed=5), 0.5)
    assert factors == {"embeddings": 0.125, "layer 0": 0.25, "layer 1": 0.5, "head": 1.0}
    seen = set()
    for name, a, p, d in zip(names, start, plain, decayed):
        group = ("embeddings" if "/embeddings/" in name else
                 "layer 0" if "layer_._0" in name else "layer 1" if "layer_._1" in name else "head")
        seen.add(group)
        np.testing.assert_allclose(d - a, factors[group] * (p - a), atol=1e-7, err_msg=name)
    assert seen == set(factors)
    np.testing.assert_array_equal(start[0], start2[0])  # same start, so the steps compare


def test_a_decay_outside_0_1_is_refused():
    with pytest.raises(ValueError, match="must be in"):
        layer_factors(build_from_config(tiny_config(), seed=5), 1.5)
