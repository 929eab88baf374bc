"""The SavedModel export: raw strings in, the predictor's classes and probabilities out.

It is loaded in a fresh Python process that imports only TensorFlow and tensorflow-text
(never ``helpers`` nor ``transformers``), as a server would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from conftest import CLASS_NAMES, tiny_config
from helpers.checks import InputError

ROOT = Path(__file__).resolve().parents[1]
# Texts where a BERT tokenizer has choices to make: accents, case, punctuation, CJK, emoji,
# control characters, whitespace of all kinds, an empty text, and one longer than maxlen.
TEXTS = [
    "My doctor prescribed antibiotics.",
    "Héllo WORLD, naïve CAFÉ! Ångström über straße",
    "",
    "   \t\n ",
    "中文字符 and 日本語のテキスト mixed in",
    "emoji 😀🎉 and symbols ©®™ ½ ﬁ ligature",
    "control\x00chars\x07and\u200bzero\u00a0width",
    "مرحبا بالعالم right-to-left",
    "ray tracing " * 80,
    "don't re-use e-mail addresses: user@example.com, http://x.org/a?b=c",
]

LOAD_AND_RUN = textwrap.dedent("""
    import json, sys
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the tokenizer's ops)
    loaded = tf.saved_model.load(sys.argv[1])
    texts = tf.constant(json.loads(sys.stdin.read()))
    out = loaded.signatures["serving_default"](texts=texts)
    tokens = loaded.signatures["tokenize"](texts=texts)
    try:
        loaded.signatures["serving_default"](texts=tf.constant([[1.0]]))
        refused = ""
    except (TypeError, ValueError, tf.errors.InvalidArgumentError) as err:
        refused = type(err).__name__
    print(json.dumps({
        "labels": [b.decode() for b in out["label"].numpy()],
        "probabilities": out["probabilities"].numpy().tolist(),
        "ids": [row[mask == 1].tolist() for row, mask in zip(tokens["input_ids"].numpy(), tokens["attention_mask"].numpy())],
        "class_names": [b.decode() for b in loaded.class_names.numpy()],
        "maxlen": int(loaded.maxlen.numpy()),
        "imported": sorted(m for m in ("helpers", "transformers", "torch") if m in sys.modules),
        "refused": refused,
    }))
""")


def run_saved_model(folder: Path, texts: list[str]) -> dict:
    """Classify ``texts`` with the SavedModel in a fresh process that imports only TensorFlow."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-c", LOAD_AND_RUN, str(folder)], input=json.dumps(texts),
                          cwd=folder.parent, env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def tiny_predictor():
    from helpers.model import build_from_config
    from helpers.predictor import get_predictor
    from helpers.tokenizer import TextEncoder

    return get_predictor(build_from_config(tiny_config(), seed=1), TextEncoder.from_model("minilm-l6", maxlen=48),
                         CLASS_NAMES)


def test_saved_model_gives_the_predictors_tokens_and_probabilities(tiny_predictor, tmp_path):
    folder = tiny_predictor.export_saved_model(tmp_path / "saved_model")
    out = run_saved_model(folder, TEXTS)
    assert out["imported"] == []  # served without helpers, transformers or PyTorch
    assert out["ids"] == [row.tolist() for row in tiny_predictor.encoder.encode(TEXTS)]
    expected = tiny_predictor.predict_proba(TEXTS)
    np.testing.assert_allclose(out["probabilities"], expected, atol=1e-5)
    assert out["labels"] == tiny_predictor.predict(TEXTS)
    assert out["class_names"] == CLASS_NAMES and out["maxlen"] == 48
    assert out["refused"]  # numbers instead of strings: refused by the signature


def test_head_and_tail_truncation_is_exported_too(tmp_path):
    from helpers.model import build_from_config
    from helpers.predictor import get_predictor
    from helpers.tokenizer import TextEncoder

    encoder = TextEncoder.from_model("minilm-l6", maxlen=48, tail=16)
    predictor = get_predictor(build_from_config(tiny_config(), seed=1), encoder, CLASS_NAMES)
    texts = [*TEXTS, " ".join(f"word{i}" for i in range(200)) + " the last words here"]
    out = run_saved_model(predictor.export_saved_model(tmp_path / "saved_model"), texts)
    ids = [row.tolist() for row in encoder.encode(texts)]
    assert ids[-1][-4:-1] == encoder.tokenizer.convert_tokens_to_ids(["last", "words", "here"])
    assert out["ids"] == ids
    np.testing.assert_allclose(out["probabilities"], predictor.predict_proba(texts), atol=1e-5)


def test_the_command_line_exports_a_saved_predictor(tiny_predictor, tmp_path):
    tiny_predictor.save(tmp_path / "predictor")
    done = subprocess.run([sys.executable, "-m", "helpers", "export", str(tmp_path / "predictor"),
                           str(tmp_path / "exported")], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "exported" / "saved_model.pb").is_file()
    assert json.loads(done.stdout)["signatures"] == ["serving_default", "tokenize"]
    refused = subprocess.run([sys.executable, "-m", "helpers", "export", str(tmp_path / "predictor"),
                              str(tmp_path / "predictor" / "predictor.json")], cwd=ROOT, capture_output=True,
                             text=True, timeout=1800)
    assert refused.returncode == 1 and "is not a SavedModel folder" in refused.stderr


def test_a_mixed_precision_model_is_exported_in_float32(tmp_path, encoder):
    from helpers.backend import keras
    from helpers.export import export_saved_model, float32_model
    from helpers.model import build_from_config
    from helpers.predictor import get_predictor

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        mixed = build_from_config(tiny_config(), seed=2)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    as_float32 = float32_model(mixed)
    assert as_float32 is not mixed and float32_model(as_float32) is as_float32
    for kept, original in zip(as_float32.weights, mixed.weights):
        np.testing.assert_array_equal(kept.numpy(), original.numpy())
    folder = export_saved_model(get_predictor(mixed, encoder, CLASS_NAMES), tmp_path / "sm")
    out = run_saved_model(folder, TEXTS[:3])
    expected = get_predictor(as_float32, encoder, CLASS_NAMES).predict_proba(TEXTS[:3])
    np.testing.assert_allclose(out["probabilities"], expected, atol=1e-5)


def test_only_wordpiece_tokenizers_can_be_exported(tiny_predictor):
    from helpers.export import wordpiece_settings

    class NotWordPiece:
        class backend_tokenizer:
            @staticmethod
            def to_str():
                return json.dumps({"model": {"type": "BPE"}, "normalizer": None})

    with pytest.raises(ValueError, match="BERT-style.*'BPE'.*predictor.save"):
        wordpiece_settings(NotWordPiece())
    assert wordpiece_settings(tiny_predictor.encoder.tokenizer)["lower_case"] is True


@pytest.mark.parametrize("bad", [{"text": "a fever"}, 42, {"a", "b"}])
def test_the_predictor_refuses_what_is_not_text(tiny_predictor, bad):
    with pytest.raises(InputError, match="texts"):
        tiny_predictor.predict(bad)
