"""Bad input everywhere a user passes data: a clear error naming problem and fix, or a correct
result when the input is legitimate (odd scripts, control characters, 1 MB texts).

Plus property-based tests (hypothesis) of the tokenizer, the predictor and the checks on
arbitrary Unicode text.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import CLASS_NAMES
from helpers.checks import InputError, check_labels, check_texts

ROOT = Path(__file__).resolve().parents[1]
MEGABYTE_TEXT = "The doctor saw the patient. " * (1_000_000 // 28 + 1)
ODD_TEXTS = {
    "emoji": "I ❤️ my GPU 🚀🔥 👩🏽‍💻",
    "right-to-left": "שלום עולם، مرحبا بالعالم",
    "mixed scripts": "Ray tracing 光线追踪 трассировка лучей ray-tracing 🙂 عربي",
    "control characters": "tab\there\x00nul\x07bell\x1b[31mred\x1b[0m\r\nzero\u200bwidth\ufeff",
    "combining marks": "Zalgo: Z̵̢͎a̶l̴g̷o̸ and e\u0301",
    "1 MB": MEGABYTE_TEXT,
    "empty": "",
    "whitespace only": " \t\n  ",
}


@pytest.fixture(scope="module")
def predictor(encoder):
    from conftest import tiny_config
    from helpers.model import build_from_config
    from helpers.predictor import get_predictor

    return get_predictor(build_from_config(tiny_config(), seed=0), encoder, CLASS_NAMES)


# ------------------------------------------------------------------------------ texts


@pytest.mark.parametrize("texts, message", [
    ([], "got no texts"),
    ("just one text", "single string.*wrap it as \\[text\\]"),
    (b"bytes", "single bytes"),
    (["ok", None], "item 1 is None.*drop or fill missing values"),
    (["ok", float("nan")], "item 1 is NaN.*drop or fill"),
    (["ok", 3, 4.5], "item 1 is an int \\(bad items: 1, 2\\).*str\\(\\)"),
    (["ok", b"caf\xc3\xa9"], "item 1 is bytes.*decode"),
    (["ok", "\ud800 lone surrogate"], "texts 1 hold lone surrogates.*errors='replace'"),
    (42, "expected a list of texts, got an int"),
    ({"text": "a fever"}, "got a dict, which iterates over its keys.*\\[d\\['text'\\]\\]"),
    ({"a fever", "ray tracing"}, "got a set, which has no order.*Pass a list"),
    (pd.DataFrame({"text": ["a fever", "ray tracing"]}), "got a DataFrame.*df\\['text'\\]"),
])  # fmt: skip
def test_bad_texts_get_a_named_error_at_every_entry_point(encoder, predictor, texts, message):
    from helpers.evaluate import validate

    for call in (lambda: check_texts(texts),
                 lambda: encoder.encode(texts),
                 lambda: encoder.dataset(texts, [0] * 2),
                 lambda: validate(predictor.model, encoder, texts, [0] * 2, CLASS_NAMES)):
        with pytest.raises(InputError, match=message):
            call()
    if not isinstance(texts, str) and (not isinstance(texts, list) or texts):  # the predictor: [] -> empty result, str -> one
        with pytest.raises(InputError, match=message):
            predictor.predict(texts)


def test_empty_list_and_empty_strings_at_prediction(predictor):
    assert predictor.predict_proba([]).shape == (0, 4) and predictor.predict([]) == []
    probs = predictor.predict_proba(["", "   "])
    np.testing.assert_allclose(probs[0], probs[1], atol=1e-6)  # both are just [CLS] [SEP]
    with pytest.raises(InputError, match="empty or only whitespace.*drop them or fill"):
        check_texts(["ok", " "], allow_empty=False)


@pytest.mark.parametrize("kind", list(ODD_TEXTS))
def test_odd_but_legitimate_texts_classify(predictor, kind):
    text = ODD_TEXTS[kind]
    probs = predictor.predict_proba([text, "plain text"])
    assert probs.shape == (2, 4) and np.isfinite(probs).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1, atol=1e-5)
    assert predictor.predict(text) in CLASS_NAMES
    ids = predictor.encoder.encode([text])[0]
    assert 2 <= len(ids) <= predictor.maxlen and ids[0] == 101 and ids[-1] == 102


def test_a_megabyte_text_is_cut_to_maxlen_and_is_quick(predictor, encoder):
    import time

    start = time.perf_counter()
    assert len(encoder.encode([MEGABYTE_TEXT])[0]) == encoder.maxlen
    predictor.predict(MEGABYTE_TEXT)
    assert time.perf_counter() - start < 30


@pytest.mark.parametrize("kind", ["right-to-left", "mixed scripts", "1 MB", "control characters"])
def test_explain_handles_odd_texts(predictor, kind):
    from helpers.explain import explain, explain_gradients

    text = ODD_TEXTS[kind]
    lime = explain(predictor, text, num_samples=20)
    grads = explain_gradients(predictor, text, steps=4)
    for exp in (lime, grads):
        assert exp.class_name in CLASS_NAMES and all(math.isfinite(w) for _, w in exp.weights)
        assert all(0 <= a < b <= len(text) for a, b, _ in exp.spans)


@pytest.mark.parametrize("text, message", [
    (["a list"], "expected one text \\(a str\\), got a list; explain one text at a time"),
    (None, "got a NoneType; pass the text as a str"),
    ("🚀🔥 !!", "nothing to explain.*has no words"),
    ("   ", "nothing to explain"),
])  # fmt: skip
def test_explain_bad_input(predictor, text, message):
    from helpers.explain import explain, explain_gradients

    with pytest.raises(InputError, match=message):
        explain(predictor, text, num_samples=20)
    if text != "   " and text != "🚀🔥 !!":
        with pytest.raises(InputError, match=message):
            explain_gradients(predictor, text)


# ------------------------------------------------------------------------------ labels


@pytest.mark.parametrize("labels, names, message", [
    ([0, 1, 0], None, "got 2 texts but 3 labels"),
    ([0, None], None, "missing \\(None or NaN\\) at items 1"),
    ([0.0, float("nan")], None, "missing \\(None or NaN\\) at items 1"),
    ([0.0, 1.0], None, "found \\['float'\\].*astype\\(int\\)"),
    ([True, False], None, "integer class indices"),
    (["pos", "neg"], None, "labels are class names.*map names to indices"),
    (["sci.med", "sci.space"], CLASS_NAMES, "labels 'sci.space' are not classes the model knows"),
    ([0, 7], CLASS_NAMES, "labels 7 are outside 0..3.*renumber them"),
    ([-1, 0], None, "must be 0 or more"),
    (np.eye(2, dtype=int), None, "flat list.*argmax"),
    ("01", None, "expected a list of labels"),
])  # fmt: skip
def test_bad_labels_get_a_named_error(labels, names, message):
    with pytest.raises(InputError, match=message):
        check_labels(labels, names, n_texts=2)


def test_labels_at_training_and_evaluation(encoder, predictor):
    from helpers.evaluate import validate

    texts = ["the doctor", "a polygon", "the church", "no god"]
    with pytest.raises(InputError, match="TextEncoder.dataset: labels are missing"):
        encoder.dataset(texts, [0, 1, float("nan"), 3])
    with pytest.raises(InputError, match="TextEncoder.dataset: got 4 texts but 3 labels"):
        encoder.dataset(texts, [0, 1, 2])
    with pytest.raises(InputError, match="validate: labels 'sci.space' are not classes"):
        validate(predictor.model, encoder, texts, ["sci.med"] * 3 + ["sci.space"], CLASS_NAMES)
    by_name = validate(predictor.model, encoder, texts, [CLASS_NAMES[i] for i in (2, 1, 3, 0)],
                       CLASS_NAMES)
    by_index = validate(predictor.model, encoder, texts, [2, 1, 3, 0], CLASS_NAMES)
    assert by_name.labels.tolist() == [2, 1, 3, 0] and by_name.accuracy == by_index.accuracy


def test_training_with_labels_the_model_has_no_output_for(encoder, tiny_classifier):
    from helpers.train import fit_onecycle

    batches = encoder.dataset(["a", "b", "c"], [0, 7, 1], batch_size=3)
    with pytest.raises(InputError, match="training data has label 7, but the model has 4 outputs "
                                         "\\(labels 0..3\\). Build the model with one class name"):
        fit_onecycle(tiny_classifier(), batches, lr_max=1e-3, epochs=1, verbose=0)
    with pytest.raises(TypeError, match="train_data must be a tf.data.Dataset.*encoder.dataset"):
        fit_onecycle(tiny_classifier(), ["a", "b"], lr_max=1e-3, epochs=1, verbose=0)


def test_one_class_only_is_refused_where_classes_are_named():
    from helpers.model import classifier_config, resolve_model

    with pytest.raises(ValueError, match="at least two classes"):
        classifier_config(resolve_model(), ["only"])


def test_integer_labels_without_names_and_one_class_only():
    from helpers.data import from_dataframe

    df = pd.DataFrame({"text": ["good", "bad", "fine"], "label": [1, 0, 1]})
    with pytest.raises(InputError, match="labels are integers, so their names are unknown; "
                                         "pass class_names="):
        from_dataframe(df)  # never a silent regression or a guess at names
    with pytest.raises(InputError, match="labels \\[3\\] are outside 0..1"):
        from_dataframe(df.assign(label=[1, 3, 0]), class_names=["neg", "pos"])  # non-consecutive
    ok = from_dataframe(df.assign(label=[0, 5, 5]), class_names=[f"c{i}" for i in range(6)])
    assert ok.labels.tolist() == [0, 5, 5]  # gaps are fine when every id has a name
    with pytest.raises(InputError, match="every label is 'a'; .* at least two classes"):
        from_dataframe(df.assign(label=["a", "a", "a"]))
    with pytest.raises(InputError, match="labels are missing at rows \\[1\\]"):
        from_dataframe(df.assign(label=["a", float("nan"), "b"]))


def test_labeled_texts_refuses_non_strings():
    from helpers.data import LabeledTexts

    with pytest.raises(InputError, match="LabeledTexts: texts must be strings; item 1 is None"):
        LabeledTexts(["a", None], np.array([0, 1]), ["x", "y"])


# ------------------------------------------------------------------------------ CSV


def test_csv_errors_name_the_problem_and_the_fix(tmp_path):
    from helpers.data import load_csv

    good = tmp_path / "good.csv"
    good.write_text('text,label\n"hello, world",pos\nbye,neg\n', encoding="utf-8")
    assert load_csv(good).texts == ["hello, world", "bye"]
    with pytest.raises(InputError, match="has no column 'review'; found columns \\['text', "
                                         "'label'\\]. Pass text_column="):
        load_csv(good, text_column="review")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("text,label\ncafé crème,pos\nthé,neg\n".encode("latin-1"))
    with pytest.raises(InputError, match="not valid utf-8.*encoding='latin-1'"):
        load_csv(latin)
    assert load_csv(latin, encoding="latin-1").texts == ["café crème", "thé"]
    long_row = tmp_path / "long.csv"
    long_row.write_text("text,label\nhello, world,pos\nbye,neg\n")
    with pytest.raises(InputError, match="first data row has more fields than the header.*double quotes"):
        load_csv(long_row)  # pandas alone would silently take "hello" as a row index
    long_row.write_text("text,label\nbye,neg\nhello, world,pos\n")
    with pytest.raises(InputError, match="Expected 2 fields in line 3, saw 3.*double quotes"):
        load_csv(long_row)
    short_row = tmp_path / "short.csv"
    short_row.write_text("text,label\nhello\nbye,neg\nhi,pos\n")
    with pytest.raises(InputError, match="labels are missing at data rows \\[1\\]"):
        load_csv(short_row)
    with pytest.raises(FileNotFoundError, match="No CSV file at"):
        load_csv(tmp_path / "nope.csv")
    excel = tmp_path / "excel.csv"
    excel.write_bytes("text,label\nhi,pos\nbye,neg\n".encode("utf-8-sig"))  # starts with a BOM
    assert load_csv(excel).class_names == ["neg", "pos"]
    semicolons = tmp_path / "semi.csv"
    semicolons.write_text("text;label\nhi;pos\nbye;neg\n")
    with pytest.raises(InputError, match="separated by ';', not commas. Pass sep=';'"):
        load_csv(semicolons)
    assert load_csv(semicolons, sep=";").texts == ["hi", "bye"]
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="is empty: it needs a header row"):
        load_csv(empty)
    empty.write_text("text,label\n")
    with pytest.raises(InputError, match="has no rows"):
        load_csv(empty)


# ------------------------------------------------------------------------------ CLI


def run_cli(*args, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "helpers", "predict", *args], cwd=ROOT,
                          input=stdin, capture_output=True, timeout=300)


def test_cli_bad_input_is_one_line_and_odd_texts_classify(predictor, tmp_path):
    folder = predictor.save(tmp_path / "predictor")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("café\n".encode("latin-1"))
    for args, stdin, message in (
            ([str(folder), "--file", str(latin)], None, "is not UTF-8 text (byte 3); save it as UTF-8"),
            ([str(folder), "--file", "-"], b"\xff\xfe bad\n", "- is not UTF-8 text"),
            ([str(folder), b"bad \xff bytes"], None, "lone surrogates"),
            ([str(folder)], None, "No texts to classify")):
        done = run_cli(*args, stdin=stdin)
        err = done.stderr.decode()
        assert done.returncode == 1 and done.stdout == b"", err
        assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and message in err
    odd = [ODD_TEXTS[k] for k in ("emoji", "right-to-left", "mixed scripts")]
    done = run_cli(str(folder), *odd)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert [r["text"] for r in json.loads(done.stdout)] == odd


# ------------------------------------------------------------------------------ properties

ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=300)
FAST = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@FAST
@given(st.lists(ANY_TEXT, min_size=1, max_size=5))
def test_property_tokenizer_any_unicode(encoder, texts):
    ids = encoder.encode(texts)
    lengths = encoder.token_lengths(texts)
    assert len(ids) == len(texts)
    for row, full in zip(ids, lengths):
        assert 2 <= len(row) <= encoder.maxlen and len(row) == min(full, encoder.maxlen)
        assert row[0] == encoder.tokenizer.cls_token_id and row[-1] == encoder.tokenizer.sep_token_id


@FAST
@given(st.lists(ANY_TEXT, min_size=1, max_size=5))
def test_property_predictor_any_unicode(predictor, texts):
    probs = predictor.predict_proba(texts)
    assert probs.shape == (len(texts), 4) and np.isfinite(probs).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1, atol=1e-5)
    one = predictor.predict_proba(texts[0])  # alone or in a batch: the same answer
    np.testing.assert_allclose(one, probs[0], atol=1e-5)
    assert predictor.predict(texts) == [CLASS_NAMES[i] for i in probs.argmax(axis=1)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.text(), st.none(), st.integers(), st.floats(), st.binary(),
                          st.booleans()), max_size=6))
def test_property_check_texts_returns_strings_or_a_named_error(items):
    try:
        texts = check_texts(items)
    except InputError as err:
        assert str(err).startswith("texts: ") and ("Fix" in str(err) or "pass" in str(err))
    else:
        assert texts == items and all(isinstance(t, str) for t in texts)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.integers(-2, 6), st.sampled_from(CLASS_NAMES + ["other"]),
                          st.none(), st.floats(), st.booleans()), min_size=1, max_size=6))
def test_property_check_labels_returns_valid_ids_or_a_named_error(labels):
    try:
        ids = check_labels(labels, CLASS_NAMES, n_texts=len(labels))
    except InputError as err:
        assert str(err).startswith("labels: ")
    else:
        assert ids.dtype == np.int64 and ((0 <= ids) & (ids < 4)).all() and len(ids) == len(labels)
