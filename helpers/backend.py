"""The one place that imports TensorFlow, Keras 2 and transformers' TF model code.

Every other module gets ``tf`` and ``keras`` from here, so a different backend
(PyTorch, JAX) would replace this file and ``helpers.model``, not the whole package.

    >>> from helpers.backend import tf, keras
    >>> keras.__name__
    'tf_keras'
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings

import helpers  # noqa: F401  (sets TF_USE_LEGACY_KERAS=1 before TensorFlow loads)

# TensorFlow's C++ start-up chatter (CUDA probing, oneDNN notices) hides what matters
# to a learner. A user who wants it back sets TF_CPP_MIN_LOG_LEVEL=0.
_QUIET = os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2") != "0"


@contextlib.contextmanager
def _native_stderr_silenced(active: bool):
    """Send what C++ code writes to file descriptor 2 to /dev/null for the block.

    TF 2.21 logs its start-up lines through absl before it reads TF_CPP_MIN_LOG_LEVEL, so
    the variable alone does not silence them. Python exceptions are unaffected.
    """
    if not active:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


with _native_stderr_silenced(_QUIET):
    import tensorflow as tf  # noqa: E402
    import tf_keras as keras  # noqa: E402

    # Probe for CUDA now, while its messages are silenced. (Not tf.constant: that would fix
    # the device list, and tf.config.set_logical_device_configuration would then fail.)
    tf.config.list_physical_devices()

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
from transformers.modeling_tf_outputs import TFSequenceClassifierOutput  # noqa: E402
from transformers.modeling_tf_pytorch_utils import (  # noqa: E402
    load_pytorch_state_dict_in_tf2_model,
)
from transformers.modeling_tf_utils import (  # noqa: E402
    TFSequenceClassificationLoss,
    get_initializer,
    unpack_inputs,
)
from transformers.models.bert.modeling_tf_bert import TFBertMainLayer, TFBertPreTrainedModel  # noqa: E402
from transformers.models.mpnet.modeling_tf_mpnet import TFMPNetMainLayer, TFMPNetPreTrainedModel  # noqa: E402

# transformers 4.57 warns on every TF model that TF support ends in v5. We pin <5 on
# purpose (README: "The pinned stack"), so the warning only adds noise for learners.
warnings.filterwarnings("ignore", message=".*TensorFlow and JAX classes are deprecated.*")
transformers.logging.set_verbosity_error()
# tf_keras warns when a model reuses one unseeded initializer for several weights, which
# every transformers model does; the weights are then overwritten by pretrained ones anyway.
warnings.filterwarnings("ignore", message="The initializer .* is unseeded")
# Every TF model of transformers carries a text-generation mixin whose `seed_generator` property
# warns, when read, that it is deprecated. Something in Keras reads it (seen on stderr while a
# checkpointed run with early stopping trained, notebook 04's first exercise in quick mode);
# a classifier never generates text, so the warning only alarms a learner.
warnings.filterwarnings("ignore", message="`seed_generator` is deprecated")

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
    "TFSequenceClassifierOutput",
    "TFSequenceClassificationLoss",
    "get_initializer",
    "unpack_inputs",
    "TFBertMainLayer",
    "TFBertPreTrainedModel",
    "TFMPNetMainLayer",
    "TFMPNetPreTrainedModel",
]
