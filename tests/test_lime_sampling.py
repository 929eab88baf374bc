"""bench/lime_sampling.py re-fits LIME's model on its own draws: it must be LIME's model."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "bench")]

import lime_sampling  # noqa: E402

from conftest import CLASS_NAMES  # noqa: E402


def test_kernel_is_limes_cosine_kernel():
    from sklearn.metrics.pairwise import pairwise_distances

    masks = lime_sampling.draw("lime", 30, 200, seed=0)
    distances = pairwise_distances(masks, masks[:1], metric="cosine").ravel() * 100
    expected = np.sqrt(np.exp(-(distances ** 2) / 25 ** 2))  # lime_text's kernel, width 25
    np.testing.assert_allclose(lime_sampling.lime_kernel(masks), expected, atol=1e-9)


@pytest.mark.parametrize("design", ["lime", "paired", "stratified"])
def test_draws_start_with_the_whole_text_and_remove_at_least_one_word(design):
    masks = lime_sampling.draw(design, 12, 101, seed=1)
    assert masks.shape == (101, 12) and masks[0].all()
    removed = 12 - masks[1:].sum(axis=1)
    assert removed.min() >= 0 and removed.max() == 12
    if design == "paired":  # every even row is the complement of the row before
        np.testing.assert_array_equal(masks[2::2], 1 - masks[1:-1:2])
    if design == "stratified":  # counts spread evenly: each of 1..12 close to 100/12 times
        assert np.bincount(removed.astype(int), minlength=13)[1:].min() >= 8


def test_lime_top_is_limes_highest_weights_selection():
    from lime.lime_base import LimeBase

    rng = np.random.default_rng(0)
    masks = lime_sampling.draw("lime", 40, 400, seed=2)
    effects = rng.normal(0, 0.1, 40)
    probs = 1 / (1 + np.exp(-(masks @ effects)))
    weights = lime_sampling.lime_kernel(masks)
    base = LimeBase(kernel_fn=lambda d: d, random_state=0)
    theirs = base.feature_selection(masks, probs, weights, 10, "highest_weights")
    assert lime_sampling.lime_top(masks, probs) == set(theirs.tolist())


def test_measure_text_reproduces_the_lime_reference(encoder, monkeypatch):
    """On a tiny random model: LIME's draws are replayed exactly, agreements are fractions."""
    from helpers.model import build_from_config
    from helpers.predictor import get_predictor

    from conftest import tiny_config

    monkeypatch.setattr(lime_sampling, "REFERENCE_SAMPLES", 120)
    model = build_from_config(tiny_config(initializer_range=0.5), seed=0)
    predictor = get_predictor(model, encoder, CLASS_NAMES)
    text = "the doctor saw the patient about a fever, then drew a picture of the church"
    row = lime_sampling.measure_text(predictor, text, sizes={"lime": (30, 60), "paired": (30,)})
    assert row["reference_reproduced"] and row["words"] == 12
    assert set(row["lime"]) == {30, 60} and set(row["paired"]) == {30}
    assert all(0 <= v <= 1 for v in [*row["lime"].values(), row["halves"]])
    summary = lime_sampling.summarize([row, row], sizes={"lime": (30, 60), "paired": (30,)})
    assert summary["mean_agreement"]["lime"]["60"] == row["lime"][60]
    assert summary["texts"] == 2 and summary["reference_reproduced"] == 2
