"""Model resolution and loading, including the real embedded MiniLM."""

from __future__ import annotations

import numpy as np
import pytest
from safetensors.numpy import load_file

from helpers.backend import keras, tf
from helpers.model import (
    EMBEDDED_HUB_ID,
    ModelNotAvailableError,
    build_from_config,
    classifier_config,
    count_parameters,
    load_classifier,
    resolve_model,
)
from helpers.predictor import predict_logits
from tests.conftest import CLASS_NAMES, tiny_config


@pytest.fixture(scope="module")
def embedded_classifier():
    return load_classifier("minilm-l6", CLASS_NAMES, seed=0)


def test_embedded_model_resolves_by_short_name_and_hub_id():
    short, hub = resolve_model("minilm-l6"), resolve_model(EMBEDDED_HUB_ID)
    assert short.origin == hub.origin == "embedded"
    assert short.path == hub.path
    assert (short.path / "model.safetensors").is_file()


@pytest.mark.slow
def test_embedded_model_holds_every_pretrained_tensor_of_the_file(embedded_classifier):
    from transformers.modeling_tf_pytorch_utils import convert_tf_weight_name_to_pt_weight_name

    tensors = load_file(resolve_model("minilm-l6").path / "model.safetensors")
    prefix = embedded_classifier.base_model_prefix + "."
    compared = 0
    for weight in embedded_classifier.weights:
        name, transpose = convert_tf_weight_name_to_pt_weight_name(
            weight.name, start_prefix_to_remove=embedded_classifier.name + "/",
            tf_weight_shape=weight.shape,
        )
        name = name.removeprefix(prefix)
        if name.startswith("classifier"):
            continue  # the new head: not in the file, randomly initialised
        expected = tensors[name]
        value = weight.numpy()
        if transpose.name != "NO":
            value = value.T
        np.testing.assert_array_equal(value, expected.reshape(value.shape), err_msg=name)
        compared += 1
    # every tensor of the file except the position_ids buffer was compared
    assert compared == len([k for k in tensors if not k.endswith("position_ids")]) == 103


@pytest.mark.slow
def test_embedded_classifier_gives_finite_logits_of_shape_n_by_4(embedded_classifier, encoder):
    texts = ["The Lord is my shepherd.", "Render the polygon with Gouraud shading.",
             "Take two aspirin and call me in the morning.", "There is no god."]
    logits = predict_logits(embedded_classifier, encoder, texts)
    assert logits.shape == (4, 4)
    assert np.isfinite(logits).all()
    assert embedded_classifier.config.id2label == dict(enumerate(CLASS_NAMES))
    assert embedded_classifier.config.label2id["sci.med"] == 2


def test_a_training_step_changes_the_weights_and_lowers_nothing_silly(tiny_classifier, encoder, toy_texts):
    model = tiny_classifier()
    before = [w.numpy().copy() for w in model.trainable_weights]
    texts, labels = toy_texts
    history = model.fit(encoder.dataset(texts, labels, batch_size=16), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert any(not np.array_equal(b, w.numpy()) for b, w in zip(before, model.trainable_weights))


def test_each_model_gets_a_fresh_optimizer():
    a = load_classifier("minilm-l6", ["x", "y"], compile=True)
    b = load_classifier("minilm-l6", ["x", "y"], compile=True)
    assert a.optimizer is not b.optimizer
    assert isinstance(a, keras.Model)


def test_saved_tf_weights_directory_loads_through_from_pretrained(tmp_path, tiny_classifier, encoder):
    model = tiny_classifier()
    model.save_pretrained(tmp_path)
    assert (tmp_path / "tf_model.h5").is_file()
    again = load_classifier(str(tmp_path), CLASS_NAMES, compile=False)
    x = ["some text to compare"]
    np.testing.assert_allclose(predict_logits(model, encoder, x), predict_logits(again, encoder, x), atol=1e-6)


def test_safetensors_that_do_not_fit_the_config_are_refused(tmp_path):
    from safetensors.numpy import save_file

    tiny_config(2).save_pretrained(tmp_path)
    save_file({"unrelated.weight": np.zeros((2, 2), np.float32)}, tmp_path / "model.safetensors")
    with pytest.raises(ValueError, match="does not fit"):
        load_classifier(str(tmp_path), ["a", "b"])


def test_classifier_config_sets_labels_both_ways():
    config = classifier_config(tiny_config(2), ["neg", "pos"])
    assert config.num_labels == 2
    assert config.id2label == {0: "neg", 1: "pos"}
    assert config.label2id == {"neg": 0, "pos": 1}


@pytest.mark.parametrize("names, message", [(["one"], "at least two"), (["a", "a"], "unique"), (["a", 3], "strings")])
def test_bad_class_names(names, message):
    with pytest.raises(ValueError, match=message):
        classifier_config(tiny_config(2), names)


def test_missing_local_folder_and_folder_without_config(tmp_path):
    with pytest.raises(ModelNotAvailableError, match="No model directory"):
        resolve_model(str(tmp_path / "nope"))
    with pytest.raises(ModelNotAvailableError, match="no config.json"):
        resolve_model(str(tmp_path))


def test_hub_id_offline_fails_fast_with_what_to_do(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelNotAvailableError, match="embedded model 'minilm-l6'"):
        resolve_model("distilbert-base-uncased")


def test_count_parameters_splits_trainable_and_frozen():
    model = build_from_config(tiny_config(2), seed=0)
    total = count_parameters(model)["total"]
    model.layers[0].trainable = False
    counts = count_parameters(model)
    assert counts["total"] == total and counts["trainable"] < total and counts["frozen"] > 0
    assert counts["trainable"] == sum(int(tf.size(w)) for w in model.trainable_weights)
