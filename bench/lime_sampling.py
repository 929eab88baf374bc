"""How many perturbed texts does LIME need to agree with a 5,000-sample reference?

``bench_predict.py`` times ``explain`` at a few ``num_samples``. This script answers the
question behind the 10-second goal: at which sample count does LIME's top-10 agree with a
5,000-sample reference at 0.8, and how long would that take on this machine?

For each test message it runs the reference exactly as ``bench_predict`` does (LIME, 5,000
perturbed texts, seed 1000), keeps every perturbed text and probability, then draws more
perturbations around the same message with other seeds and fits LIME's model to the first
``n`` of them, for each ``n``. Three ways of drawing the perturbations are compared, all
aiming at the same local model (the same distribution of removed words or a fair
stand-in for it):

- ``lime``: LIME's own: remove ``k`` random words, ``k`` uniform in 1..words;
- ``paired``: as ``lime``, but each perturbation is followed by its complement (keep the
  words the first one removed), a classic variance reduction for such regressions;
- ``stratified``: the counts ``k`` spread evenly over 1..words instead of drawn at random.

The fit is LIME's (``lime_base``): kernel weights from the cosine distance, ridge
(alpha 0.01) over all words, top 10 by absolute weight. It reproduces the ``lime`` library's
own top 10 for the reference (checked for each message: ``reference_reproduced``).

    $ .venv/bin/python bench/lime_sampling.py --predictor artifacts/predictor   # 20 texts, ~45 min
    $ .venv/bin/python bench/lime_sampling.py --texts 3 --no-save              # a quick look

``make bench`` runs it too (area ``lime_sampling``, 3 texts with ``--quick``). Results go
to ``bench/results.json`` under ``lime_sampling``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

import helpers  # noqa: E402,F401  (Keras 2 before TensorFlow loads)
from bench_predict import REFERENCE_SAMPLES, pick_texts  # noqa: E402

# Sample counts to fit, per way of drawing; the other two are checked at the sizes that fit
# the 10-second budget, LIME's own up to 2,500 (the half of the reference).
SIZES = {"lime": (250, 500, 1000, 2500), "paired": (250, 500), "stratified": (250, 500)}
REFERENCE_SEED = 1000  # as bench_predict's reference
TOP = 10


def lime_kernel(masks: np.ndarray) -> np.ndarray:
    """LIME's text kernel: sqrt(exp(-d²/25²)), d = 100 x cosine distance to the full text.

    >>> lime_kernel(np.ones((1, 4)))
    array([1.])
    """
    kept = masks.sum(axis=1)
    cosine = 1 - np.sqrt(kept / masks.shape[1])  # between a 0/1 row and the all-ones row
    return np.sqrt(np.exp(-((cosine * 100) ** 2) / 25 ** 2))


def draw(design: str, words: int, n: int, seed: int) -> np.ndarray:
    """``n`` 0/1 masks (1 = word kept) over ``words`` words; the first is the full text.

    ``"lime"`` makes the very draws ``LimeTextExplainer`` makes with ``random_state=seed``.

    >>> masks = draw("paired", 5, 3, seed=0)
    >>> bool(masks[0].all() and (masks[2] == 1 - masks[1]).all())
    True
    """
    rng = np.random.RandomState(seed)
    masks = np.ones((n, words))
    if design == "stratified":
        counts = np.ceil((np.arange(n - 1) + 0.5) / (n - 1) * words).astype(int)
        rng.shuffle(counts)
    else:
        counts = rng.randint(1, words + 1, n - 1)
    for row, count in enumerate(counts, start=1):
        if design == "paired" and row % 2 == 0:
            masks[row] = 1 - masks[row - 1]
        else:
            masks[row, rng.choice(words, count, replace=False)] = 0
    return masks


def lime_top(masks: np.ndarray, probs: np.ndarray, k: int = TOP) -> set[int]:
    """The ``k`` words LIME's ``highest_weights`` selection keeps, as column indices.

    >>> masks = draw("lime", 30, 400, seed=0)
    >>> sorted(lime_top(masks, masks[:, 0] * 0.9 + masks[:, 7] * 0.1, k=2))
    [0, 7]
    """
    from sklearn.linear_model import Ridge

    coef = Ridge(alpha=0.01).fit(masks, probs, sample_weight=lime_kernel(masks)).coef_
    return set(np.argsort(-np.abs(coef), kind="stable")[:k].tolist())


class Recorder:
    """A LIME ``classifier_fn`` that also keeps what it was asked and answered.

    >>> recorder = Recorder(predictor)
    >>> LimeTextExplainer().explain_instance(text, recorder, num_samples=100)  # doctest: +SKIP
    >>> len(recorder.texts), recorder.probs.shape
    (100, (100, 4))
    """

    def __init__(self, predictor) -> None:
        from helpers.explain import UniqueTextClassifier

        self.classify = UniqueTextClassifier(predictor)
        self.texts: list[str] = []
        self.probs: np.ndarray | None = None

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.texts, self.probs = list(texts), self.classify(texts)
        return self.probs


def measure_text(predictor, text: str, sizes: dict = SIZES) -> dict:
    """Agreement with the reference for each design and size, for one message.

    >>> row = measure_text(predictor, test.texts[0])  # doctest: +SKIP
    >>> row["lime"][500], row["halves"]
    (0.5, 0.7)
    """
    from lime.lime_text import IndexedString, LimeTextExplainer

    from helpers.explain import UniqueTextClassifier, visible_chars

    seen = text[: visible_chars(predictor.encoder, text)]
    label = int(np.argmax(predictor.predict_proba(text)))
    words = IndexedString(seen, split_expression=r"\W+", bow=True)
    d = words.num_words()
    recorder = Recorder(predictor)
    lime = LimeTextExplainer(class_names=predictor.class_names, split_expression=r"\W+",
                             bow=True, random_state=REFERENCE_SEED)
    start = time.perf_counter()
    result = lime.explain_instance(seen, recorder, labels=(label,), num_features=TOP,
                                   num_samples=REFERENCE_SAMPLES)
    reference_seconds = time.perf_counter() - start
    lime_words = {word for word, _ in result.as_list(label=label)}
    # LIME's draws replayed (same seed, same random calls as lime_text), and checked
    replay = draw("lime", d, REFERENCE_SAMPLES, REFERENCE_SEED)
    assert [words.inverse_removing(np.flatnonzero(m == 0)) for m in replay] == recorder.texts
    reference = lime_top(replay, recorder.probs[:, label])
    row = {"words": d, "p": float(recorder.probs[0, label]), "reference_seconds": reference_seconds,
           "reference_reproduced": {words.word(i) for i in reference} == lime_words,
           "seconds_per_text": reference_seconds / recorder.classify.predicted}
    for seed, (design, counts) in enumerate(sizes.items()):
        masks = draw(design, d, max(counts), seed)
        texts = [words.inverse_removing(np.flatnonzero(m == 0)) for m in masks]
        probs = UniqueTextClassifier(predictor)(texts)[:, label]
        row[design] = {n: len(lime_top(masks[:n], probs[:n]) & reference) / TOP for n in counts}
    # two halves of the reference's own draws: 2,500 against 2,500, independent
    half = REFERENCE_SAMPLES // 2
    probs = recorder.probs[:, label]
    row["halves"] = len(lime_top(replay[:half], probs[:half])
                        & lime_top(replay[half:], probs[half:])) / TOP
    return row


def summarize(rows: list[dict], sizes: dict = SIZES) -> dict:
    """Mean agreement per design and size, and the seconds each size costs here.

    >>> summarize([measure_text(predictor, t) for t in texts])["mean_agreement"]["lime"]  # doctest: +SKIP
    {'250': 0.315, '500': 0.48, '1000': 0.615, '2500': 0.725}
    """
    per_text = float(np.median([r["seconds_per_text"] for r in rows]))
    table = {design: {str(n): round(float(np.mean([r[design][n] for r in rows])), 3) for n in counts}
             for design, counts in sizes.items()}
    return {"texts": len(rows), "mean_agreement": table,
            "halves_2500_vs_2500": round(float(np.mean([r["halves"] for r in rows])), 3),
            "median_seconds_per_perturbed_text": round(per_text, 4),
            "estimated_seconds": {str(n): round(n * per_text, 1) for n in sizes["lime"]},
            "reference_reproduced": sum(r["reference_reproduced"] for r in rows)}


def run(predictor_dir: str, quick: bool = False, *, n_texts: int | None = None) -> dict:
    """Measure ``n_texts`` test messages (default 20, 3 if ``quick``); returns the record.

    >>> run("artifacts/predictor", n_texts=2)["mean_agreement"]["lime"]["500"]  # doctest: +SKIP
    0.45
    """
    from helpers.data import load_newsgroups
    from helpers.predictor import load_predictor

    n_texts = n_texts or (3 if quick else 20)
    predictor = load_predictor(predictor_dir)
    texts = load_newsgroups()[1].texts
    predictor.predict_proba(texts[: predictor.batch_size])  # warm-up
    rows = []
    for n, i in enumerate(pick_texts(texts, n_texts), start=1):
        rows.append({"index": int(i), **measure_text(predictor, texts[i])})
        print(f"{n}/{n_texts} text {i}: {rows[-1]['words']} words, lime {rows[-1]['lime']}",
              file=sys.stderr, flush=True)
    return {**summarize(rows), "predictor": str(predictor_dir), "maxlen": predictor.maxlen,
            "per_text": [{k: ({str(n): v for n, v in r[k].items()} if isinstance(r[k], dict) else r[k])
                          for k in r} for r in rows]}


def main(argv: list[str] | None = None) -> int:
    """``python bench/lime_sampling.py [--predictor DIR] [--texts N] [--no-save]``."""
    import json

    from helpers.full_run import REFERENCE_RECORDS, save_record

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--predictor", default="artifacts/predictor")
    parser.add_argument("--texts", type=int, default=20)
    parser.add_argument("--no-save", action="store_true", help="print only")
    args = parser.parse_args(argv)
    record = {**run(args.predictor, n_texts=args.texts), "quick": False,
              "date": time.strftime("%Y-%m-%d")}
    print(json.dumps({k: v for k, v in record.items() if k != "per_text"}, indent=2))
    if not args.no_save:
        save_record(record, "lime_sampling", REFERENCE_RECORDS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
