"""Mean pooling: the classifier reads the average of every token's vector, not [CLS]'s.

A classifier from ``transformers`` classifies the first token's vector ([CLS], or MPNet's
``<s>``) after one more dense layer. Both real models of this project, all-MiniLM-L6-v2
(a BERT) and all-mpnet-base-v2 (an MPNet), were trained as sentence encoders whose
sentence vector is the *mean* of their token vectors (padding left out); this head reads
that mean instead. Choose it with ``load_classifier(..., pooling="mean")``; the choice is
saved in the model's ``config.json`` (``"pooling"``), so a saved predictor reloads with the
same head.

    >>> from helpers.model import load_classifier
    >>> model = load_classifier("minilm-l6", ["a", "b"], pooling="mean")
    >>> type(model).__name__, model.config.pooling
    ('TFBertMeanPooledClassifier', 'mean')
"""

from __future__ import annotations

from helpers.backend import (
    TFAutoModelForSequenceClassification,
    TFBertMainLayer,
    TFBertPreTrainedModel,
    TFMPNetMainLayer,
    TFMPNetPreTrainedModel,
    TFSequenceClassificationLoss,
    TFSequenceClassifierOutput,
    get_initializer,
    keras,
    tf,
    unpack_inputs,
)

POOLINGS = ("cls", "mean")


def masked_mean(hidden: tf.Tensor, attention_mask: tf.Tensor | None) -> tf.Tensor:
    """The mean of each text's token vectors over its real tokens (``attention_mask == 1``), in float32.
    Not in a notebook.

    >>> masked_mean(tf.constant([[[1.0], [3.0], [100.0]]]), tf.constant([[1, 1, 0]])).numpy()
    array([[2.]], dtype=float32)
    """
    hidden = tf.cast(hidden, tf.float32)
    if attention_mask is None:
        return tf.reduce_mean(hidden, axis=1)
    mask = tf.cast(attention_mask, tf.float32)[:, :, None]
    return tf.reduce_sum(hidden * mask, axis=1) / tf.maximum(tf.reduce_sum(mask, axis=1), 1.0)


class _MeanPooledHead:
    """What every mean-pooled classifier shares: the masked mean of the encoder's last layer,
    dropout, a dense layer. A subclass builds its family's encoder under the family's own
    name (``base_model_prefix``: "bert", "mpnet"), so the pretrained weights load into it
    unchanged; the pooler's weights, if the checkpoint has them, go unused.
    Not in a notebook.
    """

    def _add_head(self, config) -> None:
        self.num_labels = config.num_labels
        rate = getattr(config, "classifier_dropout", None) or config.hidden_dropout_prob
        self.dropout = keras.layers.Dropout(rate=rate)
        self.classifier = keras.layers.Dense(config.num_labels, name="classifier",
                                             kernel_initializer=get_initializer(config.initializer_range))
        self.config = config

    def _classify(self, outputs, attention_mask, labels, training) -> TFSequenceClassifierOutput:
        pooled = masked_mean(outputs.last_hidden_state, attention_mask)
        logits = self.classifier(self.dropout(pooled, training=training))
        loss = None if labels is None else self.hf_compute_loss(labels=labels, logits=logits)
        return TFSequenceClassifierOutput(loss=loss, logits=logits, hidden_states=outputs.hidden_states,
                                          attentions=outputs.attentions)

    @classmethod
    def from_config(cls, config, trust_remote_code: bool = False, **kwargs):
        """A random model from ``config``, as transformers' own classes build one (this class
        runs no code from a model folder, so ``trust_remote_code`` changes nothing)."""
        return cls._from_config(config, **kwargs)

    def build(self, input_shape=None):
        if self.built:
            return
        self.built = True
        encoder = getattr(self, self.base_model_prefix)
        with tf.name_scope(encoder.name):
            encoder.build(None)
        with tf.name_scope(self.classifier.name):
            self.classifier.build([None, None, self.config.hidden_size])


class TFBertMeanPooledClassifier(_MeanPooledHead, TFBertPreTrainedModel, TFSequenceClassificationLoss):
    """A BERT encoder (no pooler), the masked mean of its last layer, dropout, a dense layer.
    Weight names match ``TFBertForSequenceClassification``'s. Not in a notebook.
    """

    def __init__(self, config, *inputs, **kwargs):
        super().__init__(config, *inputs, **kwargs)
        self.bert = TFBertMainLayer(config, add_pooling_layer=False, name="bert")
        self._add_head(config)

    @unpack_inputs
    def call(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
             head_mask=None, inputs_embeds=None, output_attentions=None, output_hidden_states=None,
             return_dict=None, labels=None, training=False) -> TFSequenceClassifierOutput:
        outputs = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                            position_ids=position_ids, head_mask=head_mask, inputs_embeds=inputs_embeds,
                            output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                            return_dict=True, training=training)
        return self._classify(outputs, attention_mask, labels, training)


class TFMPNetMeanPooledClassifier(_MeanPooledHead, TFMPNetPreTrainedModel, TFSequenceClassificationLoss):
    """An MPNet encoder, the masked mean of its last layer, dropout, a dense layer (the large
    model's own sentence vector). Weight names match ``TFMPNetForSequenceClassification``'s
    encoder. Not in a notebook.
    """

    def __init__(self, config, *inputs, **kwargs):
        super().__init__(config, *inputs, **kwargs)
        self.mpnet = TFMPNetMainLayer(config, name="mpnet")
        self.mpnet.pooler.trainable = False  # MPNet always builds its pooler; the mean replaces it
        self._add_head(config)

    @unpack_inputs
    def call(self, input_ids=None, attention_mask=None, position_ids=None, head_mask=None,
             inputs_embeds=None, output_attentions=None, output_hidden_states=None,
             return_dict=None, labels=None, training=False) -> TFSequenceClassifierOutput:
        outputs = self.mpnet(input_ids, attention_mask=attention_mask, position_ids=position_ids,
                             head_mask=head_mask, inputs_embeds=inputs_embeds,
                             output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                             return_dict=True, training=training)
        return self._classify(outputs, attention_mask, labels, training)


MEAN_POOLED = {"bert": TFBertMeanPooledClassifier, "mpnet": TFMPNetMeanPooledClassifier}


def classifier_class(config):
    """The model class for ``config``: transformers' own head, or the mean-pooled one.
    Not in a notebook.

    >>> from transformers import BertConfig
    >>> classifier_class(BertConfig(pooling="mean")).__name__
    'TFBertMeanPooledClassifier'
    """
    pooling = getattr(config, "pooling", "cls")
    if pooling not in POOLINGS:
        raise ValueError(f"pooling={pooling!r} is not one of {POOLINGS}: 'cls' is the model's own "
                         "classification head, 'mean' averages the token vectors.")
    if pooling == "cls":
        return TFAutoModelForSequenceClassification
    if config.model_type not in MEAN_POOLED:
        raise ValueError(f"pooling='mean' is built for the model types {sorted(MEAN_POOLED)} (both real "
                         f"models of this project are one); this one is {config.model_type!r}. "
                         "Use pooling='cls' with it.")
    return MEAN_POOLED[config.model_type]
