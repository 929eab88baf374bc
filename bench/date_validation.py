"""Choose settings on a validation split that is ordered by date, like the test set.

20 Newsgroups' test set holds the messages posted *after* the training ones, so a random
validation split flatters a model (it shares threads with training). This script trains on
the earliest 80% of each class's training messages (by article number, which grows with
posting time) and scores the latest 20%, with the recipe of ``helpers.full_run``:

    .venv/bin/python bench/date_validation.py                       # the defaults
    .venv/bin/python bench/date_validation.py --maxlen 512 --epochs 2
    .venv/bin/python bench/date_validation.py --bucket no
    .venv/bin/python bench/date_validation.py --lr-max 3e-5       # a fixed rate instead of the finder's
    .venv/bin/python bench/date_validation.py --tail 64 --pooling mean
    .venv/bin/python bench/date_validation.py --model mpnet-base    # its own recipe (helpers.run.MODEL_RECIPES)

Each run is appended to ``bench/results.json`` under ``date_validation``. The test set is
never touched here.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import helpers  # noqa: E402,F401  (Keras 2 before TensorFlow loads)
from helpers._archive import cache_folder  # noqa: E402
from helpers.data import LabeledTexts, load_newsgroups  # noqa: E402
from helpers._files import update_json  # noqa: E402
from helpers.full_run import REFERENCE_RECORDS, RunSettings, _lr_or_auto, _yes_no, full_run  # noqa: E402
from helpers.paths import project_dir  # noqa: E402
from helpers.standing import reference_records  # noqa: E402


def split_by_date(train: LabeledTexts, val_size: float = 0.2) -> tuple[LabeledTexts, LabeledTexts]:
    """The earliest ``1 - val_size`` of each class for training, the latest for validation.

    >>> early, late = split_by_date(load_newsgroups()[0])   # doctest: +SKIP
    >>> len(early), len(late)
    (1805, 452)
    """
    cache = cache_folder()
    folders = sorted(cache.glob("20news-*/20news-bydate-train"))  # load_newsgroups unpacked it
    if not folders:
        raise SystemExit(f"No unpacked corpus under {cache}: this needs the .tar.gz archive "
                         "(see data/README.md), not scikit-learn's .pkz cache.")
    folder = folders[-1]
    number = {path.read_bytes().decode("latin-1"): int(path.name)
              for name in train.class_names for path in (folder / name).iterdir()}
    numbers = np.array([number[text] for text in train.texts])
    late = np.zeros(len(train), dtype=bool)
    for label in range(len(train.class_names)):
        members = np.flatnonzero(train.labels == label)
        by_date = members[np.argsort(numbers[members])]
        late[by_date[round(len(by_date) * (1 - val_size)):]] = True
    return train.take(np.flatnonzero(~late)), train.take(np.flatnonzero(late))


def main() -> None:
    chosen = argparse.ArgumentParser(add_help=False)
    chosen.add_argument("--model")
    defaults = RunSettings.for_model(chosen.parse_known_args()[0].model)  # its recipe, then the flags
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=defaults.model, help="a registry name, e.g. mpnet-base (make setup-large)")
    parser.add_argument("--maxlen", type=int, default=defaults.maxlen)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--lr-max", type=_lr_or_auto, default=defaults.lr_max, help="a rate, or auto: the finder's")
    parser.add_argument("--lr-suggestion", default=defaults.lr_suggestion)
    parser.add_argument("--bucket", type=_yes_no, default=defaults.bucket)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--precision", default=defaults.precision)
    parser.add_argument("--tail", type=int, default=defaults.tail, help="head+tail truncation: tokens kept from the end")
    parser.add_argument("--pooling", default=defaults.pooling, choices=["cls", "mean"])
    parser.add_argument("--layer-decay", type=float, default=defaults.layer_decay)
    parser.add_argument("--save-probabilities", default=None, help="a .npy file for the validation probabilities")
    args = parser.parse_args()
    settings = dataclasses.replace(defaults, model=args.model, maxlen=args.maxlen, epochs=args.epochs, lr_max=args.lr_max,
                                   lr_suggestion=args.lr_suggestion, bucket=args.bucket, seed=args.seed,
                                   precision=args.precision, tail=args.tail, pooling=args.pooling,
                                   layer_decay=args.layer_decay)
    early, late = split_by_date(load_newsgroups()[0], val_size=settings.val_size)
    print(f"training on the earliest {len(early):,}, validating on the latest {len(late):,}")
    record = full_run(settings, data=(early, late), predictor_dir=None, verbose=0,
                      probabilities_to=args.save_probabilities)
    record["evaluate_on"] = "latest 20% of train (by date)"
    path = project_dir() / REFERENCE_RECORDS
    update_json(path, "date_validation", [*reference_records().get("date_validation", []), record])
    print(f"validation accuracy {record['accuracy']:.2%}; appended to {path} (date_validation)")


if __name__ == "__main__":
    main()
