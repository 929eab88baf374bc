"""Block-wise freezing: frozen weights stay put through a training step, the others move."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import tiny_config

from helpers import compatibility, registry
from helpers.freeze import freeze, freeze_encoder, trainable_summary, unfreeze
from helpers.model import build_from_config, compile_classifier, count_parameters

FAMILIES = ["bert", "distilbert", "electra", "roberta", "albert"]


def tiny_model(model_type: str, layers: int = 3):
    return build_from_config(tiny_config(2, model_type, num_hidden_layers=layers), seed=0)


def one_step(model, encoder, toy_texts) -> dict[str, np.ndarray]:
    """Train one batch; return every weight's value before the step, by name."""
    texts, labels = toy_texts
    inputs, batch_labels = next(iter(encoder.dataset(texts[:8], labels[:8] % 2, batch_size=8)))
    before = {w.name: w.numpy() for w in model.weights}
    model.train_on_batch(inputs, batch_labels)
    return before


def in_frozen_part(name: str) -> bool:
    """Embeddings (and ALBERT/ELECTRA's embedding projections) or block 0, by weight name."""
    return "embedding" in name or "_._0/" in name


@pytest.mark.parametrize("model_type", FAMILIES)
def test_frozen_weights_do_not_move_and_the_others_do(model_type, encoder, toy_texts):
    model = tiny_model(model_type)
    total = count_parameters(model)["total"]
    freeze(model, embeddings=True, blocks=1)
    compile_classifier(model, learning_rate=1e-2)  # Keras 2: after changing trainable flags
    before = one_step(model, encoder, toy_texts)

    frozen = [w for w in model.weights if in_frozen_part(w.name)]
    moving = [w for w in model.weights if not in_frozen_part(w.name)]
    assert frozen and moving
    for weight in frozen:
        assert np.array_equal(weight.numpy(), before[weight.name]), weight.name
    for weight in moving:
        assert not np.array_equal(weight.numpy(), before[weight.name]), weight.name

    frozen_size = sum(int(w.shape.num_elements()) for w in frozen)
    expected = {"trainable": total - frozen_size, "frozen": frozen_size, "total": total}
    assert count_parameters(model) == expected
    summary = trainable_summary(model).set_index("part")
    assert summary.loc["total", "trainable_parameters"] == total - frozen_size
    assert summary.loc["embeddings", "trainable"] == "no"

    unfreeze(model)
    assert count_parameters(model)["trainable"] == total


def test_freezing_without_recompiling_does_not_take_effect(encoder, toy_texts):
    """Why the docstrings insist on compiling again: Keras 2 keeps its traced weight list."""
    model = compile_classifier(tiny_model("bert"), learning_rate=1e-2)
    one_step(model, encoder, toy_texts)  # traces the training step with everything trainable
    freeze(model, blocks=1)
    before = one_step(model, encoder, toy_texts)
    word_embeddings = next(w for w in model.weights if "word_embeddings" in w.name)
    assert not np.array_equal(word_embeddings.numpy(), before[word_embeddings.name])


def test_freeze_encoder_trains_only_the_head(encoder, toy_texts):
    model = tiny_model("bert")
    freeze_encoder(model)
    summary = trainable_summary(model).set_index("part")
    head = summary.loc["head", "parameters"]
    assert count_parameters(model)["trainable"] == head
    assert summary.loc["total", "trainable_parameters"] == head
    assert set(summary.drop(index=["head", "total"])["trainable"]) == {"no"}
    compile_classifier(model, learning_rate=1e-2)
    before = one_step(model, encoder, toy_texts)
    changed = {w.name for w in model.weights if not np.array_equal(w.numpy(), before[w.name])}
    assert changed and all(name.startswith(model.name + "/classifier") for name in changed)


def test_freeze_sets_the_state_it_is_asked_for():
    model = tiny_model("bert")
    freeze(model, blocks=3)
    freeze(model, embeddings=False, blocks=1)  # not added to the previous freeze
    summary = trainable_summary(model).set_index("part")
    assert list(summary["trainable"][:-1]) == ["yes", "no", "yes", "yes", "yes", "yes"]


def test_albert_has_one_shared_block():
    model = tiny_model("albert")
    summary = trainable_summary(model)
    assert [p for p in summary["part"] if p.startswith("block")] == ["block 0 (shared by 3 layers)"]
    with pytest.raises(ValueError, match="0 to 1"):
        freeze(model, blocks=2)


def test_out_of_range_and_unsupported_families_are_clear_errors():
    with pytest.raises(ValueError, match="choose 0 to 3"):
        freeze(tiny_model("bert"), blocks=4)
    xlm = build_from_config(compatibility.tiny_config(registry.get_spec("xlm-mlm-xnli15-1024")), seed=0)
    with pytest.raises(NotImplementedError, match="'xlm'"):
        freeze(xlm, blocks=1)
    freeze_encoder(xlm)  # the whole-encoder switch works for any family
    assert count_parameters(xlm)["trainable"] < count_parameters(xlm)["total"]


@pytest.mark.parametrize("model_type", ["mpnet", "deberta-v2", "xlnet"])
def test_parts_add_up_to_the_total_for_other_families(model_type):
    spec = next(s for s in registry.SPECS if s.model_type == model_type)
    model = build_from_config(compatibility.tiny_config(spec), seed=0)
    freeze(model, blocks=2)
    summary = trainable_summary(model).set_index("part")
    parts = summary.drop(index="total")
    assert parts["parameters"].sum() == summary.loc["total", "parameters"]
    assert parts["trainable_parameters"].sum() == summary.loc["total", "trainable_parameters"]
    assert list(parts["trainable"][:3]) == ["no", "no", "no"]  # embeddings, block 0, block 1
