"""labkit.cifar reads CIFAR-10's real on-disk format (a tiny fixture, no download)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from labkit import cifar

N = 4  # images per batch in the fixture


@pytest.fixture
def no_env(monkeypatch, tmp_path):
    """No LABKIT_DATA_DIR, and an empty Keras home, so nothing real is found by accident."""
    monkeypatch.delenv(cifar.DATA_ENV, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))


def _raw(folder, name):
    with open(folder / name, "rb") as f:
        return pickle.load(f, encoding="bytes")


def _check(data, folder):
    (x_tr, y_tr), (x_te, y_te) = data
    assert x_tr.shape == (5 * N, 32, 32, 3) and x_te.shape == (N, 32, 32, 3)
    assert x_tr.dtype == np.uint8 and x_te.dtype == np.uint8
    assert y_tr.dtype == np.int64 and y_te.dtype == np.int64
    assert y_tr.shape == (5 * N,) and y_te.shape == (N,)
    raw = _raw(folder, "data_batch_2")
    np.testing.assert_array_equal(y_tr[N:2 * N], raw[b"labels"])
    # Channels-first rows: red plane, green plane, blue plane, each row-major 32x32.
    row, img = raw[b"data"][1], x_tr[N + 1]
    assert img[0, 0, 0] == row[0] and img[0, 0, 1] == row[1024] and img[0, 0, 2] == row[2048]
    assert img[0, 1, 0] == row[1] and img[1, 0, 0] == row[32] and img[31, 31, 2] == row[3071]
    np.testing.assert_array_equal(img.transpose(2, 0, 1).reshape(-1), row)
    raw_test = _raw(folder, "test_batch")
    np.testing.assert_array_equal(x_te.transpose(0, 3, 1, 2).reshape(N, -1), raw_test[b"data"])


def test_fixture_is_the_real_format(tmp_path):
    folder = cifar.write_fixture(tmp_path, n_per_batch=N)
    assert folder == tmp_path / "cifar-10-batches-py"
    batch = _raw(folder, "data_batch_1")
    assert set(batch) == {b"batch_label", b"labels", b"data", b"filenames"}
    assert batch[b"data"].shape == (N, 3072) and batch[b"data"].dtype == np.uint8
    assert isinstance(batch[b"labels"], list) and len(batch[b"filenames"]) == N
    meta = _raw(folder, "batches.meta")
    assert [n.decode() for n in meta[b"label_names"]] == list(cifar.CLASS_NAMES)
    assert cifar.read_class_names(folder) == cifar.CLASS_NAMES == cifar.CIFAR10_CLASSES


def test_load_via_data_dir(tmp_path, no_env):
    folder = cifar.write_fixture(tmp_path, n_per_batch=N)
    _check(cifar.load_cifar10(data_dir=tmp_path, download=False), folder)
    _check(cifar.load_cifar10(data_dir=folder, download=False), folder)  # the folder itself


def test_load_via_env(tmp_path, monkeypatch):
    folder = cifar.write_fixture(tmp_path, n_per_batch=N)
    monkeypatch.setenv(cifar.DATA_ENV, str(tmp_path))
    assert cifar.find_cifar10(download=False) == folder
    _check(cifar.load_cifar10(download=False), folder)


def test_load_via_keras_cache_archive(tmp_path, monkeypatch, no_env):
    cache = tmp_path / "keras_home" / "datasets"
    cifar.write_fixture(cache, n_per_batch=N, archive=True)
    folder = cifar.find_cifar10(download=False)  # extracts the tar.gz next to itself
    assert folder == cache / "cifar-10-batches-py"
    _check(cifar.load_cifar10(download=False), folder)


def test_download_uses_get_file(tmp_path, monkeypatch, no_env):
    import keras

    calls = []

    def fake_get_file(fname, origin, **kwargs):  # writes the fixture archive, no network
        calls.append((fname, origin, kwargs))
        return str(cifar.write_fixture(kwargs["cache_dir"], n_per_batch=N, archive=True))

    monkeypatch.setattr(keras.utils, "get_file", fake_get_file)
    target = tmp_path / "data"
    (x_tr, _), _ = cifar.load_cifar10(data_dir=target)
    assert x_tr.shape == (5 * N, 32, 32, 3)
    assert calls[0][:2] == ("cifar-10-python.tar.gz", cifar.CIFAR_URL)
    assert calls[0][2]["file_hash"] == cifar.ARCHIVE_SHA256


def test_missing_offline_says_what_to_put_where(tmp_path, no_env):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError) as info:
        cifar.load_cifar10(data_dir=missing, download=False)
    msg = str(info.value)
    assert "cifar-10-python.tar.gz" in msg and cifar.CIFAR_URL in msg
    assert str(missing) in msg and "LABKIT_DATA_DIR" in msg and "~/.keras/datasets" in msg


def test_failed_download_is_file_not_found(tmp_path, monkeypatch, no_env):
    import keras

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: no network")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(FileNotFoundError, match="no network") as info:
        cifar.find_cifar10()
    assert str(tmp_path / "keras_home" / "datasets") in str(info.value)


@pytest.mark.parametrize("content", [b"", b"garbage, not a pickle", "wrong_dict"])
def test_corrupt_batch_names_the_file(tmp_path, no_env, content):
    folder = cifar.write_fixture(tmp_path, n_per_batch=N)
    bad = folder / "data_batch_3"
    if content == "wrong_dict":
        content = pickle.dumps({b"data": np.zeros((N, 100), np.uint8), b"labels": [0] * N},
                               protocol=2)
    bad.write_bytes(content)
    with pytest.raises(ValueError, match="corrupt CIFAR-10 batch") as info:
        cifar.load_cifar10(data_dir=tmp_path, download=False)
    assert str(bad) in str(info.value)


def test_batch_cannot_run_code(tmp_path, no_env):
    folder = cifar.write_fixture(tmp_path, n_per_batch=N)
    (folder / "test_batch").write_bytes(b"cos\nsystem\n(S'echo hacked'\ntR.")
    with pytest.raises(ValueError, match="unexpected object os.system"):
        cifar.load_cifar10(data_dir=tmp_path, download=False)


def test_corrupt_archive_names_the_file(tmp_path, no_env):
    archive = tmp_path / "cifar-10-python.tar.gz"
    archive.write_bytes(b"\x1f\x8b truncated download")
    with pytest.raises(ValueError, match="cifar-10-python.tar.gz") as info:
        cifar.find_cifar10(data_dir=tmp_path, download=False)
    assert str(archive) in str(info.value)
