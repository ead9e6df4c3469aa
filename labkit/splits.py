"""Label and image checks, stratified splits, imbalance makers, oversampling and class weights.

Images are uint8 RGB NHWC (N, H, W, 3) in 0-255 and labels are integer class indices (N,),
unless a function says otherwise. Everything is deterministic per ``seed``. NumPy only: the
tf.data side lives in :mod:`labkit.pipelines`.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np

Array = np.ndarray
MAX_CLASSES = 1_000_000  # a label beyond this is a typo (ImageNet-21k has 21,841 classes)


# ---- sizes and seeds -------------------------------------------------------------------------
class TooLargeError(ValueError):
    """A request that would need more memory (or disk) than this machine has; names the size."""


def _gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:.2f} GiB" if nbytes >= 2**30 / 100 else f"{nbytes / 2**20:.1f} MiB"


def available_memory() -> int | None:
    """Bytes of memory a new allocation can use now (MemAvailable, capped by a cgroup limit);
    None where the platform does not say."""
    avail: int | None = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, OSError, ValueError):
            return None
    try:  # a container's own limit (cgroup v2)
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = Path("/sys/fs/cgroup/memory.current").read_text().strip()
        if limit.isdigit() and used.isdigit():
            avail = min(avail, max(int(limit) - int(used), 0))
    except (OSError, ValueError):
        pass
    return avail


def check_allocation(nbytes: int, what: str, memory: bool = True,
                     disk: str | os.PathLike[str] | None = None) -> None:
    """Raise :class:`TooLargeError` naming ``what`` and its size before it is allocated, if it
    exceeds the memory available now (``memory=True``) or the free space on ``disk``."""
    nbytes = int(nbytes)
    if memory:
        avail = available_memory()
        if avail is not None and nbytes > avail:
            raise TooLargeError(f"{what} needs {_gib(nbytes)} of memory but only "
                                f"{_gib(avail)} is available; refusing before allocating it. "
                                "Fix: ask for fewer or smaller images (or check for a typo)")
    if disk is not None:
        try:
            free = shutil.disk_usage(disk).free
        except OSError:
            return
        if nbytes > free:
            raise TooLargeError(f"{what} needs {_gib(nbytes)} of disk but {disk} has "
                                f"{_gib(free)} free. Fix: free some space or use another "
                                "folder")


def check_seed(seed: Any, name: str = "seed", allow_none: bool = False) -> int | None:
    """``seed`` as a Python int, or a ValueError naming ``name`` and the fix.

    Seeds are non-negative integers (``int`` or NumPy integers such as ``np.int64``); ``True``,
    ``1.5``, ``"abc"`` and ``-1`` are refused. ``None`` only where ``allow_none`` (it means
    "not reproducible": NumPy then draws fresh entropy).
    """
    if seed is None:
        if allow_none:
            return None
        raise ValueError(f"{name} must be a non-negative int, got None. Fix: e.g. {name}=42")
    if isinstance(seed, bool | np.bool_) or not isinstance(seed, int | np.integer):
        raise ValueError(f"{name} must be a non-negative int, got {seed!r} "
                        f"({type(seed).__name__}). Fix: e.g. {name}=42")
    if seed < 0:
        raise ValueError(f"{name} must be a non-negative int, got {seed}. Fix: e.g. "
                         f"{name}={abs(int(seed))}")
    return int(seed)


def _check_seed(seed: Any) -> None:  # the name labkit.pipelines imports
    check_seed(seed, allow_none=True)


# ---- checks ----------------------------------------------------------------------------------
def _labels(y: Any, name: str = "y") -> Array:
    """``y`` as a 1-D int64 array, or a ValueError that names ``name`` and the fix."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        raise ValueError(f"{name} has shape {y.shape}; labels must be 1-D (N,). "
                         f"Fix: {name} = {name}.ravel() (keras.datasets returns (N, 1))")
    if y.ndim == 2:
        raise ValueError(f"{name} has shape {y.shape}, which looks one-hot; labels must be "
                         f"integer class indices (N,). Fix: {name} = {name}.argmax(axis=1)")
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D integer class indices (N,), got shape {y.shape}")
    if y.dtype.kind == "f":
        if np.isnan(y).any():
            raise ValueError(f"{name} contains {int(np.isnan(y).sum())} NaN labels; "
                             "remove those samples or fix their labels")
        if np.isinf(y).any():
            raise ValueError(f"{name} contains {int(np.isinf(y).sum())} infinite labels; "
                             "remove those samples or fix their labels")
        if not np.all(y == np.round(y)):
            bad = np.flatnonzero(y != np.round(y))
            raise ValueError(f"{name} has non-integer labels (dtype {y.dtype}, e.g. {y[bad[0]]} "
                             f"at index {bad[0]}); labels must be whole class indices, and "
                             "labkit will not round or truncate them. Fix: "
                             f"{name}.astype('int64') only if they are whole")
        if y.size and np.abs(y).max() > MAX_CLASSES:
            raise ValueError(f"{name} has label {y[np.abs(y).argmax()]:g}, beyond any class "
                             f"index (at most {MAX_CLASSES:,} classes); a typo?")
    elif y.dtype.kind not in "iub":
        raise ValueError(f"{name} must hold integer class indices, got dtype {y.dtype}. "
                         f"Fix: map class names to indices, e.g. np.unique({name}, "
                         "return_inverse=True)[1]")
    if y.dtype.kind == "u" and y.size and y.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{name} has label {y.max()}, too large for a class index")
    if y.size and y.min() < 0:
        bad = np.flatnonzero(y < 0)
        raise ValueError(f"{name} has {len(bad)} negative labels (first at index {bad[0]}: "
                         f"{y[bad[0]]}); labels must be 0..n_classes-1. Fix: remove or "
                         "relabel those samples (-1 often marks 'unlabelled')")
    return y.astype(np.int64, copy=False)


def _same_length(x: Any, y: Array, x_name: str = "x", y_name: str = "y") -> None:
    if len(x) != len(y):
        raise ValueError(f"{x_name} has {len(x)} samples but {y_name} has {len(y)} labels; "
                         "they must match one to one (did a filter or split touch only one?)")


def validate_images(x: Any, y: Any = None, name: str = "x") -> None:
    """Raise a ValueError naming ``name`` and the fix unless ``x`` is (N, H, W, 3) images.

    Also checks for NaN/inf pixels and, with ``y``, that labels are 1-D non-negative integers
    with one label per image.
    """
    x = np.asarray(x)
    s = x.shape
    if x.ndim == 3:
        raise ValueError(f"{name} has shape {s}: 3-D, expected (N, H, W, 3). Grayscale images "
                         f"without a channel axis? Fix: {name} = np.repeat({name}[..., None], 3, "
                         "axis=-1). A single image? Fix: add a batch axis, "
                         f"{name}[None]")
    if x.ndim == 2:
        raise ValueError(f"{name} has shape {s}: flattened images? expected (N, H, W, 3). "
                         f"Fix: {name}.reshape(-1, H, W, 3) (CIFAR rows are channels-first: "
                         ".reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))")
    if x.ndim != 4:
        raise ValueError(f"{name} must be a 4-D array (N, H, W, 3), got shape {s}")
    if s[-1] != 3:
        if s[1] == 3:
            fix = f"channels-first (N, 3, H, W)? Fix: {name} = {name}.transpose(0, 2, 3, 1)"
        elif s[-1] == 1:
            fix = f"grayscale? Fix: {name} = np.repeat({name}, 3, axis=-1)"
        elif s[-1] == 4:
            fix = f"RGBA? Fix: drop alpha, {name} = {name}[..., :3]"
        else:
            fix = "images must have 3 colour channels (RGB), last"
        raise ValueError(f"{name} has shape {s}, expected (N, H, W, 3): {fix}")
    if s[0] == 0:
        raise ValueError(f"{name} holds no images (shape {s})")
    if x.dtype.kind not in "uif":
        raise ValueError(f"{name} has dtype {x.dtype}; images must be numeric "
                         f"(uint8 0-255 or float). Fix: {name}.astype('uint8')")
    if x.dtype.kind == "f":
        finite = np.isfinite(x)
        if not finite.all():
            bad = np.flatnonzero(~finite.reshape(len(x), -1).all(axis=1))
            raise ValueError(f"{name} has NaN or inf pixels in {len(bad)} images (first: index "
                             f"{bad[0]}); check the preprocessing (e.g. dividing by a zero std) "
                             "or drop those images")
    if y is not None:
        y = _labels(y, "y")
        _same_length(x, y, name, "y")


# ---- splits and counts -----------------------------------------------------------------------
def _allocate(n: int, fractions: Array) -> Array:
    """Split ``n`` items by ``fractions`` (summing to 1) with largest remainders: exact totals."""
    raw = n * fractions
    counts = np.floor(raw).astype(np.int64)
    short = n - counts.sum()
    if short > 0:
        order = np.argsort(-(raw - counts), kind="stable")
        counts[order[:short]] += 1
    return counts


@overload
def stratified_split(
    x: Array, y: Any, val_fraction: float, seed: int | None = 0
) -> tuple[Array, Array, Array, Array]: ...


@overload
def stratified_split(
    x: Array, y: Any, val_fraction: Sequence[float], seed: int | None = 0
) -> list[tuple[Array, Array]]: ...


def stratified_split(
    x: Array, y: Any, val_fraction: float | Sequence[float], seed: int | None = 0
) -> tuple[Array, Array, Array, Array] | list[tuple[Array, Array]]:
    """Split so every class keeps its share in each part; parts are shuffled (seeded).

    - ``val_fraction`` a float in [0, 1): returns ``(x_train, y_train, x_val, y_val)``.
    - ``val_fraction`` a sequence of fractions summing to 1, e.g. ``(0.8, 0.1, 0.1)``: returns
      ``[(x_part, y_part), ...]``, one pair per fraction.

    Per class, counts are rounded with largest remainders, so the parts add up exactly. With a
    float ``val_fraction``, a class too small to give both parts a sample (e.g. one sample and
    ``val_fraction=0.6``) keeps one sample in training, with a warning: a class never seen in
    training cannot be learned.
    """
    y = _labels(y)
    _same_length(x, y)
    _check_seed(seed)
    single = np.isscalar(val_fraction)
    if single:
        if isinstance(val_fraction, bool | str | bytes) or not isinstance(
                val_fraction, int | float | np.number):
            raise ValueError(f"val_fraction must be a number in [0, 1), got {val_fraction!r}. "
                            "Fix: e.g. val_fraction=0.2 for a 20% validation set")
        f = float(val_fraction)
        if not 0.0 <= f < 1.0:  # also refuses NaN
            raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction!r}. "
                             "Fix: e.g. val_fraction=0.2 for a 20% validation set")
        fractions = np.array([1.0 - f, f])
    else:
        try:
            fractions = np.asarray(val_fraction, dtype=np.float64).ravel()
        except (TypeError, ValueError) as err:
            raise ValueError(f"val_fraction must be a float in [0, 1) or a sequence of fractions "
                            f"that sum to 1, got {val_fraction!r}. Fix: e.g. (0.8, 0.2)") from err
        if (len(fractions) < 1 or not np.isfinite(fractions).all() or (fractions < 0).any()
                or (fractions > 1).any()
                or abs(fractions.sum() - 1.0) > 1e-6):
            raise ValueError(f"val_fraction must be a float in [0, 1) or fractions in [0, 1] "
                             f"that sum to 1, got {val_fraction!r}. Fix: e.g. (0.8, 0.2)")
        fractions = fractions / fractions.sum()
    rng = np.random.default_rng(seed)
    parts: list[list[Array]] = [[] for _ in fractions]
    moved: list[int] = []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        counts = _allocate(len(idx), fractions)
        if single and counts[0] == 0 and len(idx):
            # a rare class with no sample left for training: keep one there, and say so
            # (only for train/val splits: a sequence of fractions may be a plain subset)
            counts[int(np.argmax(counts))] -= 1
            counts[0] += 1
            moved.append(int(c))
        bounds = np.cumsum(counts)[:-1]
        for part, chunk in zip(parts, np.split(idx, bounds), strict=True):
            part.append(chunk)
    if moved:
        warnings.warn(f"stratified_split: class(es) {moved} have too few samples for "
                      f"val_fraction={val_fraction}; one sample of each was kept in the training "
                      "part (a class never seen in training cannot be learned)",
                      stacklevel=2)
    x = np.asarray(x)
    out: list[tuple[Array, Array]] = []
    for part in parts:
        idx = rng.permutation(np.concatenate(part)) if part else np.array([], dtype=np.int64)
        out.append((x[idx], y[idx]))
    if single:
        (x_tr, y_tr), (x_val, y_val) = out
        return x_tr, y_tr, x_val, y_val
    return out


def sort_by_class(x: Array, y: Any) -> tuple[Array, Array]:
    """Reorder so all class-0 samples come first, then class 1, ... (stable).

    Reproduces the classic bug: ``model.fit(..., validation_split=0.2)`` takes the *last* 20%
    without shuffling, so on sorted data the validation set holds only the last classes.
    """
    y = _labels(y)
    _same_length(x, y)
    order = np.argsort(y, kind="stable")
    return np.asarray(x)[order], y[order]


def _n_classes(y: Array, n_classes: int | None) -> int:
    top = int(y.max()) + 1 if y.size else 0
    if top > MAX_CLASSES:
        bad = int(np.argmax(y))
        raise ValueError(f"y has label {top - 1} (index {bad}), so counting classes would need "
                         f"{top:,} counters ({_gib(8 * top)}); labels must be 0..n_classes-1 "
                         f"and at most {MAX_CLASSES:,} classes. A typo? Fix that label")
    if n_classes is None:
        check_allocation(8 * top, f"counting {top:,} classes")
        return top
    if (isinstance(n_classes, bool) or not isinstance(n_classes, int | np.integer)
            or n_classes < 1 or n_classes > MAX_CLASSES):
        raise ValueError(f"n_classes must be a positive int (at most {MAX_CLASSES:,}), got "
                         f"{n_classes!r}")
    if top > n_classes:
        raise ValueError(f"y has label {top - 1} but n_classes={n_classes}; labels must be "
                         f"0..{n_classes - 1}. Fix: pass n_classes={top} or fix the labels")
    return int(n_classes)


def class_counts(y: Any, n_classes: int | None = None) -> Array:
    """Samples per class, int64 array of length ``n_classes`` (default: max label + 1)."""
    y = _labels(y)
    return np.bincount(y, minlength=_n_classes(y, n_classes)).astype(np.int64)


# ---- imbalance -------------------------------------------------------------------------------
def make_imbalanced(
    x: Array,
    y: Any,
    kind: str = "step",
    ratio: float = 10.0,
    minority_classes: Sequence[int] | None = None,
    seed: int | None = 0,
    n_classes: int | None = None,
) -> tuple[Array, Array]:
    """Subsample ``(x, y)`` into an imbalanced set; keeps the original order of what it keeps.

    - ``kind="step"``: each class in ``minority_classes`` (default: the upper half of the class
      indices) keeps ``round(count / ratio)`` samples (at least 1); the others keep all.
    - ``kind="longtail"``: class ``i`` keeps ``round(count * ratio ** (-i / (C - 1)))`` (at
      least 1): class 0 keeps all, the last class ``1/ratio``, exponential decay between.
    """
    y = _labels(y)
    _same_length(x, y)
    _check_seed(seed)
    if kind not in ("step", "longtail"):
        raise ValueError(f"kind must be 'step' or 'longtail', got {kind!r}")
    if (isinstance(ratio, bool) or not isinstance(ratio, int | float | np.integer | np.floating)
            or not np.isfinite(ratio) or ratio < 1):
        raise ValueError(f"ratio must be a number >= 1 (majority / minority size), got {ratio!r}")
    n_cls = _n_classes(y, n_classes)
    if n_cls < 2:
        raise ValueError(f"y has {n_cls} class(es); imbalance needs at least 2")
    counts = np.bincount(y, minlength=n_cls)
    if kind == "step":
        if minority_classes is None:
            minority = list(range(n_cls - n_cls // 2, n_cls))
        else:
            raw = list(np.atleast_1d(np.asarray(minority_classes, dtype=object)).ravel())
            wrong = [c for c in raw if isinstance(c, bool | np.bool_)
                     or not isinstance(c, int | np.integer)]
            if wrong:
                raise ValueError(f"minority_classes must be integer class indices, got "
                                 f"{minority_classes!r} ({wrong[0]!r} is not an int; labkit "
                                 "will not round it). Fix: e.g. minority_classes=[1, 3]")
            minority = [int(c) for c in raw]
            bad = [c for c in minority if not 0 <= c < n_cls]
            if not minority or bad or len(set(minority)) != len(minority):
                raise ValueError(f"minority_classes must be distinct class indices in "
                                 f"0..{n_cls - 1}, got {minority_classes!r}")
        keep_frac = np.ones(n_cls)
        keep_frac[minority] = 1.0 / ratio
    else:
        if minority_classes is not None:
            raise ValueError("minority_classes only applies to kind='step'; longtail shrinks "
                             "class i by ratio ** (-i / (C - 1)). Fix: drop minority_classes")
        keep_frac = float(ratio) ** (-np.arange(n_cls) / (n_cls - 1))
    keep = np.where(counts > 0, np.maximum(1, np.floor(counts * keep_frac + 0.5)), 0)
    rng = np.random.default_rng(seed)
    kept = [rng.permutation(np.flatnonzero(y == c))[: int(keep[c])] for c in range(n_cls)]
    idx = np.sort(np.concatenate(kept))
    return np.asarray(x)[idx], y[idx]


def oversample(x: Array, y: Any, seed: int | None = 0) -> tuple[Array, Array]:
    """Repeat samples of smaller classes until every present class has the largest count.

    Each class is tiled whole, then topped up with a random subset (no repeats within it); the
    result is shuffled. Do this on the training split only, never before splitting.
    """
    y = _labels(y)
    _same_length(x, y)
    _check_seed(seed)
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    target = max(int((y == c).sum()) for c in classes) if len(classes) else 0
    chunks = []
    for c in classes:
        idx = np.flatnonzero(y == c)
        reps, extra = divmod(target, len(idx))
        chunks.append(np.concatenate([np.tile(idx, reps), rng.permutation(idx)[:extra]]))
    order = rng.permutation(np.concatenate(chunks)) if chunks else np.array([], np.int64)
    return np.asarray(x)[order], y[order]


def balanced_weights(y: Any, n_classes: int | None = None) -> Array:
    """Balanced weight of each class, ``n / (C * count)``, as an array: what sklearn's
    ``compute_class_weight("balanced", ...)`` returns, and **not** what Keras' ``class_weight=``
    takes (it wants a dict: ``class_weights``).

    ``C`` is the number of classes present; a class with no samples gets weight 0.0 (it never
    occurs in the loss) so the array still covers ``0..n_classes-1``.
    """
    y = _labels(y)
    if y.size == 0:
        raise ValueError("y is empty; class weights need at least one label")
    counts = class_counts(y, n_classes)
    present = int((counts > 0).sum())
    return np.where(counts > 0, len(y) / (present * np.maximum(counts, 1)), 0.0)


def class_weights(y: Any, n_classes: int | None = None) -> dict[int, float]:
    """Balanced weights for ``model.fit(class_weight=...)``: ``balanced_weights`` as the dict
    Keras takes, ``{class: weight}`` (``dict(enumerate(array))``)."""
    return {int(c): float(w) for c, w in enumerate(balanced_weights(y, n_classes))}


def per_class_indices(y: Any, per_class: int, seed: int | None = 0) -> Array:
    """Indices of ``per_class`` random images of every class (seeded), shuffled.

    A class with fewer images raises, except in a smoke run (``$LABKIT_SMOKE=1``, tiny data
    sets), where such a class gives all it has.
    """
    from labkit.config import smoke_requested

    y = _labels(y)
    if isinstance(per_class, bool) or not isinstance(per_class, int | np.integer) or per_class < 1:
        raise ValueError(f"per_class must be an integer >= 1, got {per_class!r}")
    rng = np.random.default_rng(check_seed(seed, "seed", allow_none=True))
    picks = []
    smoke = smoke_requested()
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        if len(idx) < per_class and not smoke:
            raise ValueError(f"class {c} has only {len(idx)} images; asked for {per_class} "
                             "per class. Fix: ask for fewer, or use a larger training set")
        picks.append(rng.permutation(idx)[:per_class])
    return rng.permutation(np.concatenate(picks))
