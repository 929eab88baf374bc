"""Helpers behind the notebooks: fine-tune transformer text classifiers in TensorFlow 2.

Importing ``helpers`` is cheap: it only makes sure that TensorFlow, whenever it is
imported later, uses Keras 2 (``tf-keras``). The transformers TF model classes this
project uses are Keras 2 models, and a Keras 3 ``tf.keras`` cannot train them.

Modules, one concept each, in the order of the tutorial:

- ``helpers.data``       load the 20 Newsgroups task, or your own CSV / DataFrame / folder
- ``helpers.tokenizer``  texts -> token ids -> padded ``tf.data`` batches; ``predict_logits``
- ``helpers.model``      pick pretrained weights, build and compile a classifier
- ``helpers.precision``  float32 or mixed bfloat16/float16, decided from the hardware
- ``helpers.registry``   which pretrained models there are, what they cost, whether they work
- ``helpers.freeze``     freeze embeddings and the first k transformer blocks
- ``helpers.schedule``   ``lr_find`` and the 1cycle schedule
- ``helpers.train``      ``fit_onecycle`` and the training history plots
- ``helpers.evaluate``   ``validate``: accuracy, report, confusion matrix
- ``helpers.inspection`` ``top_losses`` and ``most_confused``
- ``helpers.predictor``  ``get_predictor`` / ``load_predictor``: predict, save, reload
- ``helpers.explain``    ``explain`` (LIME) and ``explain_gradients``
- ``helpers.full_run``   the whole recipe in one call, timed
- ``helpers.checks``     check texts and labels a user passes in: ``InputError`` names the fix
- ``helpers.checkpoint`` resumable training checkpoints (``fit_onecycle(..., resume=True)``)
- ``helpers.memory``     out-of-memory errors that suggest a smaller batch_size or maxlen
- ``helpers.offline``    ``HF_HUB_OFFLINE`` for every download, and download timeouts
- ``helpers.files``      checksums and atomic JSON writes
- ``helpers.backend``    the one place that imports TensorFlow and transformers' TF code
"""

import os as _os

# Must happen before TensorFlow resolves `tf.keras`. Set unconditionally: with any
# other value, `tf.keras` is Keras 3 and fine-tuning the transformers models fails.
_os.environ["TF_USE_LEGACY_KERAS"] = "1"

__version__ = "0.1.0"
