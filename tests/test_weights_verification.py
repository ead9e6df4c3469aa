"""Shipped weights are checked against their recorded SHA-256 when loaded; damaged weight files
and bad input shapes name the file or argument and the fix (issue 17).

The shipped files are never modified: each test copies them to tmp and points
``models.WEIGHTS_DIR`` at the copy.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from labkit import models, source_task  # noqa: E402

FIX = "python -m labkit.dev.pretrain --backbone minivgg"


@pytest.fixture
def weights_copy(tmp_path, monkeypatch):
    copy = tmp_path / "weights"
    shutil.copytree(models.WEIGHTS_DIR, copy)
    monkeypatch.setattr(models, "WEIGHTS_DIR", copy)
    return copy


def test_intact_copy_is_verified_and_loads(weights_copy):
    assert models.verify_shipped_weights("minivgg") == weights_copy / "minivgg_source.weights.h5"
    base, _ = models.backbone("minivgg", input_shape=(32, 32, 3))
    assert all(np.isfinite(w).all() for w in base.get_weights())


def test_one_nan_kernel_is_refused_naming_the_file_and_the_fix(weights_copy):
    import h5py

    path = models.shipped_weights("minivgg")
    with h5py.File(path, "r+") as f:
        kernels = []
        f.visititems(lambda name, obj: kernels.append(name)
                     if isinstance(obj, h5py.Dataset) and obj.ndim == 4 else None)
        f[kernels[0]][0, 0, 0, 0] = np.nan
    with pytest.raises(models.WeightsFileError) as info:
        models.backbone("minivgg", input_shape=(32, 32, 3))
    msg = str(info.value)
    assert str(path) in msg and "SHA-256" in msg and FIX in msg and "git checkout" in msg
    recorded = json.loads(models.shipped_record("minivgg").read_text())["sha256"]
    assert recorded in msg


@pytest.mark.parametrize(("damage", "fragment"), [
    (lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), "is not the shipped one"),
    (lambda p: p.write_bytes(b""), "is empty"),
    (lambda p: p.unlink(), "not found"),
])
def test_truncated_empty_or_missing_shipped_file_names_it(weights_copy, damage, fragment):
    path = models.shipped_weights("minivgg_bn")
    damage(path)
    with pytest.raises((models.WeightsFileError, FileNotFoundError)) as info:
        models.backbone("minivgg_bn", input_shape=(32, 32, 3))
    assert str(path) in str(info.value) and fragment in str(info.value)


def test_missing_record_is_named(weights_copy):
    record = models.shipped_record("minivgg")
    record.unlink()
    with pytest.raises(FileNotFoundError) as info:
        models.verify_shipped_weights("minivgg")
    assert str(record) in str(info.value) and FIX in str(info.value)


def test_own_weights_file_truncated_or_renamed_names_it(weights_copy, tmp_path):
    own = tmp_path / "mine.weights.h5"
    own.write_bytes(models.shipped_weights("minivgg").read_bytes()[:5000])
    with pytest.raises(models.WeightsFileError, match="cannot load minivgg weights") as info:
        models.backbone("minivgg", weights=own)
    assert str(own) in str(info.value)
    renamed = tmp_path / "mine.weights.h5.bak"
    shutil.copy(models.shipped_weights("minivgg"), renamed)
    with pytest.raises(models.WeightsFileError, match=r"does not end in \.weights\.h5") as info:
        models.backbone("minivgg", weights=renamed)
    assert str(renamed) in str(info.value) and "mine.weights.h5" in str(info.value)


def test_damaged_source_head_names_the_file(weights_copy):
    head = models.source_head_file("minivgg")
    head.write_bytes(head.read_bytes()[:100])
    with pytest.raises(models.WeightsFileError) as info:
        source_task.load_source_head("minivgg")
    assert str(head) in str(info.value) and FIX in str(info.value)


@pytest.mark.parametrize("name", ["vgg16", "resnet50"])
@pytest.mark.parametrize(("shape", "fragment"), [
    ((16, 16, 3), "too small"),
    ((32, 32, 1), "1 channels"),
    ((32, 32), "three ints"),
    (("a", 32, 3), "three ints"),
])
def test_bad_input_shape_is_not_called_no_internet(monkeypatch, name, shape, fragment):
    def must_not_download(**kwargs):
        raise AssertionError("the shape is checked before Keras is asked")

    app = models.KERAS_APPLICATIONS[name][0]
    monkeypatch.setattr(keras.applications, app, must_not_download)
    with pytest.raises(ValueError) as info:
        models.backbone(name, input_shape=shape)
    msg = str(info.value)
    assert "internet" not in msg and "input_shape" in msg and fragment in msg
    assert repr(shape) in msg or "three ints" in msg


def test_keras_argument_errors_are_not_called_no_internet(monkeypatch):
    def refuses(**kwargs):
        raise ValueError("Input size must be at least 32x32")

    monkeypatch.setattr(keras.applications, "ResNet50", refuses)
    with pytest.raises(ValueError, match="refused by Keras: Input size") as info:
        models.backbone("resnet50", input_shape=(40, 40, 3))
    assert "internet" not in str(info.value)


def test_minivgg_bad_input_shape_names_it():
    with pytest.raises(ValueError, match=r"input_shape=\(8, 8, 3\) is too small"):
        models.backbone("minivgg", input_shape=(8, 8, 3))
    model, _ = models.backbone("minivgg", weights=None, input_shape=(32, 32, 1))  # no weights
    assert model.input_shape == (None, 32, 32, 1)
    model, _ = models.backbone("minivgg", input_shape=(None, None, 3))  # any size still works
    assert model.input_shape == (None, None, None, 3)
