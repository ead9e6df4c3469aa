"""labkit.lessondata: the lesson dataset of each profile."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from labkit import cifar, lessondata, shapes
from labkit.config import FULL, QUICK


def test_load_lesson_data_quick_sizes_and_determinism(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_CACHE_DIR", str(tmp_path))
    profile = dataclasses.replace(QUICK, n_train=50, n_val=20, n_test=20)
    d = lessondata.load_lesson_data(profile, seed=0)
    assert (len(d.x_train), len(d.x_val), len(d.x_test)) == (50, 20, 20)
    assert len(d.y_train) == 50 and len(d.y_val) == 20 and len(d.y_test) == 20
    assert d.x_train.shape[1:] == (32, 32, 3) and d.x_train.dtype == np.uint8
    assert d.class_names == tuple(shapes.class_names()) and d.n_classes == 10
    assert d.describe().endswith("50 train / 20 val / 20 test images, 32x32, 10 classes")
    again = lessondata.load_lesson_data(profile, seed=0)
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(d, name), getattr(again, name))
    other = lessondata.load_lesson_data(profile, seed=1)
    assert not np.array_equal(d.x_train, other.x_train)
    train_images = {img.tobytes() for img in d.x_train}
    assert not any(img.tobytes() in train_images for img in d.x_test)  # own seed for test


def test_load_lesson_data_full_profile_on_cifar_fixture(tmp_path, monkeypatch):
    """The full profile's code path, with a tiny CIFAR-10 in the real on-disk format."""
    cifar.write_fixture(tmp_path, n_per_batch=20)  # 100 train, 20 test images
    monkeypatch.setenv("LABKIT_DATA_DIR", str(tmp_path))
    profile = dataclasses.replace(FULL, n_train=40, n_val=10, n_test=10)
    d = lessondata.load_lesson_data(profile, seed=0)
    assert d.class_names == cifar.CIFAR10_CLASSES and d.source == "CIFAR-10 (real)"
    assert (len(d.x_train), len(d.x_val), len(d.x_test)) == (40, 10, 10)
    assert d.x_train.shape[1:] == (32, 32, 3) and d.x_train.dtype == np.uint8
    # stratified: every class keeps its share in every split
    assert np.bincount(d.y_train, minlength=10).tolist() == [4] * 10
    assert np.bincount(d.y_val, minlength=10).tolist() == [1] * 10
    assert np.bincount(d.y_test, minlength=10).tolist() == [1] * 10


def test_load_lesson_data_unknown_dataset():
    with pytest.raises(ValueError, match="unknown dataset 'mnist'.*shapes, cifar10"):
        lessondata.load_lesson_data(dataclasses.replace(QUICK, dataset="mnist"))


def test_pooled_by_class_sorts_train_and_val_together(tiny_data):
    x, y = tiny_data.pooled_by_class()
    pooled = np.concatenate([tiny_data.y_train, tiny_data.y_val])
    assert x.shape == (len(pooled), 16, 16, 3) and (np.diff(y) >= 0).all()
    assert sorted(y.tolist()) == sorted(pooled.tolist())
