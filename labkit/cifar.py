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

import errno
import io
import os
import pickle
import tarfile
import zlib
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


def _missing_batches(folder: Path) -> list[str]:
    return [name for name in (*TRAIN_BATCHES, TEST_BATCH) if not (folder / name).is_file()]


def _partial_folders(root: Path) -> list[Path]:
    """Folders under ``root`` that hold some CIFAR-10 batches but not all of them."""
    candidates = [root, *(root / layout for layout in _FOLDER_LAYOUTS)]
    return [folder for folder in candidates if folder.is_dir()
            and 0 < len(_missing_batches(folder)) < len(TRAIN_BATCHES) + 1]


def _is_tar(path: Path) -> bool:
    try:
        return path.is_file() and tarfile.is_tarfile(path)
    except OSError:  # unreadable: let _extract say so, naming the file
        return path.is_file()


def _find_in(root: Path) -> Path | None:
    """The batches folder under ``root`` (extracting an archive there if need be), or None."""
    if _is_tar(root):
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


def _incomplete_message(folder: Path) -> str:
    missing = _missing_batches(folder)
    return (
        f"CIFAR-10 folder {folder} is incomplete: {', '.join(missing)} "
        f"{'is' if len(missing) == 1 else 'are'} missing (labkit needs "
        f"{', '.join((*TRAIN_BATCHES, TEST_BATCH))}). Fix: copy the missing "
        f"file{'s' if len(missing) > 1 else ''} from {ARCHIVE_NAME} into {folder}, or delete "
        f"{folder} and put {ARCHIVE_NAME} ({CIFAR_URL}) in {folder.parent} so labkit "
        "extracts it again"
    )


def _members_to_extract(tar: tarfile.TarFile, archive: Path) -> list[tarfile.TarInfo]:
    """The batch files of the archive, after checking that they fit (no archive bombs)."""
    from labkit.splits import check_allocation

    members = [m for m in tar.getmembers()
               if m.name.split("/")[0] == BATCHES_DIR and ".." not in m.name.split("/")
               and (m.isfile() or m.isdir())]
    if not members:
        raise CorruptBatchError(f"{archive} holds no {BATCHES_DIR}/ folder; it is not the "
                                f"CIFAR-10 python archive. Download {CIFAR_URL} again")
    files = [m for m in members if m.isfile()]
    for m in files:
        name = m.name.split("/", 1)[-1]
        if name not in _EXTRACT_NAMES:
            raise CorruptBatchError(f"{archive} holds an unexpected file {m.name}; it is not "
                                    f"the CIFAR-10 python archive. Download {CIFAR_URL} again")
        if m.size > MAX_BATCH_BYTES:
            raise CorruptBatchError(
                f"{archive} holds {m.name} of {m.size:,} bytes, larger than any real CIFAR-10 "
                f"batch ({MAX_BATCH_BYTES:,} bytes at most); refusing to extract it. Delete "
                f"the archive and download {CIFAR_URL} again")
    total = sum(m.size for m in files)
    allowed = max(_MAX_EXPANSION * archive.stat().st_size, 1 << 20)
    if total > allowed:
        raise CorruptBatchError(
            f"{archive} ({archive.stat().st_size:,} bytes) would extract to {total:,} bytes; "
            f"the real CIFAR-10 archive barely expands (163 MB -> 178 MB), so this is not it. "
            f"Delete it and download {CIFAR_URL} again")
    check_allocation(total, f"extracting {archive}", memory=False, disk=archive.parent)
    return members


def _is_write_error(err: BaseException) -> bool:
    return isinstance(err, PermissionError) or getattr(err, "errno", None) in (
        errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT)


class _CannotWrite(Exception):
    """Extraction failed writing (not reading): the archive is fine, the folder is not."""


def _extract(archive: Path) -> Path:
    """Extract the batches from ``archive`` next to it; returns the batches folder."""
    dest = archive.parent
    incomplete = (f"it is probably incomplete: delete it and download {CIFAR_URL} again")
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = _members_to_extract(tar, archive)
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # 3.11.4+
            try:
                tar.extractall(dest, members=members, **safe)
            except OSError as err:
                if _is_write_error(err):
                    raise _CannotWrite(err) from err
                raise
    except _CannotWrite as wrapped:
        err = wrapped.__cause__
        raise PermissionError(
            f"cannot extract CIFAR-10 archive {archive}: cannot write into {dest} "
            f"({getattr(err, 'strerror', None) or err}). The archive itself is fine. Fix: make "
            f"{dest} writable, or extract it yourself into a folder you can write "
            f"(`tar xzf {archive} -C FOLDER`) and pass data_dir=FOLDER or set "
            f"${DATA_ENV}=FOLDER"
        ) from err
    except PermissionError as err:  # opening the archive itself
        raise PermissionError(
            f"cannot read CIFAR-10 archive {archive}: permission denied. Fix: make it readable "
            f"(chmod a+r {archive}) or put a readable copy in a folder of yours and pass "
            f"data_dir=... / set ${DATA_ENV}"
        ) from err
    except (tarfile.TarError, EOFError, zlib.error, OSError) as err:  # BadGzipFile is OSError
        raise CorruptBatchError(
            f"cannot extract CIFAR-10 archive {archive} ({err}); {incomplete}") from err
    folder = dest / BATCHES_DIR
    if not _has_batches(folder):
        raise CorruptBatchError(
            f"CIFAR-10 archive {archive} extracted to {folder}, but "
            f"{', '.join(_missing_batches(folder))} are not there; delete the archive "
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
    partial = [folder for root in roots for folder in _partial_folders(root)]
    if partial:  # say which file is missing where, not "not found"
        raise FileNotFoundError(_incomplete_message(partial[0]))
    if not download:
        raise FileNotFoundError(_not_found_message(roots, "download=False"))
    try:
        return _download(data_dir)
    except CorruptBatchError:
        raise
    except Exception as err:  # offline, proxy, hash mismatch: all end in the same advice
        raise FileNotFoundError(_not_found_message(roots, f"download failed: {err}")) from err


# ---- reading the batches ---------------------------------------------------------------------
# A batch is a protocol-2 pickle (Python 2's cPickle for the real files, Python 3 for the
# fixture) of a dict: b"data" a uint8 (N, 3072) array, b"labels" a list of N ints in 0..9,
# b"batch_label" and b"filenames". An array pickles as
#   _reconstruct(ndarray, (0,), b"b")  then BUILD (1, shape, dtype("u1", 0, 1), False, raw)
# where dtype("u1", 0, 1) is itself BUILT with (3, "|", None, None, None, -1, -1, 0) and, from
# Python 3, every bytes object is _codecs.encode(text, "latin1"). The unpickler below lets
# exactly those through, and never hands an argument to NumPy before checking it: the globals
# return stand-ins whose BUILD step checks the state, and the array is made only at the end,
# from bytes that were in the file (so memory is bounded by the file's size).
MAX_BATCH_BYTES = 32 * 1024 * 1024  # a real batch is 31,035,704 bytes; batches.meta 158
MAX_META_BYTES = 1024 * 1024
_EXTRACT_NAMES = (*TRAIN_BATCHES, TEST_BATCH, META_FILE, "readme.html")
_MAX_EXPANSION = 4  # the real archive expands 1.1x (pixels barely compress); a bomb far more


class _Refused(pickle.UnpicklingError):
    """Something a CIFAR batch never holds (the reason names it)."""


_NDARRAY = object()  # stands in for numpy.ndarray: only _reconstruct may receive it
_DTYPE_NAMES = ("u1", "uint8")
_DTYPE_STATES = tuple((3, bar, None, None, None, -1, -1, 0) for bar in ("|", b"|"))


class _DtypeStandIn:
    """``numpy.dtype("u1", 0, 1)`` before its BUILD step; becomes uint8 once the state checks."""

    built = False

    def __setstate__(self, state: Any) -> None:
        if self.built:
            raise _Refused("a dtype is built twice")
        if not (isinstance(state, tuple) and len(state) == 8
                and any(_same(state, ok) for ok in _DTYPE_STATES)):
            raise _Refused(f"unexpected dtype state {_short(state)} (a uint8 array has "
                           f"{_DTYPE_STATES[0]})")
        self.built = True


class _ArrayStandIn:
    """``numpy.ndarray`` before its BUILD step: holds the checked raw bytes and the shape."""

    shape: tuple[int, int] | None = None
    raw: bytes = b""

    def __setstate__(self, state: Any) -> None:
        if self.shape is not None:
            raise _Refused("an array is built twice")
        if not (isinstance(state, tuple) and len(state) == 5):
            raise _Refused(f"unexpected array state {_short(state)}")
        version, shape, dtype, fortran, raw = state
        if type(version) is not int or version != 1:
            raise _Refused(f"unexpected array pickle version {_short(version)}")
        if not (isinstance(shape, tuple) and len(shape) == 2
                and all(type(n) is int and 0 <= n for n in shape)):
            raise _Refused(f"the data array has shape {_short(shape)}, expected (N, 3072)")
        if not (isinstance(dtype, _DtypeStandIn) and dtype.built):
            raise _Refused(f"the data array has dtype {_short(dtype)}, expected uint8")
        if fortran not in (False, 0) or type(fortran) not in (bool, int):
            raise _Refused(f"unexpected array order flag {_short(fortran)}")
        if not isinstance(raw, bytes):
            raise _Refused(f"the array's pixels are {type(raw).__name__}, expected bytes")
        if shape[0] * shape[1] != len(raw):
            raise _Refused(f"the data array claims shape {shape} but holds {len(raw)} bytes")
        self.shape, self.raw = shape, raw

    def array(self) -> np.ndarray:
        assert self.shape is not None
        return np.frombuffer(self.raw, dtype=np.uint8).reshape(self.shape)


def _same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """Element-wise equality with matching types (so 1.0 or True never pass for 1)."""
    return len(a) == len(b) and all(type(x) is type(y) and x == y
                                    for x, y in zip(a, b, strict=True))


def _short(obj: Any, depth: int = 0) -> str:
    """A short description of something found in a batch: never a huge, deep or slow repr."""
    if isinstance(obj, str | bytes):
        text = repr(obj[:40]) + ("..." if len(obj) > 40 else "")
    elif isinstance(obj, bool | float | None):
        text = repr(obj)
    elif isinstance(obj, int):
        text = repr(obj) if obj.bit_length() <= 128 else f"a {obj.bit_length()}-bit int"
    elif isinstance(obj, tuple):
        inner = ", ".join(_short(x, depth + 1) for x in obj[:8]) if depth < 2 else "..."
        text = f"({inner}{', ...' if len(obj) > 8 else ',' if len(obj) == 1 else ''})"
    else:
        text = type(obj).__name__
    return text if len(text) <= 100 else text[:97] + "..."


def _reconstruct(*args: Any) -> _ArrayStandIn:
    if not (len(args) == 3 and args[0] is _NDARRAY and _same(args[1], (0,))
            and args[2] in (b"b", "b")):
        raise _Refused(f"unexpected _reconstruct{_short(args)}; only numpy arrays are allowed")
    return _ArrayStandIn()


def _dtype(*args: Any) -> _DtypeStandIn:
    if not (1 <= len(args) <= 3):
        raise _Refused(f"unexpected dtype arguments {_short(args)}")
    name = args[0].decode("ascii", "replace") if isinstance(args[0], bytes) else args[0]
    flags = args[1:]
    if (name not in _DTYPE_NAMES or not all(type(f) in (bool, int) for f in flags)
            or tuple(flags) not in ((), (0,), (0, 1))):
        raise _Refused(f"unexpected dtype{_short(args)}; a CIFAR batch holds only uint8 "
                       "('u1') arrays")
    return _DtypeStandIn()


def _encode(*args: Any) -> bytes:
    if not (len(args) == 2 and isinstance(args[0], str) and args[1] in ("latin1", "latin-1")):
        raise _Refused(f"unexpected _codecs.encode{_short(args)}; only (text, 'latin1') is "
                       "allowed")
    try:
        return args[0].encode("latin-1")  # one byte per character: never grows
    except UnicodeEncodeError as err:
        raise _Refused(f"text that is not latin-1 ({err.reason})") from None


_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _dtype,
    ("_codecs", "encode"): _encode,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
}


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles a CIFAR batch and nothing else: a batch file cannot run code or blow up."""

    def find_class(self, module: str, name: str) -> Any:
        found = _ALLOWED_GLOBALS.get((module, name))
        if found is None:
            raise _Refused(f"unexpected object {module}.{name} in a CIFAR batch")
        return found

    def persistent_load(self, pid: Any) -> Any:
        raise _Refused("a persistent id (CIFAR batches have none)")


def _get(d: dict[Any, Any], key: str) -> Any:
    for k in (key.encode(), key):
        if k in d:
            return d[k]
    raise KeyError(key)


def _refetch_advice(path: Path) -> str:
    return (f"Delete the folder {path.parent} and let labkit extract {ARCHIVE_NAME} again "
            f"(or download {CIFAR_URL} again)")


def _corrupt(path: Path, reason: str) -> CorruptBatchError:
    return CorruptBatchError(f"corrupt CIFAR-10 batch {path}: {reason}. {_refetch_advice(path)}")


def _read_bytes(path: Path, limit: int) -> bytes:
    """The file's bytes, or an error naming the file (missing, unreadable, far too large)."""
    try:
        size = path.stat().st_size
        if size > limit:
            raise _corrupt(path, f"{size:,} bytes, larger than any real CIFAR-10 batch "
                                 f"({limit:,} bytes at most)")
        with open(path, "rb") as f:
            return f.read(limit + 1)[: limit + 1]
    except PermissionError as err:
        raise PermissionError(
            f"cannot read CIFAR-10 file {path}: permission denied ({err.strerror}). Fix: "
            f"make it readable (chmod a+r {path}) or point data_dir=... / ${DATA_ENV} at a "
            "copy you can read"
        ) from err
    except FileNotFoundError as err:
        raise FileNotFoundError(
            f"CIFAR-10 file {path} is missing. {_refetch_advice(path)}"
        ) from err
    except IsADirectoryError as err:
        raise _corrupt(path, "a folder, not a batch file") from err
    except OSError as err:
        raise _corrupt(path, f"cannot be read ({type(err).__name__}: {err})") from err


def _unpickle(path: Path, limit: int | None = None) -> dict[Any, Any]:
    limit = MAX_BATCH_BYTES if limit is None else limit
    raw = _read_bytes(path, limit)
    if len(raw) > limit:
        raise _corrupt(path, f"larger than any real CIFAR-10 batch ({limit:,} bytes at most)")
    try:
        d = _BatchUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except _Refused as err:
        raise _corrupt(path, str(err)) from None
    except MemoryError:
        raise _corrupt(path, "unpickling it ran out of memory") from None
    except RecursionError:
        raise _corrupt(path, "nested too deeply") from None
    except Exception as err:  # noqa: BLE001 (any damage to the bytes: one clear error)
        raise _corrupt(path, f"not a readable pickle ({type(err).__name__}: {err})") from None
    if not isinstance(d, dict):
        raise _corrupt(path, f"expected a dict, found {type(d).__name__}")
    return d


def _int_labels(path: Path, labels: Any, n: int) -> np.ndarray:
    """The labels as int64, checked one by one before any conversion (no float truncation)."""
    if not isinstance(labels, list | tuple):
        raise _corrupt(path, f"labels are {_short(labels)}, expected a list of ints 0..9")
    if len(labels) != n:
        raise _corrupt(path, f"{n} images but {len(labels)} labels")
    for i, v in enumerate(labels):
        if type(v) is not int or not 0 <= v < len(CLASS_NAMES):
            raise _corrupt(path, f"label {i} is {_short(v)}, expected an int in 0..9")
    return np.array(labels, dtype=np.int64).reshape(n)


def read_batch(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """One batch file -> (x uint8 (N,32,32,3) NHWC, y int64 (N,)); errors name the file."""
    path = Path(path)
    d = _unpickle(path)
    try:
        data, labels = _get(d, "data"), _get(d, "labels")
    except KeyError as err:
        keys = [_short(k) for k in list(d)[:10]]
        raise _corrupt(path, f"no {err.args[0]!r} entry (keys: {keys})") from None
    if not isinstance(data, _ArrayStandIn) or data.shape is None:
        raise _corrupt(path, f"data is {_short(data)}, expected a uint8 array (N, 3072)")
    if data.shape[1] != 3072:
        raise _corrupt(path, f"data has shape {data.shape} and dtype uint8, "
                             "expected (N, 3072) uint8")
    y = _int_labels(path, labels, data.shape[0])
    # Each row is 1024 red, then 1024 green, then 1024 blue values, each plane row-major.
    x = np.ascontiguousarray(data.array().reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    return x, y


def read_class_names(folder: str | os.PathLike[str]) -> tuple[str, ...]:
    """Class names from ``batches.meta`` (falls back to :data:`CLASS_NAMES` if absent)."""
    path = Path(folder) / META_FILE
    if not path.is_file():
        return CLASS_NAMES
    try:
        names = _get(_unpickle(path, MAX_META_BYTES), "label_names")
    except KeyError:
        raise _corrupt(path, "no 'label_names' entry") from None
    if not (isinstance(names, list | tuple) and len(names) == len(CLASS_NAMES)
            and all(isinstance(n, bytes | str) and len(n) <= 100 for n in names)):
        raise _corrupt(path, f"label_names is {_short(names)}, expected "
                             f"{len(CLASS_NAMES)} class names")
    try:
        return tuple(n.decode() if isinstance(n, bytes) else n for n in names)
    except UnicodeDecodeError as err:
        raise _corrupt(path, f"a class name is not text ({err.reason})") from None


def load_cifar10(
    data_dir: str | os.PathLike[str] | None = None, download: bool = True
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``((x_train, y_train), (x_test, y_test))``: uint8 RGB (N,32,32,3), int64 labels (N,).

    Searches ``data_dir``, ``$LABKIT_DATA_DIR``, the Keras cache, then downloads (see module doc).
    """
    from labkit.splits import check_allocation

    folder = find_cifar10(data_dir, download=download)
    sizes = [(folder / name).stat().st_size for name in (*TRAIN_BATCHES, TEST_BATCH)]
    # each batch is read (file bytes), decoded (about as many) and its images copied into
    # the concatenated training array: ~3x the files, refused up front if it cannot fit
    check_allocation(3 * sum(sizes), f"reading CIFAR-10 from {folder}")
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
