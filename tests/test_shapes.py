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


# ---- hardening (issue 17): the cache heals itself, never collides, and names bad folders ----
def _cached_file(tmp_path):
    files = list(tmp_path.glob("shapes-*.npz"))
    assert len(files) == 1
    return files[0]


@pytest.mark.parametrize("damage", [
    lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),  # truncated
    lambda p: p.write_bytes(b""),  # empty
    lambda p: p.write_bytes(b"PK\x03\x04 damaged" * 10),  # damaged zip
    lambda p: np.savez(p.with_suffix(""), x=np.zeros((12, 8, 8, 3), np.uint8)),  # no y
    lambda p: np.savez(p.with_suffix(""), x=np.zeros((3, 8, 8, 3), np.uint8),
                       y=np.zeros(3, np.int64)),  # wrong shape
    lambda p: np.savez(p.with_suffix(""), x=np.zeros((12, 8, 8, 3), np.float32),
                       y=np.zeros(12, np.int64)),  # wrong dtype
    lambda p: np.savez(p.with_suffix(""), x=np.zeros((12, 8, 8, 3), np.uint8),
                       y=np.full(12, 99, np.int64)),  # labels out of range
])
def test_damaged_cache_file_is_regenerated_with_a_note(tmp_path, monkeypatch, damage):
    monkeypatch.setenv("LABKIT_CACHE_DIR", str(tmp_path))
    x1, y1 = shapes.make_shapes(12, 8, seed=5)
    path = _cached_file(tmp_path)
    damage(path)
    with pytest.warns(UserWarning, match=r"cache file .* is damaged .*regenerating") as record:
        x2, y2 = shapes.make_shapes(12, 8, seed=5)
    assert str(path) in str(record[0].message)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    x3, _ = shapes.make_shapes(12, 8, seed=5)  # healed: read back without a warning
    np.testing.assert_array_equal(x1, x3)
    assert not list(tmp_path.glob("*.tmp"))


CONCURRENT = """
import sys, time
import numpy as np
from labkit import shapes
start = float(sys.argv[1])
while time.time() < start:
    time.sleep(0.005)
x, y = shapes.make_shapes(600, 32, seed=3)
print(int(x.astype(np.int64).sum()), int(y.sum()))
"""


def test_concurrent_processes_filling_the_cache_do_not_collide(tmp_path):
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "LABKIT_CACHE_DIR": str(tmp_path), "PYTHONPATH": str(root)}
    start = time.time() + 3  # all of them import first, then fill the cache at once
    procs = [subprocess.Popen([sys.executable, "-c", CONCURRENT, str(start)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(6)]
    results = [p.communicate(timeout=120) for p in procs]
    failed = [err for p, (_, err) in zip(procs, results, strict=True) if p.returncode]
    assert not failed, failed[0][-2000:]
    assert len({out for out, _ in results}) == 1  # every process got the same dataset
    _cached_file(tmp_path)
    assert not list(tmp_path.glob("*.tmp"))
    x, _ = shapes.generate(600, 32, seed=3)
    assert results[0][0].split()[0] == str(int(x.astype(np.int64).sum()))


def test_cache_dir_that_is_a_file_is_named_before_any_work(tmp_path, monkeypatch):
    not_a_folder = tmp_path / "cache.txt"
    not_a_folder.write_text("oops")
    monkeypatch.setenv("LABKIT_CACHE_DIR", str(not_a_folder))
    monkeypatch.setattr(shapes, "generate", lambda *a, **k: pytest.fail("generated first"))
    with pytest.raises(shapes.CacheDirError) as info:
        shapes.make_shapes(12, 8, seed=5)
    msg = str(info.value)
    assert f"$LABKIT_CACHE_DIR={not_a_folder}" in msg and "is a file" in msg
    assert "cache=False" in msg


def test_read_only_cache_dir_is_named_before_any_work(tmp_path, monkeypatch):
    import os

    folder = tmp_path / "ro"
    folder.mkdir()
    monkeypatch.setenv("LABKIT_CACHE_DIR", str(folder))
    monkeypatch.setattr(shapes, "generate", lambda *a, **k: pytest.fail("generated first"))
    if os.geteuid() == 0:  # root writes anywhere: simulate the read-only folder
        def read_only(*args, **kwargs):
            raise PermissionError(13, "Permission denied")
        monkeypatch.setattr(shapes.tempfile, "mkstemp", read_only)
    else:
        folder.chmod(0o555)
    try:
        with pytest.raises(shapes.CacheDirError, match="cannot be written") as info:
            shapes.make_shapes(12, 8, seed=5)
    finally:
        folder.chmod(0o755)
    assert str(folder) in str(info.value)


@pytest.mark.parametrize("call", [
    lambda: shapes.generate(10**6, 1024),  # 2.9 TiB
    lambda: shapes.make_shapes(10**7, 64, cache=False),
    lambda: shapes.make_shapes(10**6, 1024),
])
def test_huge_requests_are_refused_before_allocating(tmp_path, monkeypatch, call):
    import tracemalloc

    from labkit import splits

    monkeypatch.setenv("LABKIT_CACHE_DIR", str(tmp_path))
    tracemalloc.start()
    try:
        with pytest.raises(splits.TooLargeError, match=r"needs [\d.]+ GiB of memory"):
            call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * 2**20
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(("kwargs", "pattern"), [
    ({"n": True}, "n must be"),
    ({"n": 4, "seed": -1}, "seed must be a non-negative int"),
    ({"n": 4, "seed": "abc"}, "seed must be"),
    ({"n": 4, "seed": 1.5}, "seed must be"),
])
def test_more_bad_arguments_name_them(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        shapes.generate(**kwargs)


def test_the_cache_file_name_changes_with_the_class_list(tmp_path, monkeypatch):
    import dataclasses

    monkeypatch.setenv("LABKIT_CACHE_DIR", str(tmp_path))
    shapes.make_shapes(4, 16, seed=1, task="source")
    recoloured = list(shapes.SOURCE_CLASSES)
    recoloured[-1] = dataclasses.replace(recoloured[-1], colour=(0.1, 0.2, 0.3))
    monkeypatch.setitem(shapes.TASKS, "source", tuple(recoloured))
    shapes.make_shapes(4, 16, seed=1, task="source")  # a new file, not the stale one
    assert len(list(tmp_path.glob("shapes-*-source-c*.npz"))) == 2
