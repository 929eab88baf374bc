"""Why did the model say that? Word weights for one prediction, two ways.

- ``explain``: LIME. Hide random words, watch the class probability move, fit a linear
  model to that. Treats the model as a black box, costs hundreds of predictions.
- ``explain_gradients``: integrated gradients (or gradient x input) on the word embeddings.

Both return an ``Explanation`` (words for the class in green, against it in red); compare them:

    >>> from helpers.explain import explain, explain_gradients
    >>> explain(predictor, test.texts[0], num_samples=50)
    Explanation(LIME: class ...)
    >>> explain_gradients(predictor, test.texts[0], steps=4)
    Explanation(integrated gradients: class ...)
"""

from __future__ import annotations

import re
import time
import weakref
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from helpers._html import explanation_html
from helpers.checks import InputError
from helpers.predictor import Predictor

# The largest count of bench/bench_predict.py's grid under 10 s per explanation (docs/results.md).
DEFAULT_NUM_SAMPLES = 550
WORD = re.compile(r"\w+")  # LIME's words: what its split_expression r"\W+" leaves
METHODS = ("integrated_gradients", "gradient_x_input")
COMPLETENESS_TOLERANCE = 0.05  # how far integrated gradients' weights may sum from the probability change


@dataclass(repr=False)
class Explanation:
    """Word weights for one class of one prediction; Jupyter renders it as HTML.
    Not in a notebook.
    """

    text: str
    class_names: list[str]
    probabilities: np.ndarray
    class_name: str  # the class explained: positive weights push towards it
    weights: list[tuple[str, float]]  # (word, weight), largest |weight| first
    spans: list[tuple[int, int, float]]  # (start, end, weight) of highlighted words in text
    method: str
    visible_chars: int  # the model reads text[:visible_chars]; the rest is cut off
    notes: list[str] = field(default_factory=list)
    stats: dict = field(default_factory=dict)

    @property
    def predicted(self) -> str:
        """The class the model predicts for the text."""
        return self.class_names[int(np.argmax(self.probabilities))]

    def word_weights(self) -> Counter:
        """Each word's weight, a repeated word's weights summed (what ``top_words`` ranks)."""
        total: Counter = Counter()
        for word, weight in self.weights:
            total[str(word)] += float(weight)  # plain str and float, not numpy scalars, when printed
        return total

    def top_words(self, k: int = 10) -> list[str]:
        """The ``k`` words with the largest absolute weight (a repeated word's weights summed).

        >>> explain(predictor, "the doctor saw the patient", num_samples=50).top_words(2)
        [..., ...]
        """
        total = self.word_weights()
        return sorted(total, key=lambda word: -abs(total[word]))[:k]

    def __repr__(self) -> str:
        top = ", ".join(f"{word} {self.word_weights()[word]:+.3f}" for word in self.top_words(5))
        return (f"Explanation({self.method}: class {self.class_name!r}, predicted "
                f"{self.predicted!r} p={self.probabilities.max():.2f}; {top})")

    def _repr_html_(self) -> str:
        return explanation_html(self)


def explain(predictor: Predictor, text: str, *, class_name: str | None = None,
            num_samples: int = DEFAULT_NUM_SAMPLES, num_features: int = 10,
            seed: int = 0) -> Explanation:
    """LIME word weights for ``class_name`` (default: the predicted class).

    Two shortcuts keep it fast without changing the answer: only the words the model
    reads (before ``maxlen`` tokens) are perturbed, and each distinct perturbed text is
    predicted once, in length-sorted batches.
    Taught in notebooks/06_lime_explanations.ipynb.

    >>> exp = explain(predictor, test.texts[0], num_samples=100)
    >>> len(exp.weights) <= 10      # (word, weight) pairs; the trained model's start ('doctor', 0.21)
    True
    """
    from lime.lime_text import LimeTextExplainer

    start = time.perf_counter()
    _check_text(text)
    probs = predictor.predict_proba(text)
    label = _class_index(predictor, class_name, probs)
    cut = visible_chars(predictor.encoder, text)
    if not WORD.search(text[:cut]):
        raise InputError(f"explain: nothing to explain, {text[:50]!r} has no words (letters or "
                         "digits) in the part the model reads; pass a text with words.")
    classify = UniqueTextClassifier(predictor)
    lime = LimeTextExplainer(class_names=predictor.class_names, split_expression=r"\W+",
                             bow=True, random_state=seed)
    result = lime.explain_instance(text[:cut], classify, labels=(label,),
                                   num_features=num_features, num_samples=num_samples)
    weights = [(word, float(weight)) for word, weight in result.as_list(label=label)]
    by_word = dict(weights)
    spans = [(m.start(), m.end(), by_word[m.group()])
             for m in WORD.finditer(text[:cut]) if m.group() in by_word]
    notes = _truncation_notes(predictor, text, cut)
    notes.append(f"LIME: {num_samples} perturbed texts, {classify.predicted} distinct ones "
                 f"predicted. The local linear model fits them with R² = {result.score:.2f}.")
    if num_samples < 5000:
        notes.append("These weights carry sampling noise: on 20 Newsgroups test messages, 500 "
                     "samples shared about half of their top 10 words with a 5,000-sample run, "
                     "2,500 about three quarters. Trust the words that stay on top when you "
                     "explain again with another seed (seed=...).")
    if np.abs(classify.first - probs).max() > 1e-3:
        notes.append("The cut text and the full text get slightly different probabilities "
                     "(a word split at the cut is tokenized differently).")
    stats = {"num_samples": num_samples, "unique_texts": classify.predicted,
             "seconds": time.perf_counter() - start, "score": float(result.score)}
    return Explanation(text, predictor.class_names, probs, predictor.class_names[label],
                       weights, spans, "LIME", cut, notes, stats)


class UniqueTextClassifier:
    """LIME's ``classifier_fn``: predicts each distinct text once and copies the rest.
    Not in a notebook.

    >>> classify = UniqueTextClassifier(predictor)
    >>> classify(["a b", "a b", "a"]).shape, classify.predicted
    ((3, 4), 2)
    """

    def __init__(self, predictor: Predictor) -> None:
        self.predictor = predictor
        self.seen = self.predicted = 0
        self.first: np.ndarray | None = None  # probabilities of the first (unperturbed) text

    def __call__(self, texts: list[str]) -> np.ndarray:
        rows: dict[str, int] = {}
        index = [rows.setdefault(text, len(rows)) for text in texts]
        probs = self.predictor.predict_proba(list(rows), progress=False)[index]
        self.seen, self.predicted = self.seen + len(texts), self.predicted + len(rows)
        if self.first is None:
            self.first = probs[0]
        return probs


def explain_gradients(predictor: Predictor, text: str, class_name: str | None = None,
                      method: str = "integrated_gradients", steps: int = 32) -> Explanation:
    """Gradient word weights for ``class_name``: one weight per word the model reads.

    ``"integrated_gradients"`` walks from a baseline (the text's words replaced by [PAD],
    special tokens kept) to the text in ``steps`` steps; ``"gradient_x_input"`` takes one
    gradient. Weights are in probability units, like LIME's, summed over word pieces.
    Taught in notebooks/06_lime_explanations.ipynb.

    >>> exp = explain_gradients(predictor, test.texts[0], steps=4)
    >>> exp.method, len(exp.weights) > 0
    ('integrated gradients', True)
    """
    from helpers.backend import tf

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}.")
    start = time.perf_counter()
    _check_text(text)
    probs = predictor.predict_proba(text)
    label = _class_index(predictor, class_name, probs)
    encoded = predictor.encoder.tokenizer(
        text, truncation=True, max_length=predictor.maxlen, return_offsets_mapping=True,
        return_special_tokens_mask=True, verbose=False)
    special = np.array(encoded["special_tokens_mask"], dtype=bool)
    table = _embedding_matrix(predictor.model)
    x = tf.gather(table, tf.constant([encoded["input_ids"]], tf.int32))  # (1, tokens, hidden)
    cut = visible_chars(predictor.encoder, text)
    notes, stats = _truncation_notes(predictor, text, cut), {"steps": 1}
    if method == "gradient_x_input":
        grads, _ = _class_gradients(predictor.model, x, label)
        token_weights = tf.reduce_sum(grads * x, axis=-1)[0].numpy()
    else:
        pad = tf.gather(table, [predictor.encoder.pad_token_id])[None]  # (1, 1, hidden)
        baseline = tf.where(special[None, :, None], x, pad)
        alphas = tf.constant((np.arange(steps) + 0.5) / steps, tf.float32)[:, None, None]
        path = baseline + alphas * (x - baseline)  # (steps, tokens, hidden)
        chunks = [_class_gradients(predictor.model, path[i : i + predictor.batch_size], label)[0]
                  for i in range(0, steps, predictor.batch_size)]
        mean_grad = tf.reduce_mean(tf.concat(chunks, axis=0), axis=0)
        token_weights = tf.reduce_sum((x - baseline)[0] * mean_grad, axis=-1).numpy()
        p_base = float(_class_gradients(predictor.model, baseline, label)[1][0])
        stats.update(steps=steps, attribution_sum=float(token_weights.sum()),
                     probability_change=float(probs[label]) - p_base)
        gap = abs(stats["attribution_sum"] - stats["probability_change"])
        notes.append(f"Integrated gradients in {steps} steps: the weights sum to {stats['attribution_sum']:+.3g}, "
                     f"the probability moved by {stats['probability_change']:+.3g} from the baseline: a gap of "
                     f"{gap:.3g}, " + ("within" if gap <= COMPLETENESS_TOLERANCE else "over, so use more steps than")
                     + f" the {COMPLETENESS_TOLERANCE} tolerated.")
    words = list(WORD.finditer(text[:cut]))
    totals = _sum_pieces_per_word(words, encoded["offset_mapping"], special, token_weights)
    spans = [(m.start(), m.end(), float(w)) for m, w in zip(words, totals)]
    weights = sorted(((m.group(), float(w)) for m, w in zip(words, totals)),
                     key=lambda pair: -abs(pair[1]))
    stats["seconds"] = time.perf_counter() - start
    return Explanation(text, predictor.class_names, probs, predictor.class_names[label],
                       weights, spans, method.replace("_", " "), cut, notes, stats)


def _check_text(text: object) -> None:
    """One text to explain: a ``str`` (a list is refused with the fix)."""
    if not isinstance(text, str):
        fix = ("explain one text at a time, e.g. texts[0]" if isinstance(text, (list, tuple))
               else "pass the text as a str")
        raise InputError(f"explain: expected one text (a str), got a {type(text).__name__}; "
                         f"{fix}.")


def visible_chars(encoder, text: str) -> int:
    """How many characters of ``text`` the model reads; the rest is past ``maxlen`` tokens.
    Not in a notebook.

    >>> visible_chars(encoder, "word " * 1000) < 5000
    True
    """
    pieces = encoder.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True,
                               verbose=False)["offset_mapping"]
    keep = encoder.maxlen - encoder.tokenizer.num_special_tokens_to_add()
    return len(text) if len(pieces) <= keep else pieces[keep - 1][1]


def _class_index(predictor: Predictor, class_name: str | None, probs: np.ndarray) -> int:
    if class_name is None:
        return int(np.argmax(probs))
    if class_name not in predictor.class_names:
        raise ValueError(f"Unknown class {class_name!r}; choose one of {predictor.class_names}.")
    return predictor.class_names.index(class_name)


def _truncation_notes(predictor: Predictor, text: str, cut: int) -> list[str]:
    if cut >= len(text):
        return []
    left_out = len(WORD.findall(text[cut:]))
    return [f"The model reads only the first {predictor.maxlen} tokens: the last {left_out} "
            "words (in grey) cannot change its prediction, so they get no weight."]


def _embedding_matrix(model):
    layer = model.get_input_embeddings()  # transformers' layers have .weight, Keras's .embeddings
    return layer.weight if hasattr(layer, "weight") else layer.embeddings


_GRADIENT_GRAPHS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> graph


def _class_gradients(model, embeds, label: int) -> tuple:
    """d P(label) / d embeds for a batch of embedded texts, and P(label) for each.

    Runs as one TF graph, built on the first call for a model: ~5x faster than eager.
    """
    from helpers.backend import tf

    if model not in _GRADIENT_GRAPHS:
        model_ref = weakref.ref(model)  # a strong reference would keep the model alive forever

        @tf.function(input_signature=[tf.TensorSpec([None, None, None], tf.float32),
                                      tf.TensorSpec([], tf.int32)])
        def gradients(embeds, label):
            with tf.GradientTape() as tape:
                tape.watch(embeds)
                mask = tf.ones(tf.shape(embeds)[:2], tf.int32)
                inputs = {"inputs_embeds": embeds, "attention_mask": mask}
                logits = model_ref()(inputs, training=False).logits
                prob = tf.gather(tf.nn.softmax(logits), label, axis=1)
                total = tf.reduce_sum(prob)  # texts are independent: d total/d text = d prob/d text
            return tape.gradient(total, embeds), prob

        _GRADIENT_GRAPHS[model] = gradients
    grads, prob = _GRADIENT_GRAPHS[model](tf.convert_to_tensor(embeds), tf.constant(label))
    return grads, prob.numpy()


def _sum_pieces_per_word(words: list[re.Match], offsets, special, token_weights) -> np.ndarray:
    """Add each word piece's weight to the word it starts in; punctuation pieces are dropped."""
    owner = np.full(max((m.end() for m in words), default=0) + 1, -1)
    for i, m in enumerate(words):
        owner[m.start() : m.end()] = i
    totals = np.zeros(len(words))
    for (start, end), is_special, weight in zip(offsets, special, token_weights):
        hits = owner[start:end][owner[start:end] >= 0]
        if not is_special and hits.size:
            totals[hits[0]] += weight
    return totals
