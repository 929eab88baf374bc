"""Command line: ``python -m helpers COMMAND ...`` (or just ``helpers COMMAND ...`` once installed).

    $ python -m helpers predict artifacts/predictor "My GPU renders polygons too slowly"
    [{"text": "My GPU renders ...", "label": "comp.graphics", "probabilities": {...}}]
    $ python -m helpers predict artifacts/predictor --file messages.txt   # one text per line
    $ python -m helpers export artifacts/predictor artifacts/saved_model  # a SavedModel for TF Serving

The results go to stdout as JSON; problems go to stderr as one line, with exit code 1.
To add a command, write a ``_name(args) -> int`` function and register it in ``build_parser``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, one subcommand per task.

    >>> build_parser().parse_args(["predict", "model_dir", "a text"]).texts
    ['a text']
    """
    parser = argparse.ArgumentParser(prog="python -m helpers", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    predict = commands.add_parser("predict", help="classify texts with a saved predictor",
                                  description="Print each text's class and probabilities as JSON.")
    predict.add_argument("model_dir", help="a folder written by predictor.save(dir)")
    predict.add_argument("texts", nargs="*", help="texts to classify (quote each one)")
    predict.add_argument("--file", help="also classify each line of this UTF-8 file "
                                        "(blank lines are skipped; '-' reads stdin)")
    predict.set_defaults(run=_predict)

    export = commands.add_parser("export", help="write a saved predictor as a TensorFlow SavedModel",
                                 description="Write a SavedModel whose serving signature takes raw "
                                             "strings (tokenizer inside the graph).")
    export.add_argument("model_dir", help="a folder written by predictor.save(dir)")
    export.add_argument("out_dir", help="where to write the SavedModel (a new or empty folder)")
    export.set_defaults(run=_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; returns the exit code (0 when all went well).

    >>> _ = predictor.save("artifacts/predictor")
    >>> main(["predict", "artifacts/predictor", "a fever and a cough"])
    [
      {
        "text": "a fever and a cough",
    ...
    0
    """
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, OSError, MemoryError) as err:  # bad folder or file, bad text, OOM
        message = " ".join(str(err).split())  # one line, whatever the message
        print(f"error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


def _predict(args: argparse.Namespace) -> int:
    from helpers.predictor import load_predictor

    texts = list(args.texts)
    if args.file:
        texts += _read_lines(args.file)
    if not texts:
        raise ValueError("No texts to classify: give them as arguments or with --file PATH.")
    predictor = load_predictor(args.model_dir)
    probs = predictor.predict_proba(texts)
    results = [
        {"text": text, "label": predictor.class_names[int(row.argmax())],
         "probabilities": {name: float(p) for name, p in zip(predictor.class_names, row)}}
        for text, row in zip(texts, probs)
    ]
    json.dump(results, sys.stdout, indent=2, ensure_ascii=False)
    print()
    return 0


def _export(args: argparse.Namespace) -> int:
    from helpers.predictor import load_predictor

    out = load_predictor(args.model_dir).export_saved_model(args.out_dir)
    print(json.dumps({"saved_model": str(out), "signatures": ["serving_default", "tokenize"]}))
    return 0


def _read_lines(path: str) -> list[str]:
    """The non-blank lines of a UTF-8 text file (or of stdin for ``-``)."""
    try:
        if path == "-":
            content = sys.stdin.buffer.read().decode("utf-8")
        else:
            with open(path, encoding="utf-8") as f:
                content = f.read()
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not UTF-8 text (byte {err.start}); save it as UTF-8, "
                         "e.g. iconv -f latin1 -t utf-8 in.txt > out.txt.") from None
    lines = [line.strip() for line in content.splitlines() if line.strip()]
    if not lines:
        raise ValueError(f"{path} has no text in it: put one text per line.")
    return lines


if __name__ == "__main__":
    sys.exit(main())
