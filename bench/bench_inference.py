"""Benchmark: TensorFlow inference against PyTorch on the same model, side by side.

The embedded MiniLM-L6 classifier (4 classes), real 20 Newsgroups training texts of at
least 256 tokens cut to exactly 256 (every batch full width), batch 32. The head (pooler
and classifier) is the same in both frameworks: fitted once by logistic regression on the
TensorFlow model's pooled vectors of the benchmark texts (so logits have a trained scale),
then copied to PyTorch; the encoder is the same safetensors file on both sides.

TensorFlow variants (the predictor's inference path, ``helpers.tokenizer.compiled_forward``):
float32 and mixed_bfloat16, each as a plain graph and XLA-compiled (``jit_compile=True``),
and with the tanh approximation of GELU (``gelu_new``) instead of the exact (erf) one.
PyTorch (``transformers``' BertForSequenceClassification, ``torch.inference_mode``,
float32 and bfloat16 autocast, ``torch.set_num_threads`` = the cores) runs in a separate
process with its own environment (``make bench-torch-env``: the project's .venv never has
PyTorch); without that environment the PyTorch side is skipped with a message.

Each repeat times every variant once (one pass over the texts); the order flips every
repeat, since the CPU may be shared. Reported: medians of ms per text and texts per
second, the median of each repeat's ratio to PyTorch (paired, so a busy spell that slows
one repeat cancels out), and each variant's largest logit difference against TensorFlow
float32 and PyTorch float32 and its argmax agreement with TensorFlow float32.

    .venv/bin/python bench/bench_inference.py            # 128 texts, 5 repeats, ~6 min on 2 cores
    .venv/bin/python bench/bench_inference.py --quick    # 64 texts, 3 repeats
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from anywhere in the repo

import helpers  # noqa: E402,F401  (Keras 2 before TensorFlow)
from helpers.backend import tf  # noqa: E402
from helpers.data import load_newsgroups  # noqa: E402
from helpers.model import load_classifier, resolve_model  # noqa: E402
from helpers.precision import cpu_flags  # noqa: E402
from helpers.predictor import compiled_forward  # noqa: E402
from helpers.tokenizer import TextEncoder  # noqa: E402

SPEC = {"input_ids": tf.TensorSpec([None, None], tf.int32), "attention_mask": tf.TensorSpec([None, None], tf.int32)}

TORCH_PYTHON = ROOT / ".venv-torch" / "bin" / "python"
MAXLEN, BATCH = 256, 32
FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8", "amx_tile")
# Agreement with TensorFlow float32 (largest absolute logit difference): float32 variants
# only reorder sums; bfloat16 variants keep 8 mantissa bits, so they may differ as much
# as plain bfloat16 does (the measured plain bfloat16 difference, times this slack).
FLOAT32_TOLERANCE = 1e-3
BF16_SLACK = 1.5


@dataclass(frozen=True)
class Variant:
    """One way TensorFlow runs the model."""

    name: str
    policy: str  # Keras dtype policy
    xla: bool = False  # tf.function(jit_compile=True)
    gelu: str = "gelu"  # the activation of the feed-forward layers: "gelu" (erf) or "gelu_new" (tanh)


TF_VARIANTS = (
    Variant("tf float32", "float32"),
    Variant("tf bf16", "mixed_bfloat16"),
    Variant("tf float32 xla", "float32", xla=True),
    Variant("tf bf16 xla", "mixed_bfloat16", xla=True),
    Variant("tf float32 gelu-tanh", "float32", gelu="gelu_new"),
    Variant("tf bf16 gelu-tanh", "mixed_bfloat16", gelu="gelu_new"),
    Variant("tf float32 xla gelu-tanh", "float32", xla=True, gelu="gelu_new"),
    Variant("tf bf16 xla gelu-tanh", "mixed_bfloat16", xla=True, gelu="gelu_new"),
)
TORCH_VARIANTS = ("float32", "bfloat16")


def full_width_ids(encoder: TextEncoder, texts: list[str], n: int) -> tuple[np.ndarray, list[int]]:
    """Token ids of the first ``n`` texts that fill ``encoder.maxlen`` tokens, and their indexes."""
    rows, picked = [], []
    for i, text in enumerate(texts):
        ids = encoder.encode([text])[0]
        if len(ids) == encoder.maxlen:
            rows.append(ids)
            picked.append(i)
            if len(rows) == n:
                return np.stack(rows), picked
    raise SystemExit(f"only {len(rows)} texts have {encoder.maxlen} tokens; asked for {n}.")


def use_gelu(model, activation: str) -> None:
    """Set the feed-forward activation of every encoder layer (for inference only)."""
    from transformers.activations_tf import get_tf_activation

    for layer in model.bert.encoder.layer:
        layer.intermediate.intermediate_act_fn = get_tf_activation(activation)


def fit_head(model, ids: np.ndarray, labels: np.ndarray) -> None:
    """A trained-scale head: logistic regression on the pooled vectors, written into the classifier."""
    from sklearn.linear_model import LogisticRegression

    pooled = np.concatenate([
        model.bert(input_ids=ids[s:s + BATCH], attention_mask=np.ones_like(ids[s:s + BATCH]),
                   training=False).pooler_output.numpy() for s in range(0, len(ids), BATCH)])
    fit = LogisticRegression(C=1.0, max_iter=2000).fit(pooled.astype(np.float64), labels)
    model.classifier.set_weights([fit.coef_.T.astype(np.float32), fit.intercept_.astype(np.float32)])


def tf_forwards(ids: np.ndarray, labels: np.ndarray, class_names: list[str]) -> dict:
    """One callable per TensorFlow variant: token ids -> logits (numpy), all with the same weights."""
    models, forwards = {}, {}
    for variant in TF_VARIANTS:
        key = (variant.policy, variant.gelu)
        if key not in models:
            model = load_classifier("minilm-l6", class_names, seed=0, precision=variant.policy, compile=False)
            if models:
                model.set_weights(next(iter(models.values())).get_weights())
            else:
                fit_head(model, ids, labels)
            use_gelu(model, variant.gelu)
            models[key] = model
        # The predictor's own pass, or the same pass compiled by XLA (every batch here has one shape).
        forward = (tf.function(lambda inputs, m=models[key]: m(inputs, training=False).logits,
                               input_signature=[SPEC], jit_compile=True)
                   if variant.xla else compiled_forward(models[key]))

        def run(batch: np.ndarray, forward=forward, model=models[key]) -> np.ndarray:  # keeps the model alive
            return forward({"input_ids": batch, "attention_mask": np.ones_like(batch)}).numpy()

        forwards[variant.name] = run
    return forwards, models[("float32", "gelu")]


def save_head(model, exchange: Path) -> None:
    """The pooler and classifier weights in PyTorch's names and layout (out x in)."""
    weights = {
        "classifier.weight": model.classifier.kernel.numpy().T,
        "classifier.bias": model.classifier.bias.numpy(),
        "bert.pooler.dense.weight": model.bert.pooler.dense.kernel.numpy().T,
        "bert.pooler.dense.bias": model.bert.pooler.dense.bias.numpy(),
    }
    for name, array in weights.items():
        np.save(exchange / f"head_{name}.npy", np.ascontiguousarray(array, dtype=np.float32))


class TorchSide:
    """The PyTorch process (bench/torch_side.py in .venv-torch): one JSON line each way."""

    def __init__(self, exchange: Path, threads: int) -> None:
        self.exchange = exchange
        self.process = subprocess.Popen(
            [str(TORCH_PYTHON), str(ROOT / "bench" / "torch_side.py"),
             str(resolve_model("minilm-l6").path), str(exchange), str(threads)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.info = self._answer()

    def _answer(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit("bench/torch_side.py stopped; run it by hand to see why.")
        answer = json.loads(line)
        if "error" in answer:
            raise SystemExit(f"bench/torch_side.py: {answer['error']}")
        return answer

    def ask(self, **command) -> dict:
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self._answer()

    def logits(self, variant: str) -> np.ndarray:
        self.ask(cmd="logits", variant=variant)
        return np.load(self.exchange / f"logits_{variant}.npy")

    def seconds(self, variant: str) -> float:
        return self.ask(cmd="time", variant=variant, batch_size=BATCH)["seconds"]

    def close(self) -> None:
        self.process.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
        self.process.stdin.close()
        self.process.wait(timeout=60)


def _digits(x: float) -> float:
    """Three significant digits, so small logit differences do not round to zero."""
    return float(f"{x:.3g}")


def _pass(run, ids: np.ndarray) -> np.ndarray:
    return np.concatenate([run(ids[s:s + BATCH]) for s in range(0, len(ids), BATCH)])


def _seconds(run, ids: np.ndarray) -> float:
    start = time.perf_counter()
    _pass(run, ids)
    return time.perf_counter() - start


def run(quick: bool = False) -> dict:
    """Medians of ms per text per variant, ratios to PyTorch, and logit agreement."""
    n_texts, repeats = (64, 3) if quick else (128, 5)
    threads = os.cpu_count() or 1
    train, _ = load_newsgroups()
    encoder = TextEncoder.from_model("minilm-l6", maxlen=MAXLEN)
    ids, picked = full_width_ids(encoder, list(train.texts), n_texts)
    labels = np.asarray(train.labels)[picked]
    forwards, reference_model = tf_forwards(ids, labels, list(train.class_names))

    compile_seconds = {}
    logits = {}
    for name, forward in forwards.items():  # warm-up: traces and XLA compilations happen here
        start = time.perf_counter()
        forward(ids[:BATCH])
        compile_seconds[name] = round(time.perf_counter() - start, 2)
        logits[name] = _pass(forward, ids)

    timers = {name: (lambda f=forward: _seconds(f, ids)) for name, forward in forwards.items()}
    torch_side, torch_note = None, None
    with tempfile.TemporaryDirectory(prefix="bench_inference_") as tmp:
        exchange = Path(tmp)
        if TORCH_PYTHON.is_file():
            np.save(exchange / "ids.npy", ids)
            save_head(reference_model, exchange)
            torch_side = TorchSide(exchange, threads)
            for variant in TORCH_VARIANTS:
                logits[f"torch {variant}"] = torch_side.logits(variant)  # also the warm-up
                timers[f"torch {variant}"] = lambda v=variant: torch_side.seconds(v)
        else:
            torch_note = (f"PyTorch side skipped: {TORCH_PYTHON.relative_to(ROOT)} is missing "
                          "(build it with `make bench-torch-env`).")
            print(torch_note, flush=True)

        seconds = {name: [] for name in timers}
        names = list(timers)
        for r in range(repeats):
            for name in names if r % 2 == 0 else names[::-1]:
                seconds[name].append(timers[name]())
            print(f"repeat {r + 1}/{repeats}:", {n: round(1000 * s[-1] / n_texts, 1) for n, s in seconds.items()},
                  flush=True)
        if torch_side is not None:
            torch_side.close()

    record = {
        "cpu_flags": sorted(cpu_flags() & set(FLAGS)), "threads": threads,
        "tf": tf.__version__, "torch": torch_side.info["torch"] if torch_side else None,
        "onednn_opts": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"),
        "maxlen": MAXLEN, "batch_size": BATCH, "texts": n_texts, "repeats": repeats,
        "float32_tolerance": FLOAT32_TOLERANCE, "bf16_slack": BF16_SLACK,
        "first_call_seconds": compile_seconds, "variants": {},
    }
    if torch_note:
        record["note"] = torch_note
    reference = logits["tf float32"]
    bf16_plain = float(np.abs(logits["tf bf16"] - reference).max())
    for name in names:
        ms = 1000 * statistics.median(seconds[name]) / n_texts
        diff = float(np.abs(logits[name] - reference).max())
        entry = {"ms_per_text": round(ms, 2), "texts_per_s": round(1000 / ms, 2),
                 "max_logit_diff_vs_tf_float32": _digits(diff),
                 "argmax_agreement_vs_tf_float32": float((logits[name].argmax(1) == reference.argmax(1)).mean())}
        if "torch float32" in logits:
            entry["max_logit_diff_vs_torch_float32"] = _digits(float(np.abs(logits[name] - logits["torch float32"]).max()))
        for variant in TORCH_VARIANTS:
            if f"torch {variant}" in seconds:  # paired: each repeat's ratio, then their median
                entry[f"ratio_to_torch_{variant}"] = round(statistics.median(
                    a / b for a, b in zip(seconds[name], seconds[f"torch {variant}"])), 2)
        if name.startswith("tf "):
            limit = FLOAT32_TOLERANCE if "float32" in name else BF16_SLACK * bf16_plain
            entry["within_tolerance"] = bool(diff <= limit and entry["argmax_agreement_vs_tf_float32"] == 1.0)
        record["variants"][name] = entry
    record["logit_scale"] = round(float(reference.std()), 3)
    return record


def table(record: dict) -> str:
    """The record as a markdown table."""
    lines = ["| variant | ms/text | texts/s | / torch bf16 | / torch fp32 | max diff vs tf fp32 "
             "| max diff vs torch fp32 | argmax agree | within tol |", "|" + "---|" * 9]
    for name, e in record["variants"].items():
        lines.append(f"| {name} | {e['ms_per_text']} | {e['texts_per_s']} | {e.get('ratio_to_torch_bfloat16', '-')} "
                     f"| {e.get('ratio_to_torch_float32', '-')} | {e['max_logit_diff_vs_tf_float32']} "
                     f"| {e.get('max_logit_diff_vs_torch_float32', '-')} | {e['argmax_agreement_vs_tf_float32']} "
                     f"| {e.get('within_tolerance', '-')} |")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    result = run(parser.parse_args().quick)
    print(json.dumps(result, indent=1))
    print(table(result))
