"""helpers.data: 20 Newsgroups exactly as scikit-learn loads it, from every source; own data.

No network: scikit-learn's downloader is always replaced. The real archive is unpacked once
per session into a tmp cache; it is only ever copied into pytest tmp folders.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import tarfile
import time
import zlib
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pandas as pd
import pytest
import sklearn.datasets._twenty_newsgroups as sk_news
from sklearn.datasets import fetch_20newsgroups

from helpers import _archive as archive
from helpers.data import (
    TUTORIAL_CATEGORIES,
    LabeledTexts,
    from_dataframe,
    load_csv,
    load_folder,
    load_newsgroups,
    train_val_split,
)

REAL_ARCHIVE = Path(
    os.environ.get("NEWSGROUPS_ARCHIVE")
    or archive.project_dir().parent / "shared" / "data" / "20news-bydate.tar.gz"
)
TUTORIAL_NAMES = ["alt.atheism", "comp.graphics", "sci.med", "soc.religion.christian"]
ALL_REMOVE = ("headers", "footers", "quotes")
PKZ = "20news-bydate_py3.pkz"


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No env leaks, an empty fake repo, a tmp scikit-learn home, and no network ever."""
    for var in ("NEWSGROUPS_ARCHIVE", "HELPERS_CACHE_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "sklearn_home"))
    (tmp_path / "repo" / "data").mkdir(parents=True)
    monkeypatch.setenv("HELPERS_PROJECT_DIR", str(tmp_path / "repo"))

    def no_network(**kwargs):
        raise URLError("no network in tests")

    monkeypatch.setattr(archive, "fetch_20newsgroups", no_network)


@pytest.fixture(scope="session")
def real_archive() -> Path:
    if not REAL_ARCHIVE.is_file():
        pytest.fail(f"The real corpus is needed at {REAL_ARCHIVE} (or set NEWSGROUPS_ARCHIVE).")
    return REAL_ARCHIVE


@pytest.fixture(scope="session")
def cache(tmp_path_factory, real_archive) -> Path:
    """A cache dir in which the real archive is already unpacked (once per session)."""
    cache = tmp_path_factory.mktemp("cache")
    archive._unpack(real_archive, cache)
    return cache


@pytest.fixture(scope="session")
def unpacked(cache, real_archive) -> Path:
    return archive._unpack(real_archive, cache)


@pytest.fixture(scope="session")
def sklearn_home(tmp_path_factory, real_archive) -> Path:
    """A scikit-learn data home whose .pkz scikit-learn itself built from the real archive."""
    home = tmp_path_factory.mktemp("sklearn_ref")

    def fake_fetch_remote(remote, dirname=None, n_retries=3, delay=1):
        target = Path(dirname) / remote.filename
        shutil.copy(real_archive, target)
        return target

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sk_news, "_fetch_remote", fake_fetch_remote)
        fetch_20newsgroups(data_home=home, subset="train", categories=TUTORIAL_CATEGORIES)
    assert (home / PKZ).is_file()
    return home


def reference(home: Path, **kwargs):
    """scikit-learn's own answer (offline: it reads the .pkz it wrote in `home`)."""
    return fetch_20newsgroups(data_home=home, download_if_missing=False, **kwargs)


def assert_same(ours: LabeledTexts, theirs) -> None:
    assert ours.class_names == list(theirs.target_names)
    assert ours.labels.dtype == np.int64
    np.testing.assert_array_equal(ours.labels, theirs.target)
    assert ours.texts == theirs.data


def make_tar(path: Path, members: dict[str, str | None]) -> Path:
    """A .tar.gz from {name: text}; a None text makes a directory."""
    with tarfile.open(path, "w:gz") as tar:
        for name, text in members.items():
            info = tarfile.TarInfo(name)
            if text is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755  # TarInfo's default, 0o644, locks a user out
                tar.addfile(info)
            else:
                raw = text.encode("latin-1")
                info.size = len(raw)
                tar.addfile(info, io.BytesIO(raw))
    return path


def tiny_newsgroups(path: Path) -> Path:
    """A small archive with the real layout: 2 groups x 3 posts per split."""
    members = {}
    for split in ("20news-bydate-train", "20news-bydate-test"):
        for group in ("alt.atheism", "sci.med"):
            members[f"{split}/{group}"] = None
            for i in range(3):
                members[f"{split}/{group}/{100 + i}"] = f"From: x\n\n{group} post {i} in {split}\n"
    return make_tar(path, members)


# ------------------------------------------------------------------------------ the real corpus


@pytest.mark.slow
def test_tutorial_counts_and_class_names(cache, real_archive):
    train, test = load_newsgroups(archive=real_archive, cache_dir=cache)
    assert (len(train), len(test)) == (2257, 1502)
    assert train.class_names == test.class_names == TUTORIAL_NAMES
    assert np.bincount(train.labels).tolist() == [480, 584, 594, 599]
    assert all(isinstance(t, str) and t for t in train.texts)


@pytest.mark.slow
@pytest.mark.parametrize("subset", ["train", "test"])
@pytest.mark.parametrize("remove", [(), ALL_REMOVE, ("quotes", "headers")])
def test_same_as_sklearn(cache, real_archive, sklearn_home, subset, remove):
    ours = load_newsgroups(archive=real_archive, cache_dir=cache, remove=remove)
    theirs = reference(sklearn_home, subset=subset, categories=TUTORIAL_CATEGORIES, remove=remove)
    assert_same(ours[0 if subset == "train" else 1], theirs)


@pytest.mark.slow
@pytest.mark.parametrize("kwargs", [
    dict(categories=None, random_state=7),
    dict(categories=["sci.space", "alt.atheism", "rec.autos"], shuffle=False),
])  # fmt: skip
def test_same_as_sklearn_other_options(cache, real_archive, sklearn_home, kwargs):
    _, ours = load_newsgroups(archive=real_archive, cache_dir=cache, **kwargs)
    assert_same(ours, reference(sklearn_home, subset="test", **kwargs))


# ------------------------------------------------------------------------------ where it comes from


@pytest.mark.slow
def test_explicit_archive_file(tmp_path, cache, real_archive, capsys):
    copy = Path(shutil.copy(real_archive, tmp_path / "my-copy.tar.gz"))
    assert archive._find_source(copy, cache, download=False) == copy
    train, test = load_newsgroups(archive=str(copy), cache_dir=cache)
    assert (len(train), len(test)) == (2257, 1502)
    assert "Unpacking" not in capsys.readouterr().out  # same sha256: reuses the session unpack


@pytest.mark.slow
def test_explicit_unpacked_folder(tmp_path, unpacked, sklearn_home):
    own_cache = tmp_path / "cache"
    train, _ = load_newsgroups(archive=unpacked, cache_dir=own_cache)
    assert_same(train, reference(sklearn_home, subset="train", categories=TUTORIAL_CATEGORIES))
    assert not own_cache.exists()  # read in place, nothing unpacked


@pytest.mark.slow
def test_env_var_tar_and_folder(tmp_path, monkeypatch, cache, unpacked, real_archive):
    copy = Path(shutil.copy(real_archive, tmp_path / "env.tar.gz"))
    monkeypatch.setenv("NEWSGROUPS_ARCHIVE", str(copy))
    assert archive._find_source(None, cache, download=False) == copy
    assert len(load_newsgroups(cache_dir=cache)[0]) == 2257
    monkeypatch.setenv("NEWSGROUPS_ARCHIVE", str(unpacked))
    assert archive._find_source(None, cache, download=False) == unpacked
    assert archive._find_source(copy, cache, download=False) == copy  # the argument wins


def test_explicit_path_that_is_wrong_fails_clearly(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="archive=.*nope.tar.gz"):
        load_newsgroups(archive=tmp_path / "nope.tar.gz", cache_dir=tmp_path)
    (tmp_path / "20news-bydate_py3.pkz").write_bytes(b"not an archive")
    with pytest.raises(FileNotFoundError, match="neither a 20news-bydate.tar.gz archive"):
        load_newsgroups(archive=tmp_path / "20news-bydate_py3.pkz", cache_dir=tmp_path)
    monkeypatch.setenv("NEWSGROUPS_ARCHIVE", str(tmp_path))  # a folder without the splits
    with pytest.raises(FileNotFoundError, match="NEWSGROUPS_ARCHIVE=.*20news-bydate-train"):
        load_newsgroups(cache_dir=tmp_path)


def test_repo_data_folder_comes_before_shared(tmp_path):
    repo_copy = tiny_newsgroups(tmp_path / "repo" / "data" / "20news-bydate.tar.gz")
    (tmp_path / "shared" / "data").mkdir(parents=True)
    tiny_newsgroups(tmp_path / "shared" / "data" / "20news-bydate.tar.gz")
    assert archive._find_source(None, tmp_path / "c", download=False) == repo_copy
    train, test = load_newsgroups(["alt.atheism", "sci.med"], cache_dir=tmp_path / "c")
    assert (len(train), len(test)) == (6, 6)


def test_shared_folder_next_to_repo(tmp_path):
    (tmp_path / "shared" / "data").mkdir(parents=True)
    shared = tiny_newsgroups(tmp_path / "shared" / "data" / "20news-bydate.tar.gz")
    assert archive._find_source(None, tmp_path / "c", download=False) == shared


@pytest.mark.slow
def test_real_shared_location_is_found(monkeypatch, tmp_path, real_archive):
    monkeypatch.undo()  # the real repo root
    monkeypatch.delenv("NEWSGROUPS_ARCHIVE", raising=False)
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "sklearn_home"))
    in_repo = archive.project_dir() / "data" / "20news-bydate.tar.gz"
    shared = archive.project_dir().parent / "shared" / "data" / "20news-bydate.tar.gz"
    expected = in_repo if in_repo.is_file() else shared  # data/ would come first
    assert expected.is_file()
    assert archive._find_source(None, tmp_path / "c", download=False) == expected


@pytest.mark.slow
def test_downloader_then_trusted_pkz(tmp_path, monkeypatch, sklearn_home):
    calls = []

    def fake_fetch(subset, data_home, **kwargs):  # what an online download leaves behind
        calls.append(subset)
        shutil.copy(sklearn_home / PKZ, Path(data_home) / PKZ)

    monkeypatch.setattr(archive, "fetch_20newsgroups", fake_fetch)
    train, _ = load_newsgroups(cache_dir=tmp_path / "c")
    assert calls == ["all"]
    expected = reference(sklearn_home, subset="train", categories=TUTORIAL_CATEGORIES)
    assert_same(train, expected)
    record = json.loads((tmp_path / "c" / archive._PKZ_RECORD).read_text())
    assert record["path"] == str(tmp_path / "sklearn_home" / PKZ)

    # Next time the recorded .pkz is used: no download, nothing unpacked.
    train, _ = load_newsgroups(cache_dir=tmp_path / "c")
    assert calls == ["all"]
    assert_same(train, expected)

    # Changed afterwards: no longer trusted, so ignored.
    with open(tmp_path / "sklearn_home" / PKZ, "ab") as f:
        f.write(b"tampered")
    with pytest.raises(FileNotFoundError, match="ignored and never unpickled"):
        load_newsgroups(cache_dir=tmp_path / "c")
    assert calls == ["all"]


def test_untrusted_pkz_is_never_unpickled(tmp_path, monkeypatch):
    flag = tmp_path / "unpickled.flag"

    class Trap:
        def __reduce__(self):
            return (Path.touch, (flag,))

    trap = zlib.compress(pickle.dumps({"train": Trap()}))
    pickle.loads(zlib.decompress(trap))  # the trap works...
    assert flag.exists()
    flag.unlink()

    pkz = tmp_path / "sklearn_home" / PKZ
    pkz.parent.mkdir()
    pkz.write_bytes(trap)
    fetched = []
    monkeypatch.setattr(archive, "fetch_20newsgroups", lambda **kw: fetched.append(kw))
    cache = tmp_path / "c"
    cache.mkdir()
    (cache / archive._PKZ_RECORD).write_text(json.dumps({"path": str(pkz), "sha256": "0" * 64}))
    with pytest.raises(FileNotFoundError, match="ignored and never unpickled") as err:
        load_newsgroups(cache_dir=cache)
    assert str(pkz) in str(err.value)
    assert not flag.exists()  # ...but it was never unpickled
    assert fetched == []  # fetch_20newsgroups would unpickle it: not called either


def test_offline_error_says_where_to_put_the_archive(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        load_newsgroups(cache_dir=tmp_path / "c")
    message = str(err.value)
    for part in ("data/20news-bydate.tar.gz", "NEWSGROUPS_ARCHIVE=", "14 MB",
                 "downloader failed: <urlopen error no network in tests>",
                 str(tmp_path / "repo" / "data" / "20news-bydate.tar.gz"),
                 str(tmp_path / "shared" / "data" / "20news-bydate.tar.gz")):
        assert part in message
    with pytest.raises(FileNotFoundError, match="download=False"):
        load_newsgroups(cache_dir=tmp_path / "c", download=False)


def test_downloader_only_network_errors_are_caught(tmp_path, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("a bug, not the network")

    monkeypatch.setattr(archive, "fetch_20newsgroups", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        load_newsgroups(cache_dir=tmp_path / "c")


def test_bad_categories_and_remove(tmp_path):
    with pytest.raises(ValueError, match="Unknown newsgroups \\['sci.meds'\\].*sci.med"):
        load_newsgroups(["sci.meds"], cache_dir=tmp_path)
    with pytest.raises(ValueError, match="list of names"):
        load_newsgroups("sci.med", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="repeats"):
        load_newsgroups(["sci.med", "sci.med"], cache_dir=tmp_path)
    with pytest.raises(ValueError, match="remove must be"):
        load_newsgroups(remove="headers", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="remove must be"):
        load_newsgroups(remove=("signatures",), cache_dir=tmp_path)


# ------------------------------------------------------------------------------ unpacking


def test_unpacks_once(tmp_path, monkeypatch, capsys):
    archive = tiny_newsgroups(tmp_path / "tiny.tar.gz")
    first = load_newsgroups(["sci.med", "alt.atheism"], archive=archive, cache_dir=tmp_path / "c")
    assert "Unpacking" in capsys.readouterr().out
    [target] = (tmp_path / "c").glob("20news-*")
    marker_mtime = (target / ".complete").stat().st_mtime_ns

    def no_extract(*args, **kwargs):
        raise AssertionError("unpacked a second time")

    monkeypatch.setattr(tarfile.TarFile, "extractall", no_extract)
    time.sleep(0.01)
    second = load_newsgroups(["sci.med", "alt.atheism"], archive=archive, cache_dir=tmp_path / "c")
    assert "Unpacking" not in capsys.readouterr().out
    assert (target / ".complete").stat().st_mtime_ns == marker_mtime
    assert first[0].texts == second[0].texts and len(first[0]) == 6
    assert [p.name for p in (tmp_path / "c").iterdir() if p.is_dir()] == [target.name]


def test_half_finished_unpack_is_redone(tmp_path, capsys):
    archive = tiny_newsgroups(tmp_path / "tiny.tar.gz")
    load_newsgroups(["sci.med", "alt.atheism"], archive=archive, cache_dir=tmp_path / "c")
    [target] = (tmp_path / "c").glob("20news-*")
    (target / ".complete").unlink()  # as if interrupted before the marker
    shutil.rmtree(target / "20news-bydate-test" / "sci.med")
    capsys.readouterr()
    _, test = load_newsgroups(["sci.med", "alt.atheism"], archive=archive, cache_dir=tmp_path / "c")
    assert "Unpacking" in capsys.readouterr().out
    assert len(test) == 6 and (target / ".complete").exists()
    assert not list((tmp_path / "c").glob("*.partial-*"))


@pytest.mark.parametrize("kind", ["dotdot", None])
def test_a_python_without_tar_filters_unpacks_and_refuses_the_same(tmp_path, monkeypatch, kind):
    """Python before 3.11.4 (Debian 12's 3.11.2) has no ``tarfile.data_filter`` and no ``filter=``."""
    monkeypatch.delattr(tarfile, "data_filter", raising=False)
    extractall = tarfile.TarFile.extractall

    def old_extractall(self, path=".", members=None, *, numeric_owner=False, **filter_too_new):
        if filter_too_new:
            raise TypeError("TarFile.extractall() got an unexpected keyword argument 'filter'")
        return extractall(self, path, members, numeric_owner=numeric_owner)

    monkeypatch.setattr(tarfile.TarFile, "extractall", old_extractall)
    archive = tiny_newsgroups(tmp_path / "tiny.tar.gz")
    if kind:
        with tarfile.open(archive, "r:gz") as tar:
            members = [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar]
        with tarfile.open(archive, "w:gz") as tar:
            for member, content in members:
                tar.addfile(member, io.BytesIO(content) if content is not None else None)
            info = tarfile.TarInfo("../evil.txt")
            info.size = 5
            tar.addfile(info, io.BytesIO(b"pwned"))
        with pytest.raises(ValueError, match="unsafe member '../evil.txt'"):
            load_newsgroups(["sci.med", "alt.atheism"], archive=archive, cache_dir=tmp_path / "c")
        assert not (tmp_path / "evil.txt").exists()
    else:
        _, test = load_newsgroups(["sci.med", "alt.atheism"], archive=archive, cache_dir=tmp_path / "c")
        assert len(test) == 6


def test_archive_without_the_splits_is_refused(tmp_path):
    archive = make_tar(tmp_path / "other.tar.gz", {"notes/readme.txt": "hello"})
    with pytest.raises(ValueError, match="does not hold 20news-bydate-train"):
        load_newsgroups(archive=archive, cache_dir=tmp_path / "c")
    assert not list((tmp_path / "c").glob("20news-*"))


@pytest.mark.parametrize("kind", ["dotdot", "nested_dotdot", "absolute", "symlink", "hardlink"])
def test_malicious_archive_is_refused(tmp_path, kind):
    outside = tmp_path / "outside"
    outside.mkdir()
    archive = tiny_newsgroups(tmp_path / "evil.tar.gz")
    with tarfile.open(archive, "r:gz") as tar:  # rewrite it with one bad member added
        members = [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar]
    bad = {
        "dotdot": "../evil.txt",
        "nested_dotdot": "20news-bydate-train/sci.med/../../../evil.txt",
        "absolute": str(outside / "evil.txt"),
        "symlink": "20news-bydate-train/sci.med/evil-link",
        "hardlink": "20news-bydate-train/sci.med/evil-hardlink",
    }[kind]
    info = tarfile.TarInfo(bad)
    payload = b"pwned"
    if kind == "symlink":
        info.type, info.linkname, payload = tarfile.SYMTYPE, str(outside / "evil.txt"), None
    elif kind == "hardlink":
        info.type, info.linkname, payload = tarfile.LNKTYPE, "/etc/passwd", None
    else:
        info.size = len(payload)
    with tarfile.open(archive, "w:gz") as tar:
        for member, content in members:
            tar.addfile(member, io.BytesIO(content) if content is not None else None)
        tar.addfile(info, io.BytesIO(payload) if payload is not None else None)

    cache = tmp_path / "deep" / "er" / "cache"
    with pytest.raises(ValueError, match=f"unsafe member '{bad}'"):
        load_newsgroups(["sci.med", "alt.atheism"], archive=archive, cache_dir=cache)
    assert list(outside.iterdir()) == []
    written = [p for p in tmp_path.rglob("*") if "evil" in p.name and p != archive]
    assert written == []
    assert not [p for p in cache.iterdir() if p.is_dir()]  # no target, no partial folder


# ------------------------------------------------------------------------------ your own data


def test_labeled_texts_validates():
    data_ = LabeledTexts(("a", "b"), [0, 1], ("x", "y"))
    assert len(data_) == 2 and data_.labels.dtype == np.int64 and data_.texts == ["a", "b"]
    assert "2 texts" in repr(data_)
    with pytest.raises(ValueError, match="2 texts but 1 labels"):
        LabeledTexts(["a", "b"], np.array([0]), ["x", "y"])
    with pytest.raises(ValueError, match="labels must be in 0..1"):
        LabeledTexts(["a", "b"], np.array([0, 2]), ["x", "y"])
    with pytest.raises(ValueError, match="integers"):
        LabeledTexts(["a", "b"], np.array([0.0, 1.0]), ["x", "y"])
    with pytest.raises(AttributeError):
        data_.texts = []  # frozen


def test_from_dataframe_string_labels():
    df = pd.DataFrame({"text": ["a", "b", "c", "d"], "label": ["pos", "neg", "pos", "mid"]})
    result = from_dataframe(df)
    assert result.class_names == ["mid", "neg", "pos"]
    assert result.labels.tolist() == [2, 1, 2, 0]
    ordered = from_dataframe(df, class_names=["neg", "mid", "pos", "unused"])
    assert ordered.labels.tolist() == [2, 0, 2, 1]
    with pytest.raises(ValueError, match=r"labels \['pos'\] are not in class_names"):
        from_dataframe(df, class_names=["neg", "mid"])


def test_from_dataframe_integer_labels_need_class_names():
    df = pd.DataFrame({"review": ["good", "bad", "ok"], "stars": [1, 0, 1]})
    with pytest.raises(ValueError, match=r"pass class_names=\["):
        from_dataframe(df, "review", "stars")
    result = from_dataframe(df, "review", "stars", class_names=["neg", "pos"])
    assert result.labels.tolist() == [1, 0, 1] and result.class_names == ["neg", "pos"]
    with pytest.raises(ValueError, match=r"labels \[-1\] are outside 0..1"):
        from_dataframe(df.assign(stars=[1, -1, 0]), "review", "stars", class_names=["neg", "pos"])
    with pytest.raises(ValueError, match="at least two different names"):
        from_dataframe(df, "review", "stars", class_names=["only"])
    with pytest.raises(ValueError, match=r"labels \[5\] are outside 0..1"):
        from_dataframe(df.assign(stars=[5, 0, 1]), "review", "stars", class_names=["neg", "pos"])


@pytest.mark.parametrize("labels, match", [
    (["a", None, "b", float("nan")], r"labels are missing at rows \[1, 3\]"),
    (["a", "a", "a", "a"], "at least two classes"),
    (["a", 1, "b", 2], "all strings or all integers"),
    ([True, False, True, False], "all strings or all integers"),
])  # fmt: skip
def test_label_errors(labels, match):
    df = pd.DataFrame({"text": ["w", "x", "y", "z"], "label": labels})
    with pytest.raises(ValueError, match=match):
        from_dataframe(df)


@pytest.mark.parametrize("bad_text", [None, float("nan"), 42, "", "   \n"])
def test_bad_texts_are_named(bad_text):
    df = pd.DataFrame({"text": ["ok", bad_text, "fine", bad_text], "label": ["a", "b", "a", "b"]})
    with pytest.raises(ValueError, match=r"2 texts are missing, .* at rows \[1, 3\]"):
        from_dataframe(df)


def test_load_csv(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text('review,sentiment\n"Great, really great",pos\nDull,neg\n"Meh\nreally",neg\n')
    result = load_csv(path, text_column="review", label_column="sentiment")
    assert result.texts == ["Great, really great", "Dull", "Meh\nreally"]
    assert result.class_names == ["neg", "pos"] and result.labels.tolist() == [1, 0, 0]
    with pytest.raises(ValueError, match=r"no column 'text'; found columns \['review', 'sent"):
        load_csv(path)
    with pytest.raises(FileNotFoundError, match="No CSV file"):
        load_csv(tmp_path / "missing.csv")


def test_load_csv_names_rows_with_a_missing_text_or_label(tmp_path):
    """Encoding, ragged rows and the other CSV mistakes: tests/test_bad_input.py."""
    gaps = tmp_path / "gaps.csv"
    gaps.write_text("text,label\nfine,a\n,b\nok,\n")
    with pytest.raises(ValueError, match=r"at data rows \[2\]"):
        load_csv(gaps)


def test_load_folder(tmp_path):
    for name, texts in {"pos": ["great", "superb"], "neg": ["awful"]}.items():
        (tmp_path / "reviews" / name).mkdir(parents=True)
        for i, text in enumerate(texts):
            (tmp_path / "reviews" / name / f"{i}.txt").write_text(text)
    (tmp_path / "reviews" / "pos" / ".DS_Store").write_text("junk")
    result = load_folder(tmp_path / "reviews")
    assert result.class_names == ["neg", "pos"]
    assert result.texts == ["awful", "great", "superb"] and result.labels.tolist() == [0, 1, 1]

    (tmp_path / "reviews" / "neg" / "empty.txt").write_text("  ")
    with pytest.raises(ValueError, match=r"files \['neg/empty.txt'\]"):
        load_folder(tmp_path / "reviews")
    (tmp_path / "reviews" / "neg" / "empty.txt").write_bytes("café".encode("latin-1"))
    with pytest.raises(ValueError, match="encoding="):
        load_folder(tmp_path / "reviews")
    assert "café" in load_folder(tmp_path / "reviews", encoding="latin-1").texts
    shutil.rmtree(tmp_path / "reviews" / "neg")
    with pytest.raises(ValueError, match="one subfolder per class"):
        load_folder(tmp_path / "reviews")
    with pytest.raises(FileNotFoundError):
        load_folder(tmp_path / "nowhere")


# ------------------------------------------------------------------------------ splitting


def test_train_val_split_is_stratified():
    counts = {0: 300, 1: 100, 2: 40}
    labels = np.repeat(list(counts), list(counts.values()))
    full = LabeledTexts([f"text {i}" for i in range(len(labels))], labels, ["a", "b", "c"])
    train, val = train_val_split(full, val_size=0.1, seed=0)
    assert len(val) == 44 and len(train) == 396
    assert np.bincount(val.labels).tolist() == [30, 10, 4]
    assert set(train.texts).isdisjoint(val.texts)
    assert sorted(train.texts + val.texts) == sorted(full.texts)
    for part in (train, val):
        assert part.class_names == full.class_names
        assert all(full.labels[int(t.split()[1])] == y for t, y in zip(part.texts, part.labels))
    again, _ = train_val_split(full, val_size=0.1, seed=0)
    assert again.texts == train.texts
    assert train_val_split(full, val_size=0.1, seed=1)[0].texts != train.texts
