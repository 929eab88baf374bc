"""The model registry and the offline compatibility check.

The full registry builds every model once at full size to count it (~30-40 s): those
tests are marked slow and share one table.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import compatibility, registry
from helpers.model import build_from_config, count_parameters, load_classifier, resolve_model

TUTORIAL = ["bert-base-uncased", "distilbert-base-uncased", "albert-base-v2", "roberta-base",
            "xlm-mlm-xnli15-1024", "xlnet-base-cased"]
REQUIRED = ["name", "family", "model_type", "parameters", "encoder_parameters", "hidden_size",
            "layers", "heads", "vocab_size", "cased", "fast_tokenizer", "available",
            "cpu_maxlen", "cpu_batch_size", "gpu16_maxlen", "gpu16_batch_size"]


@pytest.fixture(scope="module")
def table():
    return registry.model_registry()


@pytest.mark.slow
def test_registry_lists_every_tutorial_model_with_complete_columns(table):
    assert set(TUTORIAL) <= set(table["name"])
    assert set(table.loc[table["tutorial"], "name"]) == set(TUTORIAL)
    assert {"electra", "mpnet", "deberta-v2"} <= set(table["model_type"])
    assert table[REQUIRED].notna().all().all(), table[REQUIRED].isna().sum()
    # Only XLNet (relative positions, no position table) has no length limit.
    assert list(table.loc[table["max_positions"].isna(), "name"]) == ["xlnet-base-cased"]
    assert set(table["available"]) <= {"embedded", "local cache", "needs download",
                                       "embedded (make setup-large)", "optional: make setup-large"}
    assert "make setup-large" in table.set_index("name").loc["mpnet-base", "available"]
    assert (table["parameters"] > table["encoder_parameters"]).all()  # the head adds some


@pytest.mark.slow
@pytest.mark.parametrize("name, published", [
    # Encoder sizes published with keras-hub's presets of the same checkpoints: they
    # catch a wrongly copied config value (a wrong vocab, layer or hidden size).
    ("bert-base-uncased", 109_482_240),
    ("distilbert-base-uncased", 66_362_880),
    ("albert-base-v2", 11_683_584),
    ("microsoft/deberta-v3-small", 141_304_320),
])
def test_counts_built_from_written_configs_match_published_sizes(table, name, published):
    assert table.set_index("name").loc[name, "encoder_parameters"] == published


def test_embedded_row_matches_the_real_embedded_model():
    info = registry.model_info("minilm-l6")
    config = json.loads((resolve_model("minilm-l6").path / "config.json").read_text())
    assert info["available"] == "embedded"
    assert info["layers"] == config["num_hidden_layers"] == 6
    assert info["hidden_size"] == config["hidden_size"] == 384
    assert info["vocab_size"] == config["vocab_size"]
    assert info["max_positions"] == config["max_position_embeddings"]
    assert info["cased"] is False
    # Counted on a random model built from the config: the real pretrained model agrees.
    real = load_classifier("minilm-l6", ["negative", "positive"], compile=False)
    assert info["parameters"] == count_parameters(real)["total"]


def test_model_info_accepts_hub_ids_and_explains_unknown_names():
    assert registry.get_spec("google-bert/bert-base-uncased").name == "bert-base-uncased"
    with pytest.raises(KeyError, match="known:.*minilm-l6"):
        registry.model_info("gpt-17")


def test_local_cache_is_found_without_network(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    spec = registry.get_spec("distilbert-base-uncased")
    assert registry.local_weights(spec) is None
    repo = tmp_path / "models--distilbert--distilbert-base-uncased"
    snapshot = repo / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    (snapshot / "config.json").write_text("{}")
    assert registry.local_weights(spec) is None  # a config alone is not a usable model
    (snapshot / "model.safetensors").write_bytes(b"")
    assert registry.local_weights(spec) == snapshot


def test_gpu_batch_shrinks_for_bigger_models():
    minilm = {"layers": 6, "hidden_size": 384, "heads": 12, "max_positions": 512}
    xlm = {"layers": 12, "hidden_size": 1024, "heads": 8, "max_positions": 512}
    small, large = registry.recommend(22_000_000, minilm), registry.recommend(249_000_000, xlm)
    assert small["gpu16_batch_size"] > large["gpu16_batch_size"] >= 1
    assert small["cpu_maxlen"] >= large["cpu_maxlen"]


def test_tiny_configs_are_tiny_and_use_the_embedded_vocab():
    for spec in registry.SPECS:
        config = compatibility.tiny_config(spec)
        assert config.model_type == spec.model_type
        assert (config.hidden_size, config.num_hidden_layers, config.vocab_size) == (32, 2, 30522)


def test_bert_and_distilbert_work_through_our_pipeline():
    result = compatibility.check_compatibility(["bert", "distilbert"]).set_index("family")
    assert list(result["verdict"]) == ["works", "works"], result["error"].tolist()
    assert (result["logits_max_abs_diff"] <= 1e-5).all()
    assert np.isfinite(result["train_loss"]).all()
    assert (result["seconds"] > 0).all()
    assert result["tokenizer_tested"].str.contains("not exercised").all()


def test_in_bfloat16_every_family_reloads_to_the_same_logits(monkeypatch):
    """Notebook 02 runs the check in the machine's precision: bfloat16 on a CPU with AMX or
    AVX512-BF16. Built in one precision and reloaded in another, every family 'failed' (logits
    moved ~1e-3); XLNet's TF attention cannot run in bfloat16 at all and must fall back."""
    monkeypatch.setenv("HELPERS_PRECISION", "mixed_bfloat16")
    result = compatibility.check_compatibility(["bert", "xlnet"]).set_index("family")
    assert list(result["verdict"]) == ["works", "works"], result["error"].tolist()
    assert result.loc["bert", "precision"] == "mixed_bfloat16"
    assert result.loc["xlnet", "precision"] == "float32"
    assert (result["logits_max_abs_diff"] <= 1e-5).all()


def test_a_failing_reload_is_recorded_not_raised(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("weights lost on the way")

    monkeypatch.setattr(compatibility, "load_classifier", broken)
    row = compatibility.check_compatibility(["bert"]).iloc[0]
    assert row["verdict"] == "fails"
    assert row["failed_at"] == "save+reload"
    assert row["error"] == "RuntimeError: weights lost on the way"


def test_reloaded_logits_that_differ_fail_the_check(monkeypatch):
    def other_weights(source, class_names, **kwargs):  # a different random model
        from helpers.backend import AutoConfig

        return build_from_config(AutoConfig.from_pretrained(source.path), seed=123)

    monkeypatch.setattr(compatibility, "load_classifier", other_weights)
    row = compatibility.check_compatibility(["bert"]).iloc[0]
    assert (row["verdict"], row["failed_at"]) == ("fails", "compare")
    assert "differ" in row["error"] and row["logits_max_abs_diff"] > 1e-5


def test_unknown_family_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown families.*choose from"):
        compatibility.check_compatibility(["gpt-17"])


def test_flops_estimate_counts_matmuls_and_attention():
    from helpers.costs import flops_per_example

    layers, hidden, ffn, seq = 6, 384, 1536, 128
    infer, train = flops_per_example({"layers": layers, "hidden_size": hidden, "ffn_size": ffn}, seq)
    expected = 2 * layers * seq * (4 * hidden**2 + 2 * hidden * ffn) + 4 * layers * seq**2 * hidden
    assert infer == expected and train == 3 * expected
    longer, _ = flops_per_example({"layers": layers, "hidden_size": hidden, "ffn_size": ffn}, 2 * seq)
    assert longer > 2 * infer  # attention grows with the square of the length


def test_measure_times_training_and_inference_at_exactly_maxlen(tiny_classifier, encoder):
    from helpers.costs import measure

    train, infer = measure(tiny_classifier(num_labels=2), encoder, batch_size=2, steps=1)
    assert 0 < infer and 0 < train


def test_tensorflow_warnings_become_a_note_not_output(capsys):
    from helpers.backend import tf
    from helpers.compatibility import tensorflow_warnings, unused_weights

    with tensorflow_warnings() as warnings:
        tf.get_logger().warning("Gradients do not exist for variables ['m/mpnet/pooler/dense/kernel:0', "
                                "'m/mpnet/pooler/dense/bias:0'] when minimizing the loss.")
        tf.get_logger().warning("5 out of the last 5 calls to <function f> triggered tf.function retracing.")
    assert len(warnings) == 2
    assert unused_weights(warnings) == ["pooler/dense/kernel", "pooler/dense/bias"]
    captured = capsys.readouterr()
    assert "Gradients" not in captured.out + captured.err
    assert tf.get_logger().filters == []  # the recorder is gone afterwards
