"""A trained classifier you can call on raw text, save to a folder, and load back anywhere.

    >>> from helpers.predictor import get_predictor, load_predictor
    >>> predictor = get_predictor(model, encoder, train.class_names)
    >>> predictor.predict("My GPU renders polygons too slowly") in train.class_names
    True
    >>> predictor.save("artifacts/predictor")           # later, in another process:
    PosixPath('artifacts/predictor')
    >>> load_predictor("artifacts/predictor").predict_proba(["The doctor said..."]).shape
    (1, 4)

A saved predictor is a folder with no pickles in it (pickles run code when loaded):
``model/`` (``save_pretrained``: config.json, tf_model.h5), ``tokenizer/`` and
``predictor.json`` (class names, maxlen, library versions, every file's sha256).
TensorFlow is imported only once a model is needed, so a bad folder fails in a blink.
"""

from __future__ import annotations

import os
import shutil
import uuid
import warnings
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
from scipy.special import softmax

from helpers._files import replace_folder
from helpers.checks import check_batch_size
from helpers._predictor_folder import (  # noqa: F401  (PredictorLoadError, is_pickle: for users too)
    MANIFEST,
    PredictorLoadError,
    check_no_pickles,
    check_replaceable,
    is_pickle,
    library_versions,
    read_manifest,
    recover_interrupted_save,
    write_manifest,
)

if TYPE_CHECKING:
    from helpers.tokenizer import TextEncoder

PROGRESS_FROM = 500  # predict_proba shows a progress bar from this many texts on
PREDICT_BATCH_SIZE = 32  # texts per forward pass when predicting (no gradients: larger than training's)


def predict_logits(
    model,
    encoder: TextEncoder,
    texts: Sequence[str],
    *,
    batch_size: int = PREDICT_BATCH_SIZE,
    progress: bool = False,
) -> np.ndarray:
    """Logits for ``texts``, in their order, shape ``(len(texts), num_labels)``.

    Texts are sorted by length so each batch pads little, then put back in order:
    the fastest way to run many texts through a model on a CPU.
    Not in a notebook.

    >>> logits = predict_logits(model, encoder, test.texts[:40])
    >>> logits.shape
    (40, 4)
    >>> accuracy = (logits.argmax(1) == test.labels[:40]).mean()
    """
    from helpers._memory import out_of_memory_hint

    batch_size = check_batch_size(batch_size)
    forward = compiled_forward(model)
    ids = encoder.encode(texts)
    order = np.argsort([len(row) for row in ids], kind="stable")
    batches = range(0, len(ids), batch_size)
    if progress:
        from helpers._progress import progress as progress_bar

        batches = progress_bar(batches, desc="predicting", unit="batch")
    out = []
    for start in batches:
        rows = [ids[i] for i in order[start : start + batch_size]]
        width = max(len(row) for row in rows)
        input_ids = np.full((len(rows), width), encoder.pad_token_id, dtype=np.int32)
        mask = np.zeros((len(rows), width), dtype=np.int32)
        for r, row in enumerate(rows):
            input_ids[r, : len(row)] = row
            mask[r, : len(row)] = 1
        with out_of_memory_hint("predicting", batch_size=batch_size, maxlen=encoder.maxlen):
            out.append(forward({"input_ids": input_ids, "attention_mask": mask}).numpy())
    logits = np.empty((len(ids), out[0].shape[1]), dtype=np.float32)
    logits[order] = np.concatenate(out)
    return logits


_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def compiled_forward(model):
    """``model``'s inference pass as one TensorFlow graph for any batch shape.

    Traced once per model, then about twice as fast as calling the model eagerly on a
    CPU. Cached per model without keeping the model alive; it reads the model's current
    weights, so it stays right while the model trains.
    Not in a notebook.

    >>> logits = compiled_forward(model)({"input_ids": ids, "attention_mask": mask})  # doctest: +SKIP
    """
    forward = _COMPILED.get(model)
    if forward is None:
        from helpers.backend import tf

        ref = weakref.ref(model)
        spec = {"input_ids": tf.TensorSpec([None, None], tf.int32),
                "attention_mask": tf.TensorSpec([None, None], tf.int32)}

        @tf.function(input_signature=[spec])
        def forward(inputs):
            output = ref()(inputs, training=False)
            return getattr(output, "logits", output)

        _COMPILED[model] = forward
    return forward


def class_probabilities(model, encoder, texts: Sequence[str], *, batch_size: int = PREDICT_BATCH_SIZE,
                        progress: bool = False) -> np.ndarray:
    """Softmax probabilities, shape ``(len(texts), classes)``, in the order of ``texts``.
    Not in a notebook.

    >>> class_probabilities(model, encoder, ["ray tracing", "a fever"]).shape
    (2, 4)
    """
    logits = predict_logits(model, encoder, texts, batch_size=batch_size, progress=progress)
    return softmax(logits.astype(np.float64), axis=1)


class Predictor:
    """A model, its tokenizer and class names: text in, class names or probabilities out.
    Not in a notebook.

    >>> predictor = Predictor(model, encoder, ["atheism", "graphics", "med", "christian"])
    >>> predictor.predict(["great film", "dull"])           # a tiny untrained model: any classes
    [...]
    """

    def __init__(self, model, encoder: TextEncoder, class_names: Sequence[str], *,
                 source: str | None = None, batch_size: int = PREDICT_BATCH_SIZE) -> None:
        names = list(class_names)
        num_labels = model.config.num_labels
        if len(names) != num_labels or len(set(names)) != len(names):
            raise ValueError(f"Got class names {names!r} for a model with {num_labels} outputs: "
                             "give one unique name per output, in the order of the labels.")
        self.model, self.encoder, self.class_names = model, encoder, names
        self.batch_size = int(batch_size)
        self.source = source or getattr(model.config, "name_or_path", "") or "unknown"
        model.config.id2label = dict(enumerate(names))  # so the saved config.json has them too
        model.config.label2id = {name: i for i, name in enumerate(names)}

    @property
    def maxlen(self) -> int:
        """How many tokens of each text the model reads; the rest is cut off."""
        return self.encoder.maxlen

    def __repr__(self) -> str:
        return (f"Predictor({self.model.config.model_type}, {len(self.class_names)} classes, "
                f"maxlen={self.maxlen}, source={self.source!r})")

    def predict_proba(self, texts: str | Sequence[str], *,
                      progress: bool | None = None) -> np.ndarray:
        """Class probabilities: shape ``(classes,)`` for one text, ``(n, classes)`` for a list.

        >>> predictor.predict_proba("the patient's fever").shape, predictor.predict_proba(["a", "b"]).shape
        ((4,), (2, 4))
        """
        from helpers.checks import check_texts

        if isinstance(texts, str):
            return self.predict_proba([texts], progress=False)[0]
        texts = check_texts(texts, where="predict", allow_none=True)  # empty strings classify too
        if not texts:  # nothing in, nothing out
            return np.zeros((0, len(self.class_names)), dtype=np.float32)
        if progress is None:
            progress = len(texts) >= PROGRESS_FROM
        probabilities = class_probabilities(self.model, self.encoder, texts,
                                            batch_size=self.batch_size, progress=progress)
        return probabilities.astype(np.float32)

    def predict(self, texts: str | Sequence[str], *,
                progress: bool | None = None) -> str | list[str]:
        """The most probable class name: one name for one text, a list for a list.

        >>> predictor.predict("the patient's fever") in predictor.class_names
        True
        """
        probs = self.predict_proba(texts, progress=progress)
        if probs.ndim == 1:
            return self.class_names[int(probs.argmax())]
        return [self.class_names[i] for i in probs.argmax(axis=1)]

    def save(self, directory: str | os.PathLike, *, trained_with: dict | None = None) -> Path:
        """Write model, tokenizer and ``predictor.json`` to ``directory``, all or nothing.

        All goes to a temporary sibling folder, renamed into place when complete; a
        predictor already there is deleted only after that, so a failed save keeps it.
        ``trained_with`` (JSON-able, e.g. ``helpers.full_run.trained_with(settings, n)``) is
        kept in ``predictor.json``, so a later notebook can tell whether it is still current.

        >>> predictor.save("artifacts/predictor")
        PosixPath('artifacts/predictor')
        """
        target = Path(directory)
        recover_interrupted_save(target)
        check_replaceable(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{target.name}.saving-{uuid.uuid4().hex[:8]}"
        try:
            tmp.mkdir()
            self.model.save_pretrained(str(tmp / "model"))
            self.encoder.save(tmp / "tokenizer")
            write_manifest(tmp, {
                "class_names": self.class_names, "maxlen": self.maxlen, "tail": self.encoder.tail,
                "batch_size": self.batch_size,
                "model": {"family": type(self.model).__name__,
                          "model_type": self.model.config.model_type, "source": self.source},
                "versions": library_versions(),
                **({"trained_with": trained_with} if trained_with is not None else {})})
            check_no_pickles(tmp)
            replace_folder(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # gone already if the rename succeeded
        return target


    def export_saved_model(self, directory: str | os.PathLike) -> Path:
        """Write a TensorFlow SavedModel that classifies raw strings, tokenizer inside (``helpers.export``).

        >>> predictor.export_saved_model("artifacts/saved_model")       # doctest: +SKIP
        PosixPath('artifacts/saved_model')
        """
        from helpers.export import export_saved_model

        return export_saved_model(self, directory)


def get_predictor(model, encoder: TextEncoder, class_names: Sequence[str], **kwargs) -> Predictor:
    """Wrap a trained model and its encoder as a ``Predictor``.
    Taught in notebooks/04_one_cycle_training.ipynb.

    >>> get_predictor(model, encoder, train.class_names)
    Predictor(bert, 4 classes, maxlen=64, source=...)
    """
    return Predictor(model, encoder, class_names, **kwargs)


def load_predictor(directory: str | os.PathLike) -> Predictor:
    """Load a predictor written by ``Predictor.save``, after checking every file's checksum.

    Works offline and in a fresh process: nothing is downloaded.
    Taught in notebooks/07_predict_and_deploy.ipynb.

    >>> predictor = load_predictor(predictor.save("artifacts/predictor"))
    """
    directory = Path(directory)
    recover_interrupted_save(directory)
    manifest = read_manifest(directory)  # before TensorFlow starts: a bad folder fails fast
    from helpers.model import load_classifier
    from helpers.tokenizer import TextEncoder

    saved, running = manifest["versions"], library_versions()
    changed = [f"{k} {saved[k]} -> {running[k]}" for k in running if saved.get(k) != running[k]]
    if changed:
        warnings.warn(f"{directory} was saved with other library versions ({', '.join(changed)}); "
                      "its probabilities may differ slightly from the saved predictor's.")
    model = load_classifier(str(directory / "model"), manifest["class_names"], compile=False)
    encoder = TextEncoder.from_model(directory / "tokenizer", manifest["maxlen"], manifest.get("tail", 0))
    return Predictor(model, encoder, manifest["class_names"], source=manifest["model"]["source"],
                     batch_size=manifest.get("batch_size", PREDICT_BATCH_SIZE))
