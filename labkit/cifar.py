"""Real CIFAR-10, read from the original python-pickle batches by labkit itself.

``keras.datasets.cifar10.load_data()`` re-downloads 163 MB whenever its cache layout or hash
differs from what that Keras version expects, so labkit finds and reads the batches itself.

Where labkit looks, in order (the first hit wins):

1. the ``data_dir`` argument, else ``$LABKIT_DATA_DIR``, else the Keras cache
   (``$KERAS_HOME/datasets`` or ``~/.keras/datasets``, and ``/tmp/.keras/datasets``);
2. in each: a ``cifar-10-batches-py/`` folder (or the folder itself), the folders Keras 2/3
   extract to, or the ``cifar-10-python.tar.gz`` archive (extracted next to itself);
3. failing that, and when ``download=True``, the archive is downloaded (hash-checked) into
   ``data_dir``, ``$LABKIT_DATA_DIR`` or the Keras cache, and extracted.

Offline with nothing found, :class:`FileNotFoundError` says which file to put where.
"""

from __future__ import annotations

import io
import os
import pickle
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
ARCHIVE_NAME = "cifar-10-python.tar.gz"
ARCHIVE_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
BATCHES_DIR = "cifar-10-batches-py"
DATA_ENV = "LABKIT_DATA_DIR"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META_FILE = "batches.meta"
IMAGE_SHAPE = (32, 32, 3)

CLASS_NAMES: tuple[str, ...] = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)
CIFAR10_CLASSES = CLASS_NAMES  # the name docs/CONTRACTS.md and labkit.lessondata use

# Folders (relative to a search root) that may hold the batches: the plain layout, Keras 3's
# ``get_file("cifar-10-batches-py-target", extract=True)`` and ``get_file(ARCHIVE_NAME, ...)``.
_FOLDER_LAYOUTS = (
    BATCHES_DIR,
    f"cifar-10-batches-py-target/{BATCHES_DIR}",
    f"cifar-10-python_extracted/{BATCHES_DIR}",
)
# Archives (relative to a search root): the original name, Keras 2's and Keras 3's cache names.
_ARCHIVE_LAYOUTS = (
    ARCHIVE_NAME, "cifar-10-batches-py.tar.gz", "cifar-10-batches-py-target_archive",
)


class CorruptBatchError(ValueError):
    """A CIFAR-10 batch (or archive) that cannot be read; the message names the file."""


# ---- finding the data ------------------------------------------------------------------------
def keras_cache_dirs() -> list[Path]:
    """The Keras dataset caches labkit searches (``get_file`` falls back to /tmp/.keras)."""
    home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser()
    dirs = [home / "datasets", Path("/tmp/.keras/datasets")]
    return list(dict.fromkeys(dirs))


def _search_roots(data_dir: str | os.PathLike[str] | None) -> list[Path]:
    if data_dir is not None:
        return [Path(data_dir).expanduser()]
    env = os.environ.get(DATA_ENV)
    if env:
        return [Path(env).expanduser()]
    return keras_cache_dirs()


def _has_batches(folder: Path) -> bool:
    return all((folder / name).is_file() for name in (*TRAIN_BATCHES, TEST_BATCH))


def _find_in(root: Path) -> Path | None:
    """The batches folder under ``root`` (extracting an archive there if need be), or None."""
    if root.is_file() and tarfile.is_tarfile(root):
        return _extract(root)
    if _has_batches(root):
        return root
    for layout in _FOLDER_LAYOUTS:
        if _has_batches(root / layout):
            return root / layout
    for layout in _ARCHIVE_LAYOUTS:
        if (root / layout).is_file():
            return _extract(root / layout)
    return None


def _extract(archive: Path) -> Path:
    """Extract the batches from ``archive`` next to it; returns the batches folder."""
    dest = archive.parent
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = [m for m in tar.getmembers()
                       if m.name.split("/")[0] == BATCHES_DIR and ".." not in m.name.split("/")
                       and (m.isfile() or m.isdir())]
            if not members:
                raise CorruptBatchError(f"{archive} holds no {BATCHES_DIR}/ folder")
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # 3.11.4+
            tar.extractall(dest, members=members, **safe)
    except (tarfile.TarError, OSError, EOFError) as err:
        raise CorruptBatchError(
            f"cannot extract CIFAR-10 archive {archive} ({err}); it is probably incomplete: "
            f"delete it and download {CIFAR_URL} again"
        ) from err
    folder = dest / BATCHES_DIR
    if not _has_batches(folder):
        raise CorruptBatchError(
            f"CIFAR-10 archive {archive} extracted to {folder}, but the batches "
            f"{', '.join((*TRAIN_BATCHES, TEST_BATCH))} are not all there; delete the archive "
            f"and download {CIFAR_URL} again"
        )
    return folder


def _download(data_dir: str | os.PathLike[str] | None) -> Path:
    """Download the archive with ``keras.utils.get_file`` (hash-checked) and extract it."""
    import keras

    target = data_dir if data_dir is not None else os.environ.get(DATA_ENV) or None
    if target is not None:
        target_dir = Path(target).expanduser()
        target_dir.mkdir(parents=True, exist_ok=True)  # get_file falls back to /tmp if missing
        kwargs: dict[str, Any] = {"cache_dir": str(target_dir), "cache_subdir": ""}
    else:
        kwargs = {}
    path = keras.utils.get_file(ARCHIVE_NAME, CIFAR_URL, file_hash=ARCHIVE_SHA256,
                                extract=False, **kwargs)
    return _extract(Path(path))


def _not_found_message(roots: list[Path], reason: str) -> str:
    searched = "\n".join(f"  - {root}" for root in roots)
    where = (f"into {roots[0]}/ (the folder you asked for)" if len(roots) == 1 else
             f"into ~/.keras/datasets/, or into any folder and set ${DATA_ENV} to that folder")
    return (
        f"CIFAR-10 not found ({reason}).\n"
        f"Download {CIFAR_URL} (163 MB) and put the file {ARCHIVE_NAME} (or the folder "
        f"{BATCHES_DIR}/ it contains) {where}. labkit extracts the archive itself. "
        f"Search order: data_dir=..., else ${DATA_ENV}, else ~/.keras/datasets/.\n"
        f"Searched:\n{searched}"
    )


def find_cifar10(data_dir: str | os.PathLike[str] | None = None, download: bool = True) -> Path:
    """The ``cifar-10-batches-py`` folder: found, extracted or (``download=True``) downloaded.

    Raises FileNotFoundError saying which file to put where when it is missing offline.
    """
    roots = _search_roots(data_dir)
    for root in roots:
        found = _find_in(root)
        if found is not None:
            return found
    if not download:
        raise FileNotFoundError(_not_found_message(roots, "download=False"))
    try:
        return _download(data_dir)
    except CorruptBatchError:
        raise
    except Exception as err:  # offline, proxy, hash mismatch: all end in the same advice
        raise FileNotFoundError(_not_found_message(roots, f"download failed: {err}")) from err


# ---- reading the batches ---------------------------------------------------------------------
def _numpy_global(name: str) -> Callable[..., Any]:
    try:
        from numpy._core import multiarray
    except ImportError:  # NumPy < 2
        from numpy.core import multiarray  # type: ignore[no-redef]
    return getattr(multiarray, name)


_ALLOWED_GLOBALS: dict[tuple[str, str], Callable[[], Any]] = {
    ("numpy", "ndarray"): lambda: np.ndarray,
    ("numpy", "dtype"): lambda: np.dtype,
    ("_codecs", "encode"): lambda: __import__("codecs").encode,
    **{(mod, name): (lambda name=name: _numpy_global(name))
       for mod in ("numpy.core.multiarray", "numpy._core.multiarray")
       for name in ("_reconstruct", "scalar")},
}


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles NumPy arrays and plain containers only: a batch file cannot run code."""

    def find_class(self, module: str, name: str) -> Any:
        factory = _ALLOWED_GLOBALS.get((module, name))
        if factory is None:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name} in a CIFAR batch")
        return factory()


def _get(d: dict[Any, Any], key: str) -> Any:
    for k in (key.encode(), key):
        if k in d:
            return d[k]
    raise KeyError(key)


def _corrupt(path: Path, reason: str) -> CorruptBatchError:
    return CorruptBatchError(
        f"corrupt CIFAR-10 batch {path}: {reason}. Delete the folder {path.parent} and let "
        f"labkit extract {ARCHIVE_NAME} again (or download {CIFAR_URL} again)"
    )


def _unpickle(path: Path) -> dict[Any, Any]:
    try:
        with open(path, "rb") as f:
            d = _BatchUnpickler(f, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            ImportError, IndexError, KeyError, MemoryError) as err:
        raise _corrupt(path, f"not a readable pickle ({type(err).__name__}: {err})") from err
    if not isinstance(d, dict):
        raise _corrupt(path, f"expected a dict, found {type(d).__name__}")
    return d


def read_batch(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """One batch file -> (x uint8 (N,32,32,3) NHWC, y int64 (N,)); errors name the file."""
    path = Path(path)
    d = _unpickle(path)
    try:
        data, labels = _get(d, "data"), _get(d, "labels")
    except KeyError as err:
        raise _corrupt(path, f"no {err.args[0]!r} entry (keys: {list(d)})") from None
    data = np.asarray(data)
    if data.ndim != 2 or data.shape[1] != 3072 or data.dtype != np.uint8:
        raise _corrupt(path, f"data has shape {data.shape} and dtype {data.dtype}, "
                             "expected (N, 3072) uint8")
    y = np.asarray(labels).astype(np.int64).ravel()
    if len(y) != len(data):
        raise _corrupt(path, f"{len(data)} images but {len(y)} labels")
    if len(y) and (y.min() < 0 or y.max() >= len(CLASS_NAMES)):
        raise _corrupt(path, f"labels outside 0..9 (min {y.min()}, max {y.max()})")
    # Each row is 1024 red, then 1024 green, then 1024 blue values, each plane row-major.
    x = np.ascontiguousarray(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    return x, y


def read_class_names(folder: str | os.PathLike[str]) -> tuple[str, ...]:
    """Class names from ``batches.meta`` (falls back to :data:`CLASS_NAMES` if absent)."""
    path = Path(folder) / META_FILE
    if not path.is_file():
        return CLASS_NAMES
    try:
        names = _get(_unpickle(path), "label_names")
    except KeyError:
        raise _corrupt(path, "no 'label_names' entry") from None
    return tuple(n.decode() if isinstance(n, bytes) else str(n) for n in names)


def load_cifar10(
    data_dir: str | os.PathLike[str] | None = None, download: bool = True
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``((x_train, y_train), (x_test, y_test))``: uint8 RGB (N,32,32,3), int64 labels (N,).

    Searches ``data_dir``, ``$LABKIT_DATA_DIR``, the Keras cache, then downloads (see module doc).
    """
    folder = find_cifar10(data_dir, download=download)
    train = [read_batch(folder / name) for name in TRAIN_BATCHES]
    x_test, y_test = read_batch(folder / TEST_BATCH)
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    return (x_train, y_train), (x_test, y_test)


# ---- a tiny dataset in the real on-disk format -----------------------------------------------
def _write_pickle(path: Path, obj: dict[bytes, Any]) -> None:
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)


def write_fixture(
    directory: str | os.PathLike[str], n_per_batch: int = 20, seed: int = 0, archive: bool = False
) -> Path:
    """Write a tiny CIFAR-10 in the real format: ``directory/cifar-10-batches-py/``.

    Five training batches and a test batch of ``n_per_batch`` random images each (labels cycle
    through the 10 classes), plus ``batches.meta``. With ``archive=True`` it writes
    ``directory/cifar-10-python.tar.gz`` instead. Returns the folder or the archive path.
    """
    if n_per_batch < 1:
        raise ValueError(f"n_per_batch must be >= 1, got {n_per_batch}")
    rng = np.random.default_rng(seed)
    files: dict[str, dict[bytes, Any]] = {}
    names = (*TRAIN_BATCHES, TEST_BATCH)
    for b, name in enumerate(names):
        labels = [int(i % 10) for i in range(b, b + n_per_batch)]
        label = (f"training batch {b + 1} of 5" if name != TEST_BATCH else "testing batch 1 of 1")
        files[name] = {
            b"batch_label": label.encode(),
            b"labels": labels,
            b"data": rng.integers(0, 256, size=(n_per_batch, 3072), dtype=np.uint8),
            b"filenames": [f"{CLASS_NAMES[c]}_s_{b:01d}{i:05d}.png".encode()
                           for i, c in enumerate(labels)],
        }
    files[META_FILE] = {
        b"num_cases_per_batch": n_per_batch,
        b"label_names": [n.encode() for n in CLASS_NAMES],
        b"num_vis": 3072,
    }
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if archive:
        path = directory / ARCHIVE_NAME
        with tarfile.open(path, "w:gz") as tar:
            for name, obj in files.items():
                payload = pickle.dumps(obj, protocol=2)
                info = tarfile.TarInfo(f"{BATCHES_DIR}/{name}")
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
        return path
    folder = directory / BATCHES_DIR
    folder.mkdir(exist_ok=True)
    for name, obj in files.items():
        _write_pickle(folder / name, obj)
    return folder
