"""Train on several processes or machines with ``tf.distribute.MultiWorkerMirroredStrategy``.

Start the same command on every machine, changing only ``--index``; the workers find
each other through the addresses in ``--workers`` (written into ``TF_CONFIG``), train in
lockstep (every step's gradients are summed over all workers) and finish with identical
weights. Worker 0, the chief, saves the predictor.

    # machine A (10.0.0.1)                                         # machine B (10.0.0.2)
    python -m helpers.cluster --workers 10.0.0.1:12345,10.0.0.2:12345 --index 0
    python -m helpers.cluster --workers 10.0.0.1:12345,10.0.0.2:12345 --index 1

``--batch-size`` is the global batch: each of the n workers computes 1/n of every batch.
GPUs are used when TensorFlow sees them (untested here: no GPU machine was available).
``--single`` trains the same global batches in one process without a strategy: the
reference the workers must match.

    >>> from helpers.cluster import tf_config
    >>> tf_config(["127.0.0.1:2001", "127.0.0.1:2002"], 1)
    '{"cluster": {"worker": ["127.0.0.1:2001", "127.0.0.1:2002"]}, "task": {"type": "worker", "index": 1}}'
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Sequence

import helpers  # noqa: F401  (Keras 2 before TensorFlow loads)


def tf_config(workers: Sequence[str], index: int) -> str:
    """The ``TF_CONFIG`` value for worker ``index`` of a cluster of ``workers`` (``host:port``).
    Not in a notebook.

    >>> json.loads(tf_config(["a:1", "b:2"], 0))["task"]
    {'type': 'worker', 'index': 0}
    """
    workers = list(workers)
    if not workers or any(":" not in w for w in workers):
        raise ValueError(f"--workers must list host:port for every worker, e.g. "
                         f"10.0.0.1:12345,10.0.0.2:12345; got {workers}.")
    if not 0 <= index < len(workers):
        raise ValueError(f"--index must be between 0 and {len(workers) - 1} for {len(workers)} workers, "
                         f"not {index}.")
    return json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})


def train(args: argparse.Namespace) -> dict:
    """Train as one worker (or alone with ``--single``); returns what happened, as JSON-able.
    Taught in notebooks/01_data.ipynb and notebooks/02_model_selection.ipynb.
    """
    if not args.single:
        # Must be in place before TensorFlow creates the strategy (and its gRPC server).
        os.environ["TF_CONFIG"] = tf_config(args.workers.split(","), args.index)
    from helpers.backend import keras, tf
    from helpers.data import load_csv, load_newsgroups
    from helpers.model import load_classifier
    from helpers.data import subset
    from helpers.paths import project_dir
    from helpers.predictor import get_predictor
    from helpers.tokenizer import TextEncoder
    from helpers.train import build_in_scope, fit_onecycle

    strategy = None if args.single else tf.distribute.MultiWorkerMirroredStrategy()
    data = load_csv(args.data) if args.data else subset(load_newsgroups()[0], args.limit, args.seed)
    encoder = TextEncoder.from_model(args.model, maxlen=args.maxlen)
    batches = encoder.dataset(data.texts, data.labels, batch_size=args.batch_size, shuffle=True,
                              seed=args.seed, bucket=False)
    keras.utils.set_random_seed(args.seed)
    make = lambda: load_classifier(args.model, data.class_names, seed=args.seed)  # noqa: E731
    model = make() if strategy is None else build_in_scope(strategy, make)
    history = fit_onecycle(model, batches, lr_max=args.lr_max, epochs=args.epochs, strategy=strategy,
                           verbose=0)
    if args.weights_to:
        import numpy as np

        np.savez(args.weights_to, **{f"{i:04d}": w for i, w in enumerate(model.get_weights())})
    is_chief = args.single or args.index == 0
    if is_chief and args.out:
        get_predictor(model, encoder, data.class_names).save(project_dir() / args.out)
    return {"index": None if args.single else args.index,
            "replicas": strategy.num_replicas_in_sync if strategy else 1,
            "devices": [d.name for d in tf.config.list_logical_devices()
                        if d.device_type in ("GPU", "CPU")],
            "losses": [float(x) for x in history.losses], "epoch_loss": history.epochs["loss"]}


def build_parser() -> argparse.ArgumentParser:
    """The command line; every default is the quick demonstration's.
    Not in a notebook.

    >>> build_parser().parse_args(["--single"]).batch_size
    16
    """
    parser = argparse.ArgumentParser(prog="python -m helpers.cluster", description=__doc__.splitlines()[0])
    parser.add_argument("--workers", help="host:port of every worker, comma-separated, same order everywhere")
    parser.add_argument("--index", type=int, default=0, help="this worker's position in --workers")
    parser.add_argument("--single", action="store_true", help="one process, no strategy (the reference)")
    parser.add_argument("--model", default="minilm-l6", help="model name or folder (see helpers.model)")
    parser.add_argument("--data", help="a CSV with text,label columns (default: 20 Newsgroups' training set)")
    parser.add_argument("--limit", type=int, default=256, help="training messages of 20 Newsgroups to use")
    parser.add_argument("--maxlen", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=16, help="global batch size")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr-max", type=float, default=8.7e-5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", default="artifacts/cluster_predictor", help="where the chief saves the predictor")
    parser.add_argument("--weights-to", help="also write this worker's final weights to this .npz file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one worker; prints a JSON summary on the last line of stdout.
    Not in a notebook.
    """
    args = build_parser().parse_args(argv)
    if not args.single and not args.workers:
        print("error: give --workers host:port,host:port (and --index), or --single", file=sys.stderr)
        return 2
    try:
        print(json.dumps(train(args)))
    except ValueError as err:
        print(f"error: {' '.join(str(err).split())}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
