"""Determinism: on CPU, the same seed gives the same LR-finder and training losses, exactly.

Why exactly and not "close": everything random is seeded (weights by
``build_from_config(seed=...)``, dropout by the Keras global seed it sets, batch order by
``TextEncoder.dataset(seed=...)``), and TensorFlow's CPU kernels used here reduce in a
fixed order. On a GPU, or with more threads than here, reductions may be reordered; there
call ``tf.config.experimental.enable_op_determinism()`` first, or expect differences of
about 1e-6 in the losses.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import tiny_config


def seeded_model(seed: int):
    from helpers.model import build_from_config, compile_classifier

    # default dropout (0.1) on purpose: the seed must cover it too
    return compile_classifier(build_from_config(tiny_config(), seed=seed), learning_rate=1e-3)


@pytest.fixture
def batches(encoder, toy_texts):
    texts, labels = toy_texts
    return lambda seed: encoder.dataset(texts, labels, batch_size=16, shuffle=True, seed=seed)


def test_lr_finder_twice_with_the_same_seed_gives_identical_losses(batches):
    from helpers.lr_finder import lr_find

    runs = [lr_find(seeded_model(7), batches(7), num_steps=30, progress=False) for _ in range(2)]
    np.testing.assert_array_equal(runs[0].losses, runs[1].losses)
    np.testing.assert_array_equal(runs[0].lrs, runs[1].lrs)
    assert runs[0].suggestions == runs[1].suggestions
    other = lr_find(seeded_model(8), batches(8), num_steps=30, progress=False)
    assert not np.array_equal(other.losses[: len(runs[0].losses)], runs[0].losses[: len(other.losses)])


def test_short_training_twice_with_the_same_seed_gives_identical_losses_and_weights(batches):
    from helpers.train import fit_onecycle

    results = []
    for _ in range(2):
        model = seeded_model(3)
        history = fit_onecycle(model, batches(3), lr_max=1e-2, epochs=2, verbose=0)
        results.append((history, model.get_weights()))
    (h1, w1), (h2, w2) = results
    np.testing.assert_array_equal(h1.losses, h2.losses)
    assert h1.epochs == h2.epochs
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)
    model = seeded_model(4)
    other = fit_onecycle(model, batches(4), lr_max=1e-2, epochs=2, verbose=0)
    assert not np.array_equal(other.losses, h1.losses)  # the seed matters: the test can fail
