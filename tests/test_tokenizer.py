"""The input pipeline: truncation, dynamic padding, bucketing, nothing lost or reordered."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.predictor import predict_logits
from helpers.tokenizer import TextEncoder, length_stats, plot_lengths


def _texts(lengths):
    return ["word " * n for n in lengths]


LENGTHS = [3, 50, 10, 200, 7, 30, 1, 33, 90, 12, 64, 5, 41]


def test_encode_truncates_to_maxlen_and_keeps_special_tokens(encoder):
    short, long = encoder.encode(["Hello world", "word " * 500])
    assert short.tolist()[0] == encoder.tokenizer.cls_token_id
    assert short.tolist()[-1] == encoder.tokenizer.sep_token_id
    assert len(long) == encoder.maxlen
    assert long[-1] == encoder.tokenizer.sep_token_id


def test_head_and_tail_keeps_the_first_and_last_tokens_of_long_texts_only(encoder):
    both = TextEncoder(encoder.tokenizer, maxlen=encoder.maxlen, tail=10)
    numbered = " ".join(f"w{i}" for i in range(400))
    full = encoder.encode([numbered], truncate=False)[0]
    kept = both.encode([numbered])[0]
    assert len(kept) == encoder.maxlen
    assert kept[: encoder.maxlen - 10].tolist() == full[: encoder.maxlen - 10].tolist()  # [CLS] and the head
    assert kept[-10:].tolist() == full[-10:].tolist()  # the tail, [SEP] last
    short = encoder.encode(["Hello world", "word " * (encoder.maxlen - 2)])
    assert [a.tolist() for a in both.encode(["Hello world", "word " * (encoder.maxlen - 2)])] == \
        [a.tolist() for a in short]  # texts that fit are left alone


@pytest.mark.parametrize("tail", [-1, 63])
def test_a_tail_without_room_for_the_head_is_refused(encoder, tail):
    with pytest.raises(ValueError, match="tail="):
        TextEncoder(encoder.tokenizer, maxlen=64, tail=tail)


def test_token_lengths_are_untruncated(encoder):
    lengths = encoder.token_lengths(_texts([1, 100]))
    assert lengths.tolist() == [3, 102]  # [CLS] + words + [SEP]


def test_encode_is_batched_not_one_call_per_text(encoder, monkeypatch):
    calls = []
    original = encoder.tokenizer.__class__.__call__

    def counting(self, texts, **kwargs):
        calls.append(len(texts))
        return original(self, texts, **kwargs)

    monkeypatch.setattr(encoder.tokenizer.__class__, "__call__", counting)
    encoder.encode(_texts(range(1, 41)))
    assert calls == [40]


@pytest.mark.parametrize("shuffle", [False, True])
def test_dynamic_batches_are_padded_to_their_own_longest_member(encoder, shuffle):
    ds = encoder.dataset(_texts(LENGTHS), np.arange(len(LENGTHS)), batch_size=4, shuffle=shuffle)
    widths = []
    for inputs, _ in ds:
        mask = inputs["attention_mask"].numpy()
        ids = inputs["input_ids"].numpy()
        assert mask.sum(1).max() == mask.shape[1], "batch wider than its longest member"
        assert (ids[mask == 0] == encoder.pad_token_id).all()
        widths.append(mask.shape[1])
    assert len(set(widths)) > 1
    assert max(widths) <= encoder.maxlen


def test_static_padding_pads_every_batch_to_maxlen(encoder):
    ds = encoder.dataset(_texts(LENGTHS), np.arange(len(LENGTHS)), batch_size=4, padding="static")
    assert {inputs["input_ids"].shape[1] for inputs, _ in ds} == {encoder.maxlen}


def test_without_shuffle_order_is_kept_and_last_partial_batch_is_there(encoder):
    labels = np.arange(len(LENGTHS))
    ds = encoder.dataset(_texts(LENGTHS), labels, batch_size=4)
    seen = np.concatenate([y.numpy() for _, y in ds])
    assert seen.tolist() == labels.tolist()  # 13 texts: batches of 4, 4, 4, 1


def test_bucketed_epoch_holds_every_text_exactly_once_with_its_own_ids(encoder):
    texts = [f"text number {i} " + "word " * n for i, n in enumerate(LENGTHS * 3)]
    labels = np.arange(len(texts))
    expected = {i: ids.tolist() for i, ids in enumerate(encoder.encode(texts))}
    ds = encoder.dataset(texts, labels, batch_size=4, shuffle=True, bucket=True, seed=3)
    for epoch in range(2):  # reshuffled each epoch, still complete
        seen = []
        for inputs, y in ds:
            for row, mask, label in zip(inputs["input_ids"].numpy(), inputs["attention_mask"].numpy(), y.numpy()):
                assert row[mask == 1].tolist() == expected[int(label)]
                seen.append(int(label))
        assert sorted(seen) == labels.tolist()
    assert ds.cardinality() == sum(1 for _ in ds)  # the declared number of batches is right


def test_bucketing_groups_similar_lengths(encoder):
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 60, size=200)
    texts = _texts(lengths)
    def padded_tokens(bucket):
        ds = encoder.dataset(texts, np.zeros(200, int), batch_size=8, shuffle=True, bucket=bucket)
        return sum(int(np.prod(x["input_ids"].shape)) for x, _ in ds)
    assert padded_tokens(True) < 0.8 * padded_tokens(False)


def test_unlabelled_dataset_yields_inputs_only(encoder):
    batch = next(iter(encoder.dataset(["one", "two two"], batch_size=2)))
    assert set(batch) == {"input_ids", "attention_mask"}


@pytest.mark.parametrize(
    "texts, labels, message",
    [
        ("just one string", None, "single string"),
        ([], None, "empty"),
        (["ok", None], None, "strings"),
        (["a", "b"], [0], "2 texts but 1 labels"),
        (["a", "b"], ["x", "y"], "integer class indices"),
    ],
)
def test_bad_input_gets_a_clear_error(encoder, texts, labels, message):
    with pytest.raises(ValueError, match=message):
        encoder.dataset(texts, labels)


def test_maxlen_beyond_model_limit_is_refused(encoder):
    with pytest.raises(ValueError, match="maxlen"):
        TextEncoder(encoder.tokenizer, maxlen=4096)


def test_length_stats_and_plot(encoder):
    lengths = encoder.token_lengths(_texts(LENGTHS))
    stats = length_stats(lengths, maxlen=40)
    assert stats["texts"] == len(LENGTHS)
    assert stats["truncated"] == pytest.approx(np.mean(lengths > 40), abs=5e-4)
    assert stats["p50"] == round(np.median(lengths)) and isinstance(stats["p50"], int)
    ax = plot_lengths(lengths, maxlen=40)
    assert "maxlen=40" in ax.get_legend().get_texts()[0].get_text()


def test_predict_logits_keeps_input_order(encoder, tiny_classifier):
    model = tiny_classifier(num_labels=3)
    texts = _texts(LENGTHS)
    batched = predict_logits(model, encoder, texts, batch_size=4)
    one_by_one = np.concatenate([predict_logits(model, encoder, [t]) for t in texts])
    assert batched.shape == (len(texts), 3)
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)


def test_training_batches_bucket_only_when_the_settings_say_so(encoder):
    """The full run and notebook 04 build batches through training_batches: it must honour
    RunSettings.bucket (off by default: bucketing cost accuracy on the date-ordered split)."""
    import dataclasses

    from helpers.data import LabeledTexts
    from helpers.run import RunSettings
    from helpers.train import training_batches

    lengths = np.random.default_rng(1).integers(1, 60, size=200)
    data = LabeledTexts(_texts(lengths), np.arange(200) % 2, ["a", "b"])

    def padded_tokens(settings):
        ds = training_batches(encoder, data, settings)
        return sum(int(np.prod(x["input_ids"].shape)) for x, _ in ds)

    default = RunSettings(batch_size=8)
    assert default.bucket is False
    assert padded_tokens(dataclasses.replace(default, bucket=True)) < 0.8 * padded_tokens(default)
