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


# ---- hardening (issue 17): every damaged or hostile input is a clear error naming the file ----
class _Reduce:
    """Pickles as ``fn(*args)`` (then BUILD with ``state``): crafts what a hostile file holds."""

    def __init__(self, fn, args, state=None):
        self.fn, self.args, self.state = fn, args, state

    def __reduce__(self):
        return (self.fn, self.args) if self.state is None else (self.fn, self.args, self.state)


def _batch(**entries):
    d = {b"batch_label": b"x", b"labels": [0, 1], b"data": np.zeros((2, 3072), np.uint8),
         b"filenames": [b"a.png", b"b.png"]}
    d.update({k.encode(): v for k, v in entries.items()})
    return pickle.dumps(d, protocol=2)


def _read_in_subprocess(path):
    """read_batch in a child process: a segfault or a memory blow-up cannot take pytest down.

    Returns the outcome and the peak memory (MiB) the read allocated (tracemalloc: NumPy and
    Python allocations; ru_maxrss would include pytest's own pages after the fork)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    code = ("import json, sys, tracemalloc\nfrom labkit import cifar\ntracemalloc.start()\n"
            "try:\n    cifar.read_batch(sys.argv[1]); out = 'read'\n"
            "except Exception as e:\n    out = f'{type(e).__name__}: {e}'\n"
            "print(json.dumps([out, tracemalloc.get_traced_memory()[1] // 2**20]))")
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True, timeout=60, cwd=root)
    assert proc.returncode == 0, f"reader crashed (exit {proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_nested_hex_codec_is_refused_without_growing(tmp_path):
    import codecs

    data = b"a" * 400
    for _ in range(20):  # each hex step doubles: 400 B -> 400 MiB before the fix
        data = _Reduce(codecs.encode, (data, "hex"))
    path = tmp_path / "data_batch_1"
    path.write_bytes(_batch(data=data))
    outcome, peak_mb = _read_in_subprocess(path)
    assert outcome.startswith("CorruptBatchError") and str(path) in outcome
    assert "latin1" in outcome  # says what is allowed
    assert peak_mb < 50


def test_shared_nested_label_lists_are_refused_before_expanding(tmp_path):
    labels = [0] * 10
    for _ in range(6):  # 10**7 labels from a few KB of pickle
        labels = [labels] * 10
    path = tmp_path / "data_batch_1"
    path.write_bytes(_batch(labels=labels))
    assert path.stat().st_size < 10_000
    outcome, peak_mb = _read_in_subprocess(path)
    assert outcome.startswith("CorruptBatchError") and "labels" in outcome
    assert peak_mb < 50


@pytest.mark.parametrize("state", [
    (3, "|", None, None, None, 2**31 - 1, -1, 0),  # absurd itemsize
    (3, "<", ("a", "b"), None, None, -1, -1, 0),  # names without fields
    (3, "|", None, {"a": 1}, None, -1, -1, 0),
    (4, "|", None, None, None, -1, -1, 0, "extra"),
    (3, "|"),
])
def test_malformed_dtype_state_is_refused_not_a_segfault(tmp_path, state):
    from numpy._core.multiarray import _reconstruct

    dtype = _Reduce(np.dtype, ("u1", False, True), state)
    array = _Reduce(_reconstruct, (np.ndarray, (0,), b"b"),
                    (1, (2, 3072), dtype, False, bytes(2 * 3072)))
    path = tmp_path / "data_batch_1"
    path.write_bytes(_batch(data=array))
    outcome, _ = _read_in_subprocess(path)
    assert outcome.startswith("CorruptBatchError") and str(path) in outcome
    assert "dtype" in outcome


def test_the_stand_ins_read_what_numpy_pickles(tmp_path):
    from numpy._core.multiarray import _reconstruct

    state = (3, "|", None, None, None, -1, -1, 0)
    raw = bytes(range(256)) * 24
    array = _Reduce(_reconstruct, (np.ndarray, (0,), b"b"),
                    (1, (2, 3072), _Reduce(np.dtype, ("u1", False, True), state), False, raw))
    path = tmp_path / "data_batch_1"
    path.write_bytes(_batch(data=array))
    x, y = cifar.read_batch(path)
    assert x.shape == (2, 32, 32, 3) and y.tolist() == [0, 1]
    np.testing.assert_array_equal(x.transpose(0, 3, 1, 2).reshape(-1), np.frombuffer(raw, np.uint8))


@pytest.mark.parametrize(("entries", "fragment"), [
    ({"labels": [0.9, 1.0]}, "label 0 is 0.9"),  # used to become class 0
    ({"labels": b"\x00\x01"}, "labels are b"),
    ({"labels": {0: 1}}, "labels are dict"),
    ({"labels": None}, "labels are None"),
    ({"labels": [True, False]}, "label 0 is True"),
    ({"labels": [0, 10]}, "label 1 is 10"),
    ({"data": _Reduce(__import__("codecs").encode, ("abc", "rot13"))}, "only (text, 'latin1')"),
    ({"data": np.zeros((2, 3072), np.float32)}, "dtype"),
    ({"data": np.zeros((2, 3, 1024), np.uint8)}, "shape"),
    ({"data": np.zeros((2, 100), np.uint8)}, "(2, 100)"),
    ({"data": [1, 2]}, "expected a uint8 array"),
])
def test_bad_entries_name_the_file_and_the_entry(tmp_path, no_env, entries, fragment):
    folder = cifar.write_fixture(tmp_path, n_per_batch=2)
    bad = folder / "data_batch_4"
    bad.write_bytes(_batch(**entries))
    with pytest.raises(cifar.CorruptBatchError) as info:
        cifar.load_cifar10(data_dir=tmp_path, download=False)
    assert str(bad) in str(info.value) and fragment in str(info.value)
    assert "extract" in str(info.value)  # and the fix


def _array(shape, raw=bytes(2 * 3072)):
    from numpy._core.multiarray import _reconstruct

    state = (3, "|", None, None, None, -1, -1, 0)
    dtype = _Reduce(np.dtype, ("u1", False, True), state)
    return _Reduce(_reconstruct, (np.ndarray, (0,), b"b"), (1, shape, dtype, False, raw))


@pytest.mark.parametrize("shape", [(2**62, 2**62), (2**31, 3072), (-2, -3072), (2, 3072, 1)])
def test_overflowing_or_lying_shape_is_refused(tmp_path, shape):
    path = tmp_path / "test_batch"
    path.write_bytes(_batch(data=_array(shape)))
    with pytest.raises(cifar.CorruptBatchError, match="shape") as info:
        cifar.read_batch(path)
    assert str(path) in str(info.value)


def test_unreadable_batch_names_the_file(tmp_path, monkeypatch):
    folder = cifar.write_fixture(tmp_path, n_per_batch=2)

    def denied(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(cifar, "open", denied, raising=False)
    with pytest.raises(PermissionError, match="chmod") as info:
        cifar.read_batch(folder / "test_batch")
    assert str(folder / "test_batch") in str(info.value)


def test_oversized_batch_file_is_refused_before_reading(tmp_path, monkeypatch):
    folder = cifar.write_fixture(tmp_path, n_per_batch=2)
    monkeypatch.setattr(cifar, "MAX_BATCH_BYTES", 1000)
    with pytest.raises(cifar.CorruptBatchError, match="larger than any real") as info:
        cifar.read_batch(folder / "test_batch")
    assert str(folder / "test_batch") in str(info.value)


def test_meta_with_wrong_names_is_refused(tmp_path):
    folder = cifar.write_fixture(tmp_path, n_per_batch=2)
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": [b"a", 3]}, protocol=2))
    with pytest.raises(cifar.CorruptBatchError, match="label_names") as info:
        cifar.read_class_names(folder)
    assert str(folder / "batches.meta") in str(info.value)


def test_folder_missing_only_test_batch_names_it(tmp_path, no_env):
    folder = cifar.write_fixture(tmp_path, n_per_batch=2)
    (folder / "test_batch").unlink()
    with pytest.raises(FileNotFoundError) as info:
        cifar.load_cifar10(data_dir=tmp_path, download=False)
    msg = str(info.value)
    assert "test_batch is missing" in msg and str(folder) in msg
    assert "not found" not in msg and "data_batch_1" not in msg.split("(labkit needs")[0]


def test_good_archive_in_read_only_folder_is_not_called_incomplete(tmp_path, no_env,
                                                                   monkeypatch):
    import tarfile

    archive = cifar.write_fixture(tmp_path, n_per_batch=2, archive=True)

    def read_only(self, path, *args, **kwargs):  # as root, chmod cannot make a folder read-only
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(tarfile.TarFile, "extractall", read_only)
    with pytest.raises(PermissionError) as info:
        cifar.find_cifar10(data_dir=tmp_path, download=False)
    msg = str(info.value)
    assert str(archive) in msg and "archive itself is fine" in msg and "LABKIT_DATA_DIR" in msg
    assert "incomplete" not in msg and "download" not in msg


def test_archive_bomb_is_refused_before_extracting(tmp_path, no_env):
    import io
    import tarfile

    archive = tmp_path / cifar.ARCHIVE_NAME
    with tarfile.open(archive, "w:gz") as tar:
        payload = bytes(30 * 2**20)  # 30 MiB of zeros: ~30 KB compressed
        info = tarfile.TarInfo(f"{cifar.BATCHES_DIR}/data_batch_1")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    assert archive.stat().st_size < 200_000
    with pytest.raises(cifar.CorruptBatchError, match="would extract to") as info:
        cifar.find_cifar10(data_dir=tmp_path, download=False)
    assert str(archive) in str(info.value)
    assert not (tmp_path / cifar.BATCHES_DIR / "data_batch_1").exists()


def test_archive_with_oversized_member_is_refused(tmp_path, no_env, monkeypatch):
    archive = cifar.write_fixture(tmp_path, n_per_batch=2, archive=True)
    monkeypatch.setattr(cifar, "MAX_BATCH_BYTES", 100)
    with pytest.raises(cifar.CorruptBatchError, match="larger than any real") as info:
        cifar.find_cifar10(data_dir=tmp_path, download=False)
    assert str(archive) in str(info.value)


def test_python2_style_batch_reads(tmp_path):
    """The real batches were pickled by Python 2: str keys, BINSTRING pixels, no _codecs."""
    import struct

    def s(b):
        return b"U" + bytes([len(b)]) + b if len(b) < 256 else b"T" + struct.pack("<i", len(b)) + b

    data = np.random.default_rng(0).integers(0, 256, (3, 3072), dtype=np.uint8)
    p = (b"\x80\x02}q\x01(" + s(b"data")
         + b"cnumpy.core.multiarray\n_reconstruct\nq\x02cnumpy\nndarray\nq\x03K\x00\x85" + s(b"b")
         + b"\x87Rq\x04(K\x01K\x03M\x00\x0c\x86cnumpy\ndtype\nq\x05" + s(b"u1")
         + b"K\x00K\x01\x87Rq\x06(K\x03" + s(b"|")
         + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89" + s(data.tobytes()) + b"tb"
         + s(b"labels") + b"](K\x06K\x09K\x09e"
         + s(b"batch_label") + s(b"training batch 1 of 5")
         + s(b"filenames") + b"](" + s(b"a.png") * 3 + b"eu.")
    assert (pickle.loads(p, encoding="bytes")[b"data"] == data).all()  # what NumPy reads
    path = tmp_path / "data_batch_1"
    path.write_bytes(p)
    x, y = cifar.read_batch(path)
    assert y.tolist() == [6, 9, 9]
    np.testing.assert_array_equal(x.transpose(0, 3, 1, 2).reshape(3, -1), data)


def test_unreadable_archive_is_not_called_incomplete(tmp_path, no_env, monkeypatch):
    import tarfile

    archive = cifar.write_fixture(tmp_path, n_per_batch=2, archive=True)

    def denied(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(tarfile, "open", denied)
    monkeypatch.setattr(tarfile, "is_tarfile", lambda path: True)
    with pytest.raises(PermissionError, match="cannot read CIFAR-10 archive") as info:
        cifar.find_cifar10(data_dir=tmp_path, download=False)
    assert str(archive) in str(info.value) and "incomplete" not in str(info.value)
