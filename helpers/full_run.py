"""The whole recipe in one call: data -> LR finder -> 1cycle training -> evaluation -> predictor.

Two ways to run it:

- ``evaluate_on="val"``: train on 80% of the training set and score the other 20%. This
  is how settings (``maxlen``, epochs, learning rate, truncation) are chosen, without
  looking at the test set.
- ``evaluate_on="test"``: train on the whole training set with chosen settings and score
  the 1,502 test messages once, at the end of the last epoch. Saves the predictor to
  ``artifacts/predictor/`` and the record to ``artifacts/records.json`` under ``full_run``.
  The project's reference record (``bench/results.json``) changes only when asked:
  ``--record-to bench/results.json`` (or ``make bench``).

From a shell::

    python -m helpers.full_run --evaluate-on test            # the full run: 17.3 min alone on 2 CPU cores
    python -m helpers.full_run --evaluate-on val --maxlen 128 --epochs 4

From Python:

    >>> from helpers.full_run import RunSettings, full_run
    >>> record = full_run(RunSettings(epochs=1), evaluate_on="val")  # doctest: +SKIP
    >>> record["accuracy"]                                             # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

import helpers
from helpers._files import update_json
from helpers.paths import predictor_folder, project_dir, records_path, shown
from helpers.run import RunSettings, phase  # noqa: F401  (RunSettings: for bench scripts too)

if TYPE_CHECKING:
    from helpers.backend import keras, tf
    from helpers.data import LabeledTexts
    from helpers.precision import Precision
    from helpers.tokenizer import TextEncoder


class _DefaultPredictorDir(os.PathLike):
    """``artifacts/predictor`` under ``helpers.paths.artifacts_root()``, looked up when used,
    so ``$NOTEBOOK_ARTIFACTS`` moves it as it moves the notebooks' (``artifacts.predictor_dir``)."""

    def __fspath__(self) -> str:
        return str(predictor_folder())

    def __repr__(self) -> str:
        return "artifacts/predictor"


# Where a test run saves its predictor (an os.PathLike: ``Path(PREDICTOR_DIR)`` is absolute).
PREDICTOR_DIR = _DefaultPredictorDir()
# The project's committed reference records, written only by `make bench` or --record-to.
REFERENCE_RECORDS = Path("bench") / "results.json"


def full_run(
    settings: RunSettings = RunSettings(),
    *,
    evaluate_on: Literal["val", "test"] = "test",
    limit: int | None = None,
    data: tuple | None = None,
    predictor_dir: str | Path | None = PREDICTOR_DIR,
    probabilities_to: str | Path | None = None,
    verbose: int = 1,
) -> dict:
    """Run the recipe once and return its record (accuracy, seconds per phase, settings).

    ``limit`` keeps a stratified ``limit`` of the training and evaluation texts (a smoke
    run); ``data`` gives your own ``(train, test)`` pair instead of the tutorial's task.
    The predictor is saved to ``predictor_dir`` (relative to ``helpers.paths.project_dir()``)
    only for a test run without ``limit``; ``probabilities_to`` saves the evaluated texts'
    class probabilities (``.npy``), e.g. to try averaging them with another model's.
    Taught in notebooks/04_one_cycle_training.ipynb.

    >>> full_run(RunSettings(epochs=1, lr_max=5e-5), evaluate_on="val", limit=64)  # doctest: +SKIP
    """
    if evaluate_on not in ("val", "test"):
        raise ValueError(f"evaluate_on must be 'val' or 'test', not {evaluate_on!r}.")
    from helpers.backend import keras
    from helpers.data import load_newsgroups, subset, train_val_split
    from helpers.evaluate import validate
    from helpers.lr_finder import find_lr, lr_choice
    from helpers.predictor import get_predictor
    from helpers.train import fit_onecycle

    s = settings
    seconds: dict[str, float] = {}
    keras.utils.set_random_seed(s.seed)

    with phase(seconds, "data"):
        train, test = data or load_newsgroups(remove=s.remove)
        if evaluate_on == "val":
            train, held_out = train_val_split(train, val_size=s.val_size, seed=s.seed)
        else:
            held_out = test
        train, held_out = subset(train, limit, s.seed), subset(held_out, limit, s.seed)
        encoder, train_data, chosen, model = build_learner(s, train)
        print(chosen, flush=True)

    with phase(seconds, "lr_find"):
        finder = find_lr(model, encoder, train, s, progress=verbose > 0)
        lr_max, source = lr_choice(finder, s)
        print(f"LR finder suggestions: { {k: f'{v:.2e}' for k, v in finder.suggestions.items()} }"
              f" -> lr_max = {lr_max:.2e} ({source})", flush=True)

    with phase(seconds, "train"):
        history = fit_onecycle(model, train_data, lr_max=lr_max, epochs=s.epochs, verbose=verbose)

    with phase(seconds, "evaluate"):
        result = validate(model, encoder, held_out.texts, held_out.labels, held_out.class_names)

    if probabilities_to:
        import numpy as np

        np.save(probabilities_to, result.probabilities)
    if predictor_dir and evaluate_on == "test" and not limit:
        with phase(seconds, "save"):
            get_predictor(model, encoder, train.class_names).save(
                project_dir() / predictor_dir, trained_with=trained_with(s, len(train)))

    record = build_record(s, evaluate_on=evaluate_on, accuracy=result.accuracy, n_train=len(train),
                          n_eval=len(held_out), seconds=seconds, lr_max=lr_max,
                          lr_suggestions=finder.suggestions, lr_source=source, train_losses=history.epochs.get("loss", []),
                          precision=chosen)
    print(json.dumps({k: record[k] for k in ("evaluate_on", "accuracy", "seconds")}), flush=True)
    return record


class Learner(NamedTuple):
    """What ``build_learner`` returns: unpack it as ``encoder, batches, precision, model``.
    Taught in notebooks/03_lr_finder.ipynb and notebooks/04_one_cycle_training.ipynb."""

    encoder: TextEncoder
    batches: tf.data.Dataset
    precision: Precision
    model: keras.Model


def build_learner(settings: RunSettings, train: LabeledTexts) -> Learner:
    """The tokenizer, shuffled training batches, precision and compiled classifier that
    ``settings`` asks for (``maxlen``, ``tail``, ``pooling``, ``layer_decay``, ``seed``,
    ``precision``), built as the full run builds them: the tutorial's "build a classifier
    and learner" step. Taught in notebooks/03_lr_finder.ipynb and
    notebooks/04_one_cycle_training.ipynb.

    >>> encoder, batches, precision, model = build_learner(RunSettings(), train)  # doctest: +SKIP
    >>> encoder.maxlen                                                             # doctest: +SKIP
    256
    """
    from helpers.layer_decay import layerwise_adam
    from helpers.model import compile_classifier, load_classifier
    from helpers.precision import choose_precision
    from helpers.tokenizer import TextEncoder
    from helpers.train import training_batches

    s = settings
    encoder = TextEncoder.from_model(s.model, maxlen=s.maxlen, tail=s.tail)
    batches = training_batches(encoder, train, s)
    precision = choose_precision(s.precision)
    model = load_classifier(s.model, train.class_names, seed=s.seed, precision=precision,
                            pooling=s.pooling, compile=False)
    optimizer = layerwise_adam(model, s.layer_decay) if s.layer_decay != 1.0 else None
    compile_classifier(model, optimizer=optimizer)
    return Learner(encoder, batches, precision, model)


def trained_with(settings: RunSettings, n_train: int) -> dict:
    """What a saved predictor records about its training (``Predictor.save(..., trained_with=...)``),
    so ``helpers.artifacts.ensure_predictor`` can tell a predictor made with other settings.
    Taught in notebooks/04_one_cycle_training.ipynb.

    >>> trained_with(RunSettings(), 2257)["settings"]["maxlen"]
    256
    """
    return {"settings": json.loads(json.dumps(dataclasses.asdict(settings))), "n_train": int(n_train)}


def build_record(settings: RunSettings, *, evaluate_on: str, accuracy: float, n_train: int, n_eval: int,
                 seconds: dict[str, float], lr_max: float, lr_suggestions: dict[str, float], lr_source: str = "",
                 train_losses: list[float], precision=None) -> dict:
    """A run's record as ``bench/results.json`` keeps it; ``seconds["total"]`` is the phases' sum.
    Taught in notebooks/04_one_cycle_training.ipynb.

    >>> build_record(RunSettings(), evaluate_on="test", accuracy=0.95, n_train=2257, n_eval=1502,
    ...              seconds={"train": 700.0}, lr_max=1e-4, lr_suggestions={},
    ...              train_losses=[0.5])["seconds"]["total"]  # doctest: +SKIP
    700.0
    """
    from helpers.backend import tf, transformers
    from helpers.precision import cpu_count, cpu_flags

    seconds = {**seconds, "total": round(sum(v for k, v in seconds.items() if k != "total"), 1)}
    return {
        "evaluate_on": evaluate_on,
        "accuracy": round(float(accuracy), 4),
        "n_train": n_train,
        "n_eval": n_eval,
        "seconds": seconds,
        "lr_max": float(lr_max),
        "lr_suggestions": {k: float(v) for k, v in lr_suggestions.items()},
        "lr_source": lr_source,
        "train_loss_per_epoch": [round(float(v), 4) for v in train_losses],
        "precision": {"policy": precision.policy, "reason": precision.reason} if precision else None,
        "settings": dataclasses.asdict(settings),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {cpu_count()} CPU cores, "
                   f"{'GPU' if tf.config.list_physical_devices('GPU') else 'no GPU'}",
        "cpu_flags": sorted(cpu_flags() & {"avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_int8"}),
        "versions": {"tensorflow": tf.__version__, "transformers": transformers.__version__,
                     "helpers": helpers.__version__},
    }


def save_record(record: dict, key: str, path: str | Path | None = None) -> Path:
    """Store ``record`` under ``key`` in ``path`` (other keys are kept); returns the file.

    By default the user's ``artifacts/records.json``: running the recipe never changes a
    tracked file. A relative ``path`` is taken from ``helpers.paths.project_dir()``.
    Taught in notebooks/04_one_cycle_training.ipynb.

    >>> save_record({"accuracy": 0.95}, "full_run")          # doctest: +SKIP
    PosixPath('.../artifacts/records.json')
    """
    target = records_path() if path is None else project_dir() / path
    update_json(target, key, record)
    return target


def _lr_or_auto(value: str) -> float | None:
    """``--lr-max 1e-4``, or ``--lr-max auto`` to take the LR finder's suggestion."""
    return None if value.lower() == "auto" else float(value)


def _yes_no(value: str) -> bool:
    """``--bucket no`` (or false/0/off), ``--bucket yes`` (or true/1/on)."""
    answer = value.strip().lower()
    if answer not in {"yes", "true", "1", "on", "no", "false", "0", "off"}:
        raise argparse.ArgumentTypeError(f"say yes or no, not {value!r}")
    return answer in {"yes", "true", "1", "on"}


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python -m helpers.full_run --help``.
    Not in a notebook.
    """
    chosen = argparse.ArgumentParser(add_help=False)
    chosen.add_argument("--model")
    defaults = RunSettings.for_model(chosen.parse_known_args(argv)[0].model)  # its recipe, then the flags
    parser = argparse.ArgumentParser(prog="python -m helpers.full_run", description=__doc__.split("\n")[0])
    parser.add_argument("--evaluate-on", choices=["val", "test"], default="test")
    parser.add_argument("--limit", type=int, default=None, help="smoke run on the first N texts")
    parser.add_argument("--record", default=None,
                        help="key to store the record under (default: full_run for test runs, "
                             "none for validation runs)")
    parser.add_argument("--record-to", default=None, metavar="FILE",
                        help="JSON file to store the record in (default: artifacts/records.json; "
                             f"{REFERENCE_RECORDS} to update the project's reference record)")
    parser.add_argument("--predictor-dir", default=PREDICTOR_DIR,
                        help="where a test run saves its predictor (default: artifacts/predictor)")
    for field in dataclasses.fields(RunSettings):  # each default: the recipe of the --model asked for
        value = getattr(defaults, field.name)
        flag, told = f"--{field.name.replace('_', '-')}", f"default: {value}"
        if isinstance(value, tuple):
            parser.add_argument(flag, nargs="*", default=value, help=told)
        else:
            kind = (_lr_or_auto if field.name == "lr_max" else _yes_no if isinstance(value, bool)
                    else int if field.name == "lr_find_steps" else str if value is None else type(value))
            parser.add_argument(flag, type=kind, default=value, help=told)
    args = parser.parse_args(argv)
    settings = RunSettings(**{f.name: (tuple(v) if isinstance(v := getattr(args, f.name), list) else v)
                              for f in dataclasses.fields(RunSettings)})
    record = full_run(settings, evaluate_on=args.evaluate_on, limit=args.limit,
                      predictor_dir=args.predictor_dir)
    key = args.record or ("full_run" if args.evaluate_on == "test" and not args.limit else None)
    if key:
        print(f"record saved to {shown(save_record(record, key, args.record_to))} under {key!r}")


if __name__ == "__main__":
    main()
