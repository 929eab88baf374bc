"""A TensorFlow SavedModel that classifies raw strings: tokenizer, model and softmax in one graph.

Serve it without Python, this package or transformers (TF Serving, TFLite converters,
another language's TensorFlow binding). The BERT tokenization (lower-casing, accent
stripping, punctuation splitting, WordPiece, ``[CLS]``/``[SEP]``, truncation to ``maxlen``,
padding) runs inside the graph with ``tensorflow-text``'s ``FastBertTokenizer`` over the
model's own vocabulary, after the same normalization as Hugging Face's ``BertNormalizer``
(``normalize_like_bert``: tensorflow-text's own lower-casing folds ``ß`` to ``ss``, ``½``
to ``1⁄2`` and keeps control characters, so it is not used).

    >>> from helpers.export import export_saved_model
    >>> export_saved_model(predictor, "artifacts/saved_model")         # doctest: +SKIP
    >>> import tensorflow as tf, tensorflow_text                        # a fresh process: no helpers
    >>> classify = tf.saved_model.load("artifacts/saved_model").signatures["serving_default"]  # doctest: +SKIP
    >>> classify(texts=tf.constant(["My doctor prescribed antibiotics."]))["label"]  # doctest: +SKIP
    <tf.Tensor: shape=(1,), dtype=string, numpy=array([b'sci.med'], dtype=object)>

Signatures: ``serving_default`` (``texts`` -> ``label``, ``probabilities``, one column per
class in ``class_names`` order) and ``tokenize`` (``texts`` -> ``input_ids``,
``attention_mask``, padded to the batch's longest text). The loaded object also has
``class_names`` and ``maxlen``. The graph computes in float32 whatever the training precision.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from helpers._files import replace_folder
from helpers.backend import keras, tf

if TYPE_CHECKING:
    from helpers.predictor import Predictor

SAVED_MODEL_FILE = "saved_model.pb"
TEXTS = tf.TensorSpec([None], tf.string, name="texts")


def wordpiece_settings(tokenizer) -> dict:
    """What the in-graph tokenizer needs from a Hugging Face fast tokenizer: vocabulary, casing, ids.

    Only WordPiece (BERT-style) tokenizers can be rebuilt in the graph; others get a clear error.
    Not in a notebook.

    >>> wordpiece_settings(encoder.tokenizer)["lower_case"]                 # doctest: +SKIP
    True
    """
    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    model, normalizer = spec.get("model", {}), spec.get("normalizer") or {}
    if model.get("type") != "WordPiece" or normalizer.get("type") != "BertNormalizer":
        raise ValueError(f"export_saved_model rebuilds BERT-style (WordPiece) tokenizers in the graph; "
                         f"this model's tokenizer is {model.get('type')!r} with a "
                         f"{normalizer.get('type')!r} normalizer. Serve it with predictor.save instead.")
    lower_case = bool(normalizer.get("lowercase"))
    if normalizer.get("strip_accents") not in (None, lower_case):
        raise ValueError("export_saved_model: this tokenizer strips accents without lower-casing (or the "
                         "reverse), which the in-graph BERT tokenizer cannot reproduce.")
    vocab = sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])
    if [i for _, i in vocab] != list(range(len(vocab))):
        raise ValueError("export_saved_model: the tokenizer's vocabulary ids are not 0..n-1.")
    return {"vocab": [token for token, _ in vocab], "lower_case": lower_case,
            "unknown_token": model.get("unk_token", "[UNK]"),
            "cls_id": int(tokenizer.cls_token_id), "sep_id": int(tokenizer.sep_token_id),
            "pad_id": int(tokenizer.pad_token_id or 0)}


def float32_model(model: keras.Model) -> keras.Model:
    """``model`` itself if it computes in float32, else a float32 copy with the same weights.

    A model trained under a mixed-precision policy keeps float32 weights but computes in
    float16/bfloat16; the export rebuilds it under the float32 policy and copies the weights in.
    Not in a notebook.

    >>> float32_model(model) is model   # a float32 model is returned as it is   # doctest: +SKIP
    True
    """
    if all(getattr(layer, "compute_dtype", "float32") in ("float32", None) for layer in model.submodules
           if isinstance(layer, keras.layers.Layer)):
        return model
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        copy = type(model)(model.config)
        copy(copy.dummy_inputs, training=False)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    copy.set_weights(model.get_weights())
    return copy


def normalize_like_bert(texts: tf.Tensor, lower_case: bool) -> tf.Tensor:
    """What Hugging Face's ``BertNormalizer`` does to texts, as TensorFlow string ops.

    Tabs, newlines and other spaces become a space; control and format characters
    (Unicode category C, e.g. NUL, BEL, zero-width space) are removed; with ``lower_case``,
    accents are stripped (NFD, then marks removed) and letters lower-cased.
    Not in a notebook.

    >>> normalize_like_bert(tf.constant(["Naïve\tCAFÉ\u200b"]), lower_case=True).numpy()
    array([b'naive cafe'], dtype=object)
    """
    import tensorflow_text as tf_text

    texts = tf.strings.regex_replace(texts, r"[\t\n\r\p{Zs}]", " ")
    texts = tf.strings.regex_replace(texts, r"\p{C}", "")
    if lower_case:
        texts = tf.strings.regex_replace(tf_text.normalize_utf8(texts, "NFD"), r"\p{Mn}", "")
        texts = tf.strings.lower(texts, encoding="utf-8")
    return texts


class TextClassifierModule(tf.Module):
    """The exported object: ``tokenize`` and ``classify``, both taking a batch of strings.
    Not in a notebook.
    """

    def __init__(self, model: keras.Model, settings: dict, class_names: list[str], maxlen: int,
                 tail: int = 0) -> None:
        import tensorflow_text as tf_text

        super().__init__()
        self.model = model
        self.tokenizer = tf_text.FastBertTokenizer(
            vocab=settings["vocab"], token_out_type=tf.int64, unknown_token=settings["unknown_token"],
            lower_case_nfd_strip_accents=False)  # normalize_like_bert does it, as Hugging Face does
        self._lower_case = settings["lower_case"]
        self.class_names = tf.Variable(class_names, trainable=False, dtype=tf.string, name="class_names")
        self.maxlen = tf.Variable(maxlen, trainable=False, dtype=tf.int32, name="maxlen")
        self._ids = {key: settings[key] for key in ("cls_id", "sep_id", "pad_id")}
        self._max_pieces = maxlen - 2  # room for [CLS] and [SEP], as the Python tokenizer does
        # A longer text keeps its first and last pieces, as TextEncoder does: the last ``tail``
        # tokens there include [SEP], so ``tail - 1`` pieces come from the end.
        self._tail_pieces = max(tail - 1, 0)
        self.tail = tf.Variable(tail, trainable=False, dtype=tf.int32, name="tail")

    @tf.function(input_signature=[TEXTS])
    def tokenize(self, texts: tf.Tensor) -> dict[str, tf.Tensor]:
        """Token ids and attention mask, int32, padded to the batch's longest text."""
        pieces = self.tokenizer.tokenize(normalize_like_bert(texts, self._lower_case))
        if pieces.shape.rank == 3:  # [text, word, piece] -> [text, piece]
            pieces = pieces.merge_dims(-2, -1)
        pieces = tf.cast(_head_and_tail(pieces, self._max_pieces, self._tail_pieces), tf.int32)
        rows = pieces.nrows()
        ids = tf.concat([tf.fill([rows, 1], self._ids["cls_id"]), pieces,
                         tf.fill([rows, 1], self._ids["sep_id"])], axis=1)
        return {"input_ids": ids.to_tensor(default_value=self._ids["pad_id"]),
                "attention_mask": tf.ones_like(ids).to_tensor(default_value=0)}

    @tf.function(input_signature=[TEXTS])
    def classify(self, texts: tf.Tensor) -> dict[str, tf.Tensor]:
        """The most probable class name and every class's probability, per text."""
        logits = self.model(self.tokenize(texts), training=False).logits
        probabilities = tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)
        return {"label": tf.gather(self.class_names, tf.argmax(probabilities, axis=-1)),
                "probabilities": probabilities}


def _head_and_tail(pieces: tf.RaggedTensor, keep: int, tail: int) -> tf.RaggedTensor:
    """Each row cut to its first ``keep - tail`` and last ``tail`` pieces when longer than ``keep``."""
    if not tail:
        return pieces[:, :keep]
    lengths = tf.expand_dims(pieces.row_lengths(), 1)
    position = tf.ragged.range(pieces.row_lengths())
    kept = (position < keep - tail) | (position >= lengths - tail) | (lengths <= keep)
    return tf.ragged.boolean_mask(pieces, kept)


def export_saved_model(predictor: Predictor, directory: str | os.PathLike) -> Path:
    """Write ``predictor`` as a SavedModel that takes raw strings; returns the folder.

    Written to a temporary sibling and renamed into place: an existing export is replaced
    only once the new one is complete. A folder holding anything else is refused.
    Not in a notebook.

    >>> export_saved_model(predictor, "artifacts/saved_model")      # doctest: +SKIP
    PosixPath('artifacts/saved_model')
    """
    target = Path(directory)
    if target.exists() and not (target.is_dir() and (not any(target.iterdir())
                                                     or (target / SAVED_MODEL_FILE).is_file())):
        raise FileExistsError(f"{target} exists and is not a SavedModel folder; choose a new or empty "
                              "folder (exporting would replace everything in it).")
    settings = wordpiece_settings(predictor.encoder.tokenizer)
    module = TextClassifierModule(float32_model(predictor.model), settings, predictor.class_names,
                                  predictor.maxlen, predictor.encoder.tail)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.exporting-{uuid.uuid4().hex[:8]}"
    try:
        tf.saved_model.save(module, str(tmp), signatures={"serving_default": module.classify,
                                                          "tokenize": module.tokenize})
        replace_folder(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
