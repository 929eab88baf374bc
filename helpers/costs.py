"""What a model costs on this machine: seconds and FLOPs per example at a given ``maxlen``.

Models whose weights are here (the embedded MiniLM, anything in the Hugging Face cache)
are timed; the others get an estimate from their config's FLOPs, scaled by the embedded
model's measured FLOP rate, and are marked as estimates.

    >>> from helpers.costs import cost_table
    >>> cost_table(maxlens=(128, 256))  # doctest: +SKIP
"""

from __future__ import annotations

import gc
import statistics
import time

import numpy as np
import pandas as pd

from helpers.model import EMBEDDED_MODEL, ModelSource, load_classifier
from helpers.registry import SPECS, architecture, local_weights, model_registry, published_config
from helpers.tokenizer import TextEncoder

ESTIMATE = f"estimate: config FLOPs / {EMBEDDED_MODEL}'s measured FLOP rate at this maxlen"
FLOPS_NOTE = ("estimated from the config: weight matmuls + attention, training = 3x inference; "
              "embeddings, norms and relative-position terms ignored")


def flops_per_example(arch: dict, seq: int) -> tuple[float, float]:
    """Estimated (inference, training) FLOPs for one example of ``seq`` tokens.

    Weight matmuls: 2 FLOPs per multiply-add with the Q, K, V, output and two feed-forward
    matrices of every layer (ALBERT's shared weights still run once per layer). Attention:
    scores QK^T and the weighted sum of V, ``2*seq^2*hidden`` each per layer. Training is
    about 3x inference (the backward pass costs about twice the forward one).
    Not in a notebook.

    >>> infer, train = flops_per_example({"layers": 6, "hidden_size": 384, "ffn_size": 1536}, 128)
    >>> round(infer / 1e9, 2), round(train / infer)
    (2.87, 3)
    """
    layers, hidden, ffn = arch["layers"], arch["hidden_size"], arch["ffn_size"]
    matmuls = 2 * layers * (4 * hidden * hidden + 2 * hidden * ffn) * seq
    attention = 4 * layers * seq * seq * hidden
    return float(matmuls + attention), float(3 * (matmuls + attention))


def measure(
    model, encoder: TextEncoder, batch_size: int = 8, steps: int = 3
) -> tuple[float, float]:
    """Median (training, inference) seconds per example, every text exactly ``maxlen`` tokens.

    One warm-up step first (it builds the graph), then the median of ``steps`` steps.
    Other work on the machine's cores slows the steps down: compare numbers from one run.
    Not in a notebook.
    """
    texts = [" ".join(["word"] * 2 * encoder.maxlen)] * batch_size  # longer than maxlen
    labels = np.zeros(batch_size, dtype=int)
    batches = encoder.dataset(texts, labels, batch_size=batch_size, padding="static")
    inputs, labels = next(iter(batches))
    assert inputs["input_ids"].shape == (batch_size, encoder.maxlen)

    def seconds_per_example(step) -> float:
        step()  # warm-up
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
        return statistics.median(times) / batch_size

    train = seconds_per_example(lambda: model.train_on_batch(inputs, labels))
    infer = seconds_per_example(lambda: model.predict_on_batch(inputs))
    return train, infer


def cost_table(
    maxlens: tuple[int, ...] = (128, 256, 512), batch_size: int = 8, steps: int = 3
) -> pd.DataFrame:
    """Seconds per example for training and inference at each ``maxlen``, measured or estimated.
    Taught in notebooks/02_model_selection.ipynb.

    >>> cost_table(maxlens=(128,), steps=2)[["model", "maxlen", "timing"]]  # doctest: +SKIP
    """
    registry = model_registry().set_index("name")
    measured: dict[tuple[str, int], tuple[float, float]] = {}
    for spec in SPECS:  # the embedded model comes first: the others are scaled from it
        folder = local_weights(spec)
        if folder is None:
            continue
        origin = "embedded" if spec.name == EMBEDDED_MODEL else "hub"
        source = ModelSource(spec.name, folder, origin)  # a local folder: no network
        model = load_classifier(source, ["negative", "positive"])
        tokenizer = TextEncoder.from_model(source, maxlen=max(maxlens)).tokenizer
        for maxlen in maxlens:
            encoder = TextEncoder(tokenizer, maxlen)
            measured[spec.name, maxlen] = measure(model, encoder, batch_size, steps)
        del model
        gc.collect()

    embedded_arch = architecture(published_config(SPECS[0]))
    rows = []
    for spec in SPECS:
        arch = architecture(published_config(spec))
        for maxlen in maxlens:
            infer_flops, train_flops = flops_per_example(arch, maxlen)
            if (spec.name, maxlen) in measured:
                train, infer = measured[spec.name, maxlen]
                timing = "measured on this CPU"
            else:  # time = FLOPs / (the embedded model's FLOPs per second at this maxlen)
                ref_infer_flops, ref_train_flops = flops_per_example(embedded_arch, maxlen)
                ref_train, ref_infer = measured[EMBEDDED_MODEL, maxlen]
                train = train_flops / (ref_train_flops / ref_train)
                infer = infer_flops / (ref_infer_flops / ref_infer)
                timing = ESTIMATE
            rows.append({
                "model": spec.name, "maxlen": maxlen,
                "parameters": int(registry.loc[spec.name, "parameters"]),
                "train_s_per_example": round(train, 4), "infer_s_per_example": round(infer, 4),
                "timing": timing,
                "train_gflops_per_example": round(train_flops / 1e9, 1),
                "infer_gflops_per_example": round(infer_flops / 1e9, 1), "flops": FLOPS_NOTE,
            })
    return pd.DataFrame(rows)


def run_costs(costs: pd.DataFrame, lengths, *, n_train: int, epochs: int,
              models: tuple[str, ...] = (EMBEDDED_MODEL,)) -> pd.DataFrame:
    """What each ``maxlen`` reads and costs for ``models``: the share of messages it cuts
    (from their token ``lengths``), seconds per training example, the cost relative to the
    model's cheapest measured ``maxlen``, and the minutes a run of ``epochs`` would take.
    Taught in notebooks/02_model_selection.ipynb.

    >>> run_costs(cost_table(), lengths, n_train=2257, epochs=4)  # doctest: +SKIP
    """
    lengths = np.asarray(lengths)
    rows = costs[costs["model"].isin(models)].copy()
    if rows.empty:
        raise ValueError(f"None of {list(models)} is in the cost table; it has {sorted(set(costs['model']))}.")
    rows["messages_cut"] = [f"{np.mean(lengths > maxlen):.1%}" for maxlen in rows["maxlen"]]
    cheapest = rows.groupby("model")["train_s_per_example"].transform("min")
    rows["cost_vs_cheapest"] = (rows["train_s_per_example"] / cheapest).round(2)
    rows["run_minutes"] = (rows["train_s_per_example"] * n_train * epochs / 60).round(1)
    return rows[["model", "maxlen", "messages_cut", "train_s_per_example", "cost_vs_cheapest",
                 "run_minutes", "timing"]].reset_index(drop=True)
