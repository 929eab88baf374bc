"""The one place that imports TensorFlow, Keras 2 and transformers' TF model code.

Every other module gets ``tf`` and ``keras`` from here, so a different backend
(PyTorch, JAX) would replace this file and ``helpers.model``, not the whole package.

    >>> from helpers.backend import tf, keras
    >>> keras.__name__
    'tf_keras'
"""

from __future__ import annotations

import os
import warnings

import helpers  # noqa: F401  (sets TF_USE_LEGACY_KERAS=1 before TensorFlow loads)

# TensorFlow's C++ start-up chatter (CUDA probing, oneDNN notices) hides what matters
# to a learner; errors still show. A user who wants it back sets TF_CPP_MIN_LOG_LEVEL=0.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

if tf.keras.__name__.split(".")[0] != "tf_keras":  # pragma: no cover - needs a bad session
    raise ImportError(
        "tf.keras is Keras 3 in this Python session, but the transformers TF models need "
        "Keras 2. Restart the kernel and `import helpers` before importing tensorflow "
        "(or set TF_USE_LEGACY_KERAS=1 in the environment)."
    )

import transformers  # noqa: E402
from transformers import (  # noqa: E402
    AutoConfig,
    AutoTokenizer,
    PretrainedConfig,
    TFAutoModelForSequenceClassification,
    TFPreTrainedModel,
)
from transformers.modeling_tf_pytorch_utils import (  # noqa: E402
    load_pytorch_state_dict_in_tf2_model,
)

# transformers 4.57 warns on every TF model that TF support ends in v5. We pin <5 on
# purpose (README: "The pinned stack"), so the warning only adds noise for learners.
warnings.filterwarnings("ignore", message=".*TensorFlow and JAX classes are deprecated.*")
transformers.logging.set_verbosity_error()

__all__ = [
    "tf",
    "keras",
    "transformers",
    "AutoConfig",
    "AutoTokenizer",
    "PretrainedConfig",
    "TFAutoModelForSequenceClassification",
    "TFPreTrainedModel",
    "load_pytorch_state_dict_in_tf2_model",
]
