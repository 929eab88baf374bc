"""Helpers behind the notebooks: fine-tune transformer text classifiers in TensorFlow 2.

Importing ``helpers`` is cheap: it only makes sure that TensorFlow, whenever it is
imported later, uses Keras 2 (``tf-keras``). The transformers TF model classes this
project uses are Keras 2 models, and a Keras 3 ``tf.keras`` cannot train them.

Modules, one concept each:

- ``helpers.data``      load the 20 Newsgroups task, or your own CSV / DataFrame / folder
- ``helpers.tokenizer`` texts -> token ids -> padded ``tf.data`` batches
- ``helpers.model``     pick pretrained weights, build and compile a classifier
- ``helpers.backend``   the one place that imports TensorFlow and transformers' TF code
"""

import os as _os

# Must happen before TensorFlow resolves `tf.keras`. Set unconditionally: with any
# other value, `tf.keras` is Keras 3 and fine-tuning the transformers models fails.
_os.environ["TF_USE_LEGACY_KERAS"] = "1"

__version__ = "0.1.0"
