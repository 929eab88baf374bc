"""The SavedModel export against the Python predictor, on the 1,502 test messages.

    $ python bench/saved_model.py                               # artifacts/predictor, or a quick one
    $ python bench/saved_model.py --predictor DIR --no-save

Reports: the same class for every message? the largest probability difference; the share
of messages whose token ids differ (and the first differences, to read why); texts per
second for the predictor and for the SavedModel (batches of 32, in the corpus's order and
sorted by length, as the predictor sorts). The SavedModel runs in a fresh process that
imports only TensorFlow and tensorflow-text. Without a saved predictor it fine-tunes the
embedded model for one short epoch on ``--train`` messages: agreement, not accuracy, is
measured. Saved to ``bench/results.json`` under ``saved_model`` unless ``--no-save``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import helpers  # noqa: E402,F401  (Keras 2 before TensorFlow loads)

BATCH = 32
SERVE = """
import json, sys, time
import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401
folder, texts_file, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
texts = json.load(open(texts_file))
loaded = tf.saved_model.load(folder)
classify, tokenize = loaded.signatures["serving_default"], loaded.signatures["tokenize"]
classify(texts=tf.constant(texts[:batch]))  # warm-up
def run(order):
    probs = [None] * len(texts)
    start = time.perf_counter()
    for i in range(0, len(order), batch):
        rows = order[i:i + batch]
        out = classify(texts=tf.constant([texts[j] for j in rows]))["probabilities"].numpy()
        for j, p in zip(rows, out):
            probs[j] = p.tolist()
    return probs, len(texts) / (time.perf_counter() - start)
probs, in_order = run(list(range(len(texts))))
_, by_length = run(sorted(range(len(texts)), key=lambda i: len(texts[i])))
ids = []
for i in range(0, len(texts), batch):
    out = tokenize(texts=tf.constant(texts[i:i + batch]))
    ids += [row[mask == 1].tolist() for row, mask in zip(out["input_ids"].numpy(), out["attention_mask"].numpy())]
print(json.dumps({"probabilities": probs, "ids": ids, "texts_per_s_in_order": in_order,
                  "texts_per_s_sorted_by_length": by_length,
                  "imported": sorted(m for m in ("helpers", "transformers") if m in sys.modules)}))
"""


def quick_predictor(n_train: int, maxlen: int):
    """The embedded model fine-tuned for one epoch on ``n_train`` training messages."""
    from helpers.data import load_newsgroups
    from helpers.data import subset
    from helpers.model import load_classifier
    from helpers.predictor import get_predictor
    from helpers.tokenizer import TextEncoder
    from helpers.train import fit_onecycle

    train = subset(load_newsgroups()[0], n_train, 42)
    encoder = TextEncoder.from_model("minilm-l6", maxlen=maxlen)
    model = load_classifier("minilm-l6", train.class_names, seed=42)
    fit_onecycle(model, encoder.dataset(train.texts, train.labels, batch_size=16, shuffle=True, seed=42),
                 lr_max=1e-4, epochs=1, verbose=0)
    return get_predictor(model, encoder, train.class_names, source="minilm-l6 (quick, 1 epoch)")


def run(predictor_dir: Path | None, n_train: int = 128, maxlen: int = 256) -> dict:
    """Export, serve in a fresh process, compare with the predictor; returns the record."""
    from helpers.data import load_newsgroups
    from helpers.predictor import load_predictor

    if predictor_dir and (predictor_dir / "predictor.json").is_file():
        predictor, source = load_predictor(predictor_dir), str(predictor_dir)
    else:
        predictor, source = quick_predictor(n_train, maxlen), f"quick: 1 epoch on {n_train} messages"
    texts = load_newsgroups()[1].texts
    predictor.predict_proba(texts[:BATCH])  # warm-up
    start = time.perf_counter()
    expected = predictor.predict_proba(texts)
    predictor_rate = len(texts) / (time.perf_counter() - start)
    python_ids = [row.tolist() for row in predictor.encoder.encode(texts)]

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        folder = predictor.export_saved_model(Path(tmp) / "saved_model")
        export_seconds = time.perf_counter() - start
        (Path(tmp) / "texts.json").write_text(json.dumps(texts))
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        proc = subprocess.run([sys.executable, "-c", SERVE, str(folder), str(Path(tmp) / "texts.json"), str(BATCH)],
                              cwd=tmp, env=env, capture_output=True, text=True, timeout=3600)
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    served = json.loads(proc.stdout.strip().splitlines()[-1])
    probs = np.array(served["probabilities"])
    differ = [i for i, (a, b) in enumerate(zip(python_ids, served["ids"])) if a != b]
    tokens = predictor.encoder.tokenizer.convert_ids_to_tokens
    examples = []
    for i in differ[:5]:
        a, b = python_ids[i], served["ids"][i]
        k = next((j for j in range(min(len(a), len(b))) if a[j] != b[j]), min(len(a), len(b)))
        examples.append({"message": i, "python": tokens(a[max(0, k - 2):k + 3]), "saved_model": tokens(b[max(0, k - 2):k + 3])})
    return {
        "predictor": source, "maxlen": predictor.maxlen, "n_texts": len(texts),
        "same_class_for_all": bool((probs.argmax(1) == expected.argmax(1)).all()),
        "messages_with_another_class": int((probs.argmax(1) != expected.argmax(1)).sum()),
        "max_probability_difference": float(np.abs(probs - expected).max()),
        "token_ids_differ_share": len(differ) / len(texts), "token_id_differences": examples,
        "texts_per_s": {"predictor": round(predictor_rate, 1),
                        "saved_model_in_order": round(served["texts_per_s_in_order"], 1),
                        "saved_model_sorted_by_length": round(served["texts_per_s_sorted_by_length"], 1)},
        "export_seconds": round(export_seconds, 1), "served_process_imported": served["imported"],
        "load_average": os.getloadavg()[0], "date": time.strftime("%Y-%m-%d"),
    }


def main(argv: list[str] | None = None) -> int:
    """``python bench/saved_model.py [--predictor DIR] [--train N] [--no-save]``."""
    from helpers.full_run import PREDICTOR_DIR, REFERENCE_RECORDS, save_record
    from helpers.paths import project_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--predictor", type=Path, default=project_dir() / PREDICTOR_DIR)
    parser.add_argument("--train", type=int, default=128, help="messages for the quick predictor")
    parser.add_argument("--no-save", action="store_true", help="print only")
    args = parser.parse_args(argv)
    record = run(args.predictor, args.train)
    print(json.dumps(record, indent=2, ensure_ascii=False))
    if not args.no_save:
        save_record(record, "saved_model", REFERENCE_RECORDS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
