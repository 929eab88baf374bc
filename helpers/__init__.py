"""Helpers behind the notebooks: fine-tune transformer text classifiers in TensorFlow 2.

Importing ``helpers`` is cheap: it only makes sure that TensorFlow, whenever it is
imported later, uses Keras 2 (``tf-keras``). The transformers TF model classes this
project uses are Keras 2 models, and a Keras 3 ``tf.keras`` cannot train them.

Lesson modules, one step each, in the order of the tutorial (the notebook that teaches it):

- ``helpers.run``           ``RunSettings``, the run modes (``get_mode``), ``phase`` timing (all notebooks)
- ``helpers.data``          load the 20 Newsgroups task, or your own CSV / DataFrame / folder; ``subset`` (01)
- ``helpers.tokenizer``     texts -> token ids -> padded ``tf.data`` batches (01)
- ``helpers.registry``      which pretrained models there are, what they are (02)
- ``helpers.compatibility`` does each model family train, predict and reload here (02)
- ``helpers.costs``         seconds per example of each model, and of a whole run (02)
- ``helpers.model``         pick pretrained weights, build and compile a classifier (03, 04)
- ``helpers.pooling``       the mean-pooling head (``load_classifier(..., pooling="mean")``) (full_run option)
- ``helpers.layer_decay``   layer-wise learning-rate decay: an Adam that scales each layer's step (full_run option)
- ``helpers.precision``     float32 or mixed bfloat16/float16, decided from the hardware (03, 04)
- ``helpers.lr_finder``     ``lr_find``, its suggestions, the learning rate a run takes (03)
- ``helpers.schedule``      the 1cycle schedule and the callback that applies it (04)
- ``helpers.train``         ``training_batches``, ``fit_onecycle`` and the training plots (04)
- ``helpers.checkpoint``    resume checkpoints, best weights, early stopping: ``fit_onecycle``'s extras (04)
- ``helpers.freeze``        freeze embeddings and the first k transformer blocks (04)
- ``helpers.baseline``      the TF-IDF + linear SVM baseline (04)
- ``helpers.evaluate``      ``validate``, then ``top_losses`` and ``most_confused`` (04, 05)
- ``helpers.standing``      where a run stands: confidence interval, paired test, set-ups side by side (04)
- ``helpers.predictor``     ``compiled_forward``, ``predict_logits``, ``class_probabilities``, the ``Predictor`` (04, 07)
- ``helpers.explain``       ``explain`` (LIME) and ``explain_gradients`` (06)
- ``helpers.widgets``       the notebooks' interactive views, each with a static picture (02, 03, 05, 07)
- ``helpers.export``        a TensorFlow SavedModel that classifies raw strings (07)
- ``helpers.artifacts``     what one notebook leaves for the next: curves, choices, the predictor (all)
- ``helpers.full_run``      ``build_learner`` (03, 04), and the whole recipe in one call, timed (``python -m helpers.full_run``)
- ``helpers.checks``        check texts and labels a user passes in: ``InputError`` names the fix
- ``helpers.paths``         the one place that decides the project and artifacts folders

Around the lessons: ``helpers.__main__`` (``python -m helpers predict|export``), ``helpers.suite``
(runs every notebook: ``make run``), ``helpers.cluster`` (multi-worker training),
``helpers.hosted`` (the notebooks' Colab setup cell), ``helpers.backend`` (the one place that
imports TensorFlow and transformers' TF code).

Plumbing a learner can skip (leading underscore): ``helpers._archive`` (finding, trusting and
unpacking the corpus archive), ``helpers._files`` (checksums, atomic writes, the records helper,
atomic folder replacement), ``helpers._predictor_folder`` (a saved predictor's manifest and
checks), ``helpers._html`` (HTML of explanations and figures), ``helpers._progress`` (progress
bars), ``helpers._memory`` (out-of-memory hints), ``helpers._offline`` (``HF_HUB_OFFLINE`` and
download timeouts), ``helpers._weights`` (the embedded model's package, the hub cache),
``helpers._scrub`` (notebook outputs as a reader sees them), ``helpers._large_model``
(``make setup-large``: the large model's parts, joined and verified), ``helpers._readme``
(``make docs``: the generated tables of the README and docs/), ``helpers._exercises`` (the
notebooks' "Try this" blocks run, their outputs written to docs/exercises.md).
"""

import os as _os

# Must happen before TensorFlow resolves `tf.keras`. Set unconditionally: with any
# other value, `tf.keras` is Keras 3 and fine-tuning the transformers models fails.
_os.environ["TF_USE_LEGACY_KERAS"] = "1"

__version__ = "0.1.0"
