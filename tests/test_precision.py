"""The precision choice follows the hardware, a setting overrides it, and bfloat16 trains."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.backend import keras, tf
from helpers.model import build_from_config, compile_classifier, load_classifier
from helpers.precision import Precision, choose_precision, cpu_flags, model_precision, precision_scope

from conftest import tiny_config


@pytest.fixture(autouse=True)
def no_precision_variable(monkeypatch):
    """These tests decide from fake hardware: the suite's HELPERS_PRECISION=float32 would override it."""
    monkeypatch.delenv("HELPERS_PRECISION", raising=False)


def _never_probe() -> float:
    raise AssertionError("the probe must not run here")


def test_amx_means_bfloat16_without_probing():
    chosen = choose_precision("auto", flags={"avx512f", "avx512_bf16", "amx_bf16", "amx_int8"}, gpu=None,
                              probe=_never_probe)
    assert chosen.policy == "mixed_bfloat16" and "AMX" in chosen.reason


def test_no_bfloat16_instructions_means_float32():
    chosen = choose_precision("auto", flags={"sse2", "avx2", "avx512f"}, gpu=None, probe=_never_probe)
    assert chosen.policy == "float32" and "no bfloat16" in chosen.reason


@pytest.mark.parametrize("speedup, policy", [(1.7, "mixed_bfloat16"), (0.9, "float32")])
def test_avx512_bf16_alone_is_decided_by_the_probe(speedup, policy):
    chosen = choose_precision("auto", flags={"avx512f", "avx512_bf16"}, gpu=None, probe=lambda: speedup)
    assert chosen.policy == policy and f"{speedup:.1f}x" in chosen.reason


def test_gpus_with_tensor_cores_get_float16_and_older_ones_float32():
    assert choose_precision("auto", flags={"amx_bf16"}, gpu=(8, 0)).policy == "mixed_float16"
    assert choose_precision("auto", flags={"amx_bf16"}, gpu=(6, 1)).policy == "float32"


def test_a_setting_overrides_the_hardware(monkeypatch):
    assert choose_precision("float32", flags={"amx_bf16"}, gpu=None).policy == "float32"
    monkeypatch.setenv("HELPERS_PRECISION", "mixed_bfloat16")
    assert choose_precision(flags=set(), gpu=None) == Precision("mixed_bfloat16", "asked for mixed_bfloat16")
    # RunSettings.precision is "auto" by default: the variable must still override it ...
    assert choose_precision("auto", flags=set(), gpu=None).policy == "mixed_bfloat16"
    # ... but not a policy named outright
    assert choose_precision("float32", flags=set(), gpu=None).policy == "float32"
    with pytest.raises(ValueError, match="HELPERS_PRECISION"):
        choose_precision("half", gpu=None)


def test_cpu_flags_reads_the_flags_line(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu sse2 avx512_bf16 amx_bf16\n\n"
                    "processor\t: 1\nflags\t\t: fpu sse2 avx512_bf16 amx_bf16\n")
    assert cpu_flags(info) == {"fpu", "sse2", "avx512_bf16", "amx_bf16"}
    assert cpu_flags(tmp_path / "missing") == set()


def test_precision_scope_builds_in_the_policy_and_restores_the_global_one():
    before = keras.mixed_precision.global_policy().name
    with precision_scope("mixed_bfloat16"):
        layer = keras.layers.Dense(2)
    assert keras.mixed_precision.global_policy().name == before
    assert layer.compute_dtype == "bfloat16" and layer.variable_dtype == "float32"


def test_a_bfloat16_training_step_runs_and_its_loss_falls_like_float32(encoder, toy_texts):
    texts, labels = toy_texts
    batch = next(iter(encoder.dataset(texts, labels, batch_size=len(texts))))
    curves = {}
    for policy in ("mixed_bfloat16", "float32"):
        with precision_scope(policy):
            model = build_from_config(tiny_config(), seed=0)
        compile_classifier(model, learning_rate=1e-2)
        assert model_precision(model) == policy
        assert all(w.dtype == tf.float32 for w in model.trainable_weights)  # the weights stay float32
        curves[policy] = [model.train_on_batch(*batch, return_dict=True)["loss"] for _ in range(16)]
    bf16 = curves["mixed_bfloat16"]
    assert np.all(np.isfinite(bf16)) and bf16[-1] < 0.8 * bf16[0]
    assert abs(bf16[-1] - curves["float32"][-1]) < 0.1  # the same path, to bfloat16's precision
    as_bf16 = tf.cast(tf.cast(bf16, tf.bfloat16), tf.float32).numpy()
    assert np.all(as_bf16 != np.float32(bf16))  # the loss is computed in float32, not rounded to bfloat16


@pytest.mark.slow
def test_load_classifier_builds_in_the_chosen_precision(monkeypatch):
    model = load_classifier("minilm-l6", ["a", "b"], precision="mixed_bfloat16", compile=False)
    assert model_precision(model) == "mixed_bfloat16"
    assert keras.mixed_precision.global_policy().name == "float32"  # nothing leaks to later models
    monkeypatch.setenv("HELPERS_PRECISION", "float32")
    assert load_classifier("minilm-l6", ["a", "b"], compile=False).dtype_policy.name == "float32"
    assert load_classifier("minilm-l6", ["a", "b"], precision="auto", compile=False).dtype_policy.name == "float32"
