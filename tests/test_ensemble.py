"""bench/ensemble.py: an ensemble's probabilities are its members' mean, members must agree on classes."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "bench")]

import ensemble  # noqa: E402

from conftest import CLASS_NAMES, tiny_config  # noqa: E402

TEXTS = ["the doctor saw the patient", "ray tracing in hardware", "faith and doubt"]


def tiny_predictor(encoder, seed: int, names=CLASS_NAMES):
    from helpers.model import build_from_config
    from helpers.predictor import get_predictor

    return get_predictor(build_from_config(tiny_config(initializer_range=0.5), seed=seed), encoder, names)


def test_stack_holds_each_members_probabilities(encoder):
    members = [tiny_predictor(encoder, 0), tiny_predictor(encoder, 1)]
    stacked = ensemble.stacked_probabilities(members, TEXTS)
    assert stacked.shape == (2, 3, 4)
    for member, probs in zip(members, stacked):
        np.testing.assert_allclose(probs, member.predict_proba(TEXTS), atol=1e-6)
    assert not np.allclose(stacked[0], stacked[1])  # two seeds: two different models
    np.testing.assert_allclose(stacked.mean(0).sum(1), 1.0, atol=1e-5)


def test_members_with_other_classes_are_refused(encoder):
    other = tiny_predictor(encoder, 1, names=list(reversed(CLASS_NAMES)))
    with pytest.raises(ValueError, match="share their class names"):
        ensemble.stacked_probabilities([tiny_predictor(encoder, 0), other], TEXTS)
