"""Mean pooling: the head reads the average of the real tokens' vectors, and survives a save."""

from __future__ import annotations

import numpy as np
import pytest
from safetensors.numpy import load_file

from helpers.model import ModelNotAvailableError, build_from_config, load_classifier, resolve_model
from helpers.predictor import predict_logits
from tests.conftest import CLASS_NAMES, tiny_config


FAMILIES = [("bert", "TFBertMeanPooledClassifier"), ("mpnet", "TFMPNetMeanPooledClassifier")]


@pytest.mark.parametrize("model_type, class_name", FAMILIES)
def test_padding_does_not_change_a_texts_logits(encoder, model_type, class_name):
    model = build_from_config(tiny_config(model_type=model_type, pooling="mean"), seed=3)
    assert type(model).__name__ == class_name
    short, long = "a short text", "a much longer text " * 10
    alone = predict_logits(model, encoder, [short], batch_size=1)
    padded = predict_logits(model, encoder, [short, long], batch_size=2)  # short is padded here
    np.testing.assert_allclose(alone[0], padded[0], atol=1e-5)
    assert not np.allclose(padded[0], padded[1], atol=1e-3)  # the texts differ, so do their logits


@pytest.mark.parametrize("model_type, class_name", FAMILIES)
def test_the_mean_is_the_average_of_the_real_tokens_only(encoder, model_type, class_name):
    model = build_from_config(tiny_config(model_type=model_type, pooling="mean"), seed=3)
    inputs, _ = next(iter(encoder.dataset(["one two three", "one two three four five six"], [0, 1],
                                          batch_size=2)))
    if model_type == "mpnet":  # MPNet reads no token types
        inputs = {k: v for k, v in inputs.items() if k != "token_type_ids"}
    hidden = getattr(model, model.base_model_prefix)(inputs, training=False).last_hidden_state.numpy()
    real = int(inputs["attention_mask"][0].numpy().sum())
    expected = hidden[0, :real].mean(axis=0) @ model.classifier.kernel.numpy() + model.classifier.bias.numpy()
    np.testing.assert_allclose(model(inputs, training=False).logits.numpy()[0], expected, atol=1e-5)


@pytest.mark.parametrize("model_type, class_name", FAMILIES)
def test_a_saved_mean_pooled_model_reloads_with_its_head(tmp_path, encoder, model_type, class_name):
    model = build_from_config(tiny_config(model_type=model_type, pooling="mean"), seed=4)
    model.save_pretrained(tmp_path)
    again = load_classifier(str(tmp_path), CLASS_NAMES, compile=False)
    assert type(again).__name__ == class_name and again.config.pooling == "mean"
    texts = ["some text to compare", "and another"]
    np.testing.assert_allclose(predict_logits(model, encoder, texts), predict_logits(again, encoder, texts),
                               atol=1e-6)


@pytest.mark.parametrize("model_type, pooling, message", [
    ("bert", "max", "not one of"),
    ("distilbert", "mean", "model types"),
])
def test_unsupported_pooling_is_refused_with_what_to_do(model_type, pooling, message):
    overrides = dict(dim=16, n_layers=1, n_heads=2, hidden_dim=32) if model_type == "distilbert" else {}
    with pytest.raises(ValueError, match=message):
        build_from_config(tiny_config(model_type=model_type, pooling=pooling, **overrides))


@pytest.mark.slow
def test_the_embedded_encoder_loads_into_the_mean_pooled_head_unchanged():
    model = load_classifier("minilm-l6", CLASS_NAMES, pooling="mean", compile=False, precision="float32")
    reference = load_classifier("minilm-l6", CLASS_NAMES, compile=False, precision="float32")
    pretrained = {w.name.split("/", 1)[1]: w.numpy() for w in reference.weights if "/bert/" in w.name}
    ours = {w.name.split("/", 1)[1]: w.numpy() for w in model.weights if "/bert/" in w.name}
    assert set(pretrained) - set(ours) == {"bert/pooler/dense/kernel:0", "bert/pooler/dense/bias:0"}
    assert len(ours) == 101
    for name, value in ours.items():
        np.testing.assert_array_equal(value, pretrained[name], err_msg=name)
    file = load_file(resolve_model("minilm-l6").path / "model.safetensors")
    np.testing.assert_array_equal(ours["bert/embeddings/word_embeddings/weight:0"],
                                  file["embeddings.word_embeddings.weight"])


@pytest.mark.slow
def test_the_large_model_loads_into_the_mean_pooled_head_unchanged():
    try:
        source = resolve_model("mpnet-base")
    except ModelNotAvailableError:
        pytest.skip("the large model is not installed (make setup-large)")
    model = load_classifier("mpnet-base", CLASS_NAMES, pooling="mean", compile=False, precision="float32")
    assert type(model).__name__ == "TFMPNetMeanPooledClassifier"
    ours = {w.name.split("/", 1)[1]: w.numpy() for w in model.weights}
    assert {name for name in ours if not name.startswith("mpnet/")} == {"classifier/kernel:0", "classifier/bias:0"}
    file = load_file(source.path / "model.safetensors")
    np.testing.assert_array_equal(ours["mpnet/embeddings/word_embeddings/weight:0"],
                                  file["embeddings.word_embeddings.weight"])
    np.testing.assert_array_equal(ours["mpnet/encoder/layer_._11/output/dense/kernel:0"],
                                  file["encoder.layer.11.output.dense.weight"].T)


def test_a_mean_pooled_mpnet_trains_no_unused_pooler(encoder):
    model = build_from_config(tiny_config(model_type="mpnet", pooling="mean"), seed=3)
    assert model.trainable_weights and not [w.name for w in model.trainable_weights if "pooler" in w.name]
