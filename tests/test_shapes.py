"""labkit.shapes: the offline synthetic dataset (shapes, determinism, cache, errors, colour)."""

from __future__ import annotations

import numpy as np
import pytest

from labkit import shapes


@pytest.mark.parametrize(("task", "n", "size", "n_classes"), [
    ("target", 30, 16, 10),
    ("source", 26, 24, 13),
])
def test_generate_shape_dtype_and_balanced_labels(task, n, size, n_classes):
    x, y = shapes.generate(n, size, seed=1, task=task)
    assert x.shape == (n, size, size, 3) and x.dtype == np.uint8
    assert y.shape == (n,) and y.dtype == np.int64
    counts = np.bincount(y, minlength=n_classes)
    assert len(counts) == n_classes
    assert counts.max() - counts.min() <= 1  # balanced: n % classes spread one each


def test_generate_default_sizes_per_task():
    assert shapes.generate(2, task="target")[0].shape[1:] == (32, 32, 3)
    assert shapes.generate(2, task="source")[0].shape[1:] == (64, 64, 3)


def test_generate_zero_images():
    x, y = shapes.generate(0, 8)
    assert x.shape == (0, 8, 8, 3) and y.shape == (0,)


def test_same_seed_same_arrays_different_seed_different():
    x1, y1 = shapes.generate(20, 12, seed=3)
    x2, y2 = shapes.generate(20, 12, seed=3)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    x3, _ = shapes.generate(20, 12, seed=4)
    assert not np.array_equal(x1, x3)


def test_class_names_lengths_and_disjoint():
    target, source = shapes.class_names("target"), shapes.class_names("source")
    assert len(target) == 10 and len(source) == 13
    assert len(set(target)) == 10 and len(set(source)) == 13
    assert not set(target) & set(source)
    assert shapes.class_names() == target


def test_make_shapes_caches_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_CACHE_DIR", str(tmp_path))
    assert shapes.cache_dir() == tmp_path
    x1, y1 = shapes.make_shapes(12, 8, seed=5)
    files = list(tmp_path.glob("*.npz"))
    assert len(files) == 1 and "n12" in files[0].name and "s8" in files[0].name
    assert not list(tmp_path.glob("*.tmp*"))

    def fail(*args, **kwargs):
        raise AssertionError("second call must load the cached file, not regenerate")

    monkeypatch.setattr(shapes, "generate", fail)
    x2, y2 = shapes.make_shapes(12, 8, seed=5)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert x2.dtype == np.uint8 and y2.dtype == np.int64


def test_make_shapes_without_cache_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_CACHE_DIR", str(tmp_path))
    x, _ = shapes.make_shapes(4, 8, seed=0, cache=False)
    assert x.shape == (4, 8, 8, 3)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(("kwargs", "pattern"), [
    ({"n": -1}, r"^n must be a non-negative integer, got -1"),
    ({"n": 2.5}, r"^n must be a non-negative integer, got 2\.5"),
    ({"n": 4, "size": 7}, r"^size must be an integer >= 8.*got 7"),
    ({"n": 4, "task": "nope"}, r"task 'nope'.*valid tasks: target, source"),
])
def test_bad_arguments_raise_value_error_naming_them(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        shapes.generate(**kwargs)


def test_make_shapes_unknown_task_raises(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_CACHE_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="task"):
        shapes.make_shapes(4, 8, task="nope")
    assert not list(tmp_path.iterdir())


def test_images_are_not_trivial():
    x, _ = shapes.generate(40, 16, seed=0)
    assert x.std() > 20  # background, clutter, object and noise give real contrast
    per_image_std = x.reshape(len(x), -1).std(axis=1)
    assert per_image_std.min() > 5  # no constant images
    assert len({img.tobytes() for img in x}) == len(x)  # no duplicates


def test_colour_pairs_differ_by_channel_order():
    """Lessons on channel order rely on red/blue (and yellow/cyan) being RGB<->BGR partners."""
    x, y = shapes.generate(200, 16, seed=0)
    names = shapes.class_names()

    def mean_rgb(name):
        return x[y == names.index(name)].reshape(-1, 3).mean(axis=0)

    red, blue = mean_rgb("red_disc"), mean_rgb("blue_disc")
    assert red[0] > red[2] + 10
    assert blue[2] > blue[0] + 10
    yellow, cyan = mean_rgb("yellow_square"), mean_rgb("cyan_square")
    assert yellow[0] > yellow[2] and cyan[2] > cyan[0]
