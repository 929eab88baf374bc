"""The PyTorch side of bench/bench_inference.py, run by .venv-torch's Python (``make bench-torch-env``).

It is a small server, so the two sides can take turns: it loads the model once, then reads
one JSON command per line on stdin and answers one JSON line on stdout. Arrays travel as
.npy files in the folder given on the command line:

- ``ids.npy``           token ids, (texts, 256) int32, every row full width;
- ``head_<name>.npy``   weights copied from the TensorFlow model (classifier and pooler);
- ``logits_<variant>.npy``  written by the ``logits`` command.

Commands: ``{"cmd": "logits", "variant": "float32"}``, ``{"cmd": "time", "variant":
"bfloat16", "batch_size": 32}`` (seconds for one pass over all ids), ``{"cmd": "quit"}``.

    .venv-torch/bin/python bench/torch_side.py MODEL_DIR EXCHANGE_DIR THREADS
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from transformers import BertConfig, BertForSequenceClassification

VARIANTS = ("float32", "bfloat16")  # bfloat16: torch.autocast on the CPU, weights stay float32


def load_model(model_dir: Path, exchange: Path, num_labels: int) -> BertForSequenceClassification:
    """The safetensors encoder plus the pooler and head the TensorFlow model holds."""
    config = BertConfig.from_pretrained(model_dir, num_labels=num_labels)
    model = BertForSequenceClassification.from_pretrained(model_dir, config=config,
                                                          attn_implementation="sdpa")
    state = {name: torch.from_numpy(np.load(exchange / f"head_{name}.npy"))
             for name in ("classifier.weight", "classifier.bias",
                          "bert.pooler.dense.weight", "bert.pooler.dense.bias")}
    missing = set(state) - set(model.state_dict())
    if missing:
        raise SystemExit(f"torch_side: the PyTorch model has no {sorted(missing)}")
    model.load_state_dict(state, strict=False)
    return model.eval()


def forward_all(model, ids: np.ndarray, variant: str, batch_size: int = 32) -> np.ndarray:
    """Logits (float32) for every row of ``ids``, in batches."""
    autocast = (torch.autocast("cpu", dtype=torch.bfloat16) if variant == "bfloat16"
                else contextlib.nullcontext())
    out = []
    with torch.inference_mode(), autocast:
        for start in range(0, len(ids), batch_size):
            batch = torch.from_numpy(ids[start:start + batch_size]).long()
            out.append(model(input_ids=batch, attention_mask=torch.ones_like(batch)).logits.float().numpy())
    return np.concatenate(out)


def main() -> None:
    model_dir, exchange, threads = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)
    ids = np.load(exchange / "ids.npy")
    num_labels = np.load(exchange / "head_classifier.bias.npy").shape[0]
    model = load_model(model_dir, exchange, num_labels)
    print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        variant = command.get("variant", "float32")
        if command["cmd"] == "quit":
            break
        if variant not in VARIANTS:
            answer = {"error": f"unknown variant {variant!r}"}
        elif command["cmd"] == "logits":
            np.save(exchange / f"logits_{variant}.npy", forward_all(model, ids, variant))
            answer = {"ok": True}
        elif command["cmd"] == "time":
            start = time.perf_counter()
            forward_all(model, ids, variant, command.get("batch_size", 32))
            answer = {"seconds": time.perf_counter() - start}
        else:
            answer = {"error": f"unknown command {command['cmd']!r}"}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
