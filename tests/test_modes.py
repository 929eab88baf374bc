"""Run modes and the hand-off between notebooks (artifacts/)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers.artifacts import (artifacts_dir, ensure_predictor, load_lr_find, note_result, predictor_dir,
                               save_lr_find, shown)
from helpers.data import LabeledTexts
from helpers.data import subset
from helpers.run import MODEL_RECIPES, MODES, RunSettings, get_mode, with_settings


@pytest.fixture
def artifacts(tmp_path, monkeypatch):
    monkeypatch.setenv("NOTEBOOK_ARTIFACTS", str(tmp_path))
    return tmp_path


def test_environment_variable_overrides_the_notebook_mode(monkeypatch):
    monkeypatch.delenv("NOTEBOOK_MODE", raising=False)
    assert get_mode("full").name == "full"
    monkeypatch.setenv("NOTEBOOK_MODE", "Smoke")
    assert get_mode("full").name == "smoke"


def test_unknown_mode_names_the_choices(monkeypatch):
    monkeypatch.setenv("NOTEBOOK_MODE", "fast")
    with pytest.raises(ValueError, match=r"NOTEBOOK_MODE.*'fast'.*\['full', 'quick', 'smoke'\]"):
        get_mode("full")


def test_modes_shrink_in_order():
    full, quick, smoke = MODES["full"], MODES["quick"], MODES["smoke"]
    assert full.train_size is None and quick.train_size > smoke.train_size
    assert full.settings.maxlen > quick.settings.maxlen > smoke.settings.maxlen
    assert full.lime_samples > quick.lime_samples > smoke.lime_samples


def test_describe_marks_the_current_mode_and_lists_every_mode(monkeypatch):
    monkeypatch.delenv("NOTEBOOK_MODE", raising=False)  # `make test` sets it to smoke
    table = get_mode("quick").describe()
    assert list(table.columns) == ["full", "→ quick", "smoke"]
    assert table.loc["maxlen (tokens)", "→ quick"] == 128
    assert table.loc["training messages", "full"] == "all 2,257"


def test_with_settings_changes_only_the_copy():
    changed = with_settings(MODES["quick"], maxlen=64)
    assert changed.settings.maxlen == 64 and MODES["quick"].settings.maxlen == 128


def test_subset_is_stratified_ordered_and_repeatable():
    labels = np.repeat([0, 1, 2, 3], [40, 30, 20, 10])
    data = LabeledTexts([f"t{i}" for i in range(100)], labels, ["a", "b", "c", "d"])
    small = subset(data, 20, seed=1)
    assert len(small) == 20
    assert np.bincount(small.labels).tolist() == [8, 6, 4, 2]
    positions = [int(t[1:]) for t in small.texts]
    assert positions == sorted(positions)
    assert subset(data, 20, seed=1).texts == small.texts
    assert subset(data, None) is data and subset(data, 500) is data
    with pytest.raises(ValueError, match="smaller than the number of classes"):
        subset(data, 3)


@pytest.mark.slow
def test_smoke_mode_loads_the_real_task_cut_to_size():
    train, test = get_mode("smoke").load_data()
    assert (len(train), len(test)) == (32, 32)
    assert train.class_names == ["alt.atheism", "comp.graphics", "sci.med", "soc.religion.christian"]
    assert set(train.labels) == {0, 1, 2, 3}


def test_full_mode_uses_the_top_folder_and_small_modes_their_own(artifacts):
    assert artifacts_dir(MODES["full"]) == artifacts
    assert artifacts_dir(MODES["smoke"]) == artifacts / "smoke"
    assert predictor_dir(MODES["quick"]) == artifacts / "quick" / "predictor"


def test_shown_paths_are_relative_to_the_repository():
    from helpers.paths import project_dir as root

    assert shown(root() / "artifacts" / "x") == "artifacts/x"
    assert "/" not in shown("/somewhere/else/file.json")


def test_lr_finder_curve_round_trips_and_is_refused_for_other_settings(artifacts):
    from helpers.lr_finder import LRFinderResult, smooth

    lrs = np.logspace(-7, 0, 30)
    losses = 2 - np.sin(np.linspace(0, 3, 30))
    result = LRFinderResult(lrs, losses, smooth(losses), stop_reason="end")
    mode = MODES["smoke"]
    save_lr_find(result, mode, n_train=32, seconds=12.5)
    loaded, seconds = load_lr_find(mode, n_train=32)
    assert seconds == 12.5
    np.testing.assert_allclose(loaded.lrs, lrs)
    assert loaded.suggestions == result.suggestions
    assert load_lr_find(mode, n_train=33) is None  # another data size: run again
    assert load_lr_find(with_settings(mode, maxlen=64), n_train=32) is None
    (artifacts / "smoke" / "lr_find.json").write_text("{half a file")
    assert load_lr_find(mode, n_train=32) is None


def test_note_result_merges(artifacts):
    mode = MODES["smoke"]
    note_result(mode, "04", accuracy=0.5)
    note_result(mode, "04", seconds=3)
    note_result(mode, "05", mistakes=2)
    saved = json.loads((artifacts / "smoke" / "results.json").read_text())
    assert saved == {"04": {"accuracy": 0.5, "seconds": 3}, "05": {"mistakes": 2}}


@pytest.mark.slow
def test_ensure_predictor_trains_when_missing_then_loads(artifacts, capsys):
    mode = with_settings(MODES["smoke"], lr_find_steps=3)
    first = ensure_predictor(mode)
    said = capsys.readouterr().out
    assert "04_one_cycle_training.ipynb makes it" in said and "Training one now" in said
    assert (predictor_dir(mode) / "predictor.json").is_file()
    again = ensure_predictor(mode)
    assert "Loaded the predictor" in capsys.readouterr().out
    text = ["The doctor prescribed antibiotics."]
    np.testing.assert_allclose(first.predict_proba(text), again.predict_proba(text), atol=1e-5)


@pytest.mark.parametrize("argv, expected", [
    ([], dict(model="minilm-l6", pooling="cls", lr_max=None, epochs=RunSettings().epochs)),
    (["--model", "mpnet-base"], dict(model="mpnet-base", **MODEL_RECIPES["mpnet-base"])),
    (["--model", "mpnet-base", "--epochs", "2", "--lr-max", "auto"],
     dict(model="mpnet-base", pooling="mean", epochs=2, lr_max=None)),
])
def test_the_command_line_runs_the_recipe_of_the_model_asked_for(monkeypatch, argv, expected):
    import helpers.full_run

    seen = {}
    monkeypatch.setattr(helpers.full_run, "full_run", lambda settings, **kw: seen.setdefault("s", settings) and {})
    helpers.full_run.main([*argv, "--evaluate-on", "val"])
    assert {key: getattr(seen["s"], key) for key in expected} == expected
