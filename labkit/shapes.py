"""labkit shapes: a procedurally generated, CIFAR-like colour image dataset that works offline.

Each image shows one object (the class) at a random position, scale and rotation, over a random
colour gradient, with clutter shapes behind it and pixel noise on top. Four target classes are
defined by colour alone (a red vs a blue disc, a yellow vs a cyan square), and their colours are
each other's RGB<->BGR swap, so channel-order and colour-preprocessing mistakes really cost
accuracy. The other classes are shapes in random colours.

Two tasks share the renderer but not their classes:
- ``target``: the 10 lesson classes, 32x32 by default (CIFAR-sized);
- ``source``: 13 other classes at 64x64, used only to pretrain the offline MiniVGG base, so that
  transfer to the target task is transfer, not leakage.

Everything is vectorised NumPy and deterministic per seed; results are cached on disk.
"""

from __future__ import annotations

import os
import tempfile
import warnings
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from labkit.splits import check_allocation, check_seed

GENERATOR_VERSION = 2  # 2: the clean difficulty (issue 14): every image unambiguous
CHUNK = 256  # images rendered per vectorised step (fixed: it is part of the seeding)

Array = np.ndarray
SdfFn = Callable[[Array, Array], Array]

# Fixed colours (RGB in 0-1). Each pair is (nearly) its partner's RGB<->BGR swap.
RED, BLUE = (0.88, 0.12, 0.10), (0.10, 0.12, 0.88)
YELLOW, CYAN = (0.95, 0.80, 0.10), (0.10, 0.80, 0.95)
GREEN, MAGENTA, ORANGE = (0.15, 0.75, 0.20), (0.80, 0.15, 0.75), (0.95, 0.55, 0.05)


# ---- signed distance functions in object coordinates (object radius ~ 1) -------------------
def _box(u: Array, v: Array, cu: float, cv: float, hu: float, hv: float) -> Array:
    return np.maximum(np.abs(u - cu) - hu, np.abs(v - cv) - hv)


def _disc(u: Array, v: Array, cu: float = 0.0, cv: float = 0.0, r: float = 0.9) -> Array:
    return np.hypot(u - cu, v - cv) - r


def _polygon(n: int, apothem: float) -> SdfFn:
    sector = 2 * np.pi / n

    def sdf(u: Array, v: Array) -> Array:
        angle = np.arctan2(v, u)
        local = np.mod(angle + sector / 2, sector) - sector / 2
        return np.hypot(u, v) * np.cos(local) - apothem

    return sdf


def _star(u: Array, v: Array) -> Array:
    return (np.hypot(u, v) - (0.62 + 0.33 * np.cos(5 * np.arctan2(v, u)))) * 0.6


def _ring(u: Array, v: Array) -> Array:
    return np.abs(np.hypot(u, v) - 0.68) - 0.2


def _cross(u: Array, v: Array) -> Array:
    return np.minimum(_box(u, v, 0, 0, 0.26, 0.9), _box(u, v, 0, 0, 0.9, 0.26))


def _crescent(u: Array, v: Array) -> Array:
    return np.maximum(_disc(u, v), -_disc(u, v, 0.45, 0.0, 0.72))


def _stripes(u: Array, v: Array) -> Array:
    return np.maximum(_box(u, v, 0, 0, 0.8, 0.8), (np.abs(np.sin(2.5 * np.pi * u)) - 0.5) / 8)


def _ellipse(u: Array, v: Array) -> Array:
    return (np.hypot(u, 2.0 * v) - 0.95) * 0.5


def _diamond(u: Array, v: Array) -> Array:
    return (np.abs(u) / 0.55 + np.abs(v) / 0.95 - 1.0) * 0.45


def _l_shape(u: Array, v: Array) -> Array:
    return np.minimum(_box(u, v, -0.45, 0, 0.22, 0.85), _box(u, v, 0.0, 0.63, 0.67, 0.22))


def _t_shape(u: Array, v: Array) -> Array:
    return np.minimum(_box(u, v, 0, -0.63, 0.85, 0.22), _box(u, v, 0, 0.1, 0.22, 0.75))


def _arrow(u: Array, v: Array) -> Array:
    head = np.maximum(0.2 - u, np.abs(v) - (0.9 - u) * 0.85)
    return np.minimum(_box(u, v, -0.3, 0, 0.55, 0.16), head)


def _double_ring(u: Array, v: Array) -> Array:
    r = np.hypot(u, v)
    return np.minimum(np.abs(r - 0.82) - 0.12, np.abs(r - 0.38) - 0.12)


def _dots(u: Array, v: Array) -> Array:
    d = [_disc(u, v, 0.5, 0.0, 0.3), _disc(u, v, -0.25, 0.43, 0.3), _disc(u, v, -0.25, -0.43, 0.3)]
    return np.minimum(np.minimum(d[0], d[1]), d[2])


def _bar(u: Array, v: Array) -> Array:
    return _box(u, v, 0, 0, 0.95, 0.24)


def _semicircle(u: Array, v: Array) -> Array:
    return np.maximum(_disc(u, v), -v - 0.1)


@dataclass(frozen=True)
class ShapeClass:
    """One class: its name, its shape and, for colour-defined classes, its fixed colour."""

    name: str
    sdf: SdfFn
    colour: tuple[float, float, float] | None = None  # None: a random colour per image


TARGET_CLASSES: tuple[ShapeClass, ...] = (
    ShapeClass("red_disc", _disc, RED),
    ShapeClass("blue_disc", _disc, BLUE),
    ShapeClass("yellow_square", _polygon(4, 0.72), YELLOW),
    ShapeClass("cyan_square", _polygon(4, 0.72), CYAN),
    ShapeClass("ring", _ring),
    ShapeClass("triangle", _polygon(3, 0.5)),
    ShapeClass("cross", _cross),
    ShapeClass("star", _star),
    ShapeClass("crescent", _crescent),
    ShapeClass("stripes", _stripes),
)

SOURCE_CLASSES: tuple[ShapeClass, ...] = (
    ShapeClass("hexagon", _polygon(6, 0.82)),
    ShapeClass("pentagon", _polygon(5, 0.78)),
    ShapeClass("diamond", _diamond),
    ShapeClass("l_shape", _l_shape),
    ShapeClass("t_shape", _t_shape),
    ShapeClass("arrow", _arrow),
    ShapeClass("double_ring", _double_ring),
    ShapeClass("dots", _dots),
    ShapeClass("bar", _bar),
    ShapeClass("semicircle", _semicircle),
    ShapeClass("green_ellipse", _ellipse, GREEN),
    ShapeClass("magenta_ellipse", _ellipse, MAGENTA),
    ShapeClass("orange_ellipse", _ellipse, ORANGE),
)

TASKS: dict[str, tuple[ShapeClass, ...]] = {"target": TARGET_CLASSES, "source": SOURCE_CLASSES}
DEFAULT_SIZE = {"target": 32, "source": 64}


@dataclass(frozen=True)
class Difficulty:
    """Knobs that set how hard the images are (the defaults are the calibrated ones)."""

    scale: tuple[float, float] = (0.26, 0.42)  # object radius as a fraction of the image side
    max_clutter: int = 2  # distractor shapes behind the object (small: never a class lookalike)
    noise: float = 0.04  # std of Gaussian pixel noise (0-1 scale)
    colour_jitter: float = 0.07  # std of the jitter on fixed class colours
    background_mix: float = 0.55  # how grey the background colours are (1 = all grey)


def class_names(task: str = "target") -> list[str]:
    """Names of the classes of a task, in label order."""
    return [c.name for c in _task_classes(task)]


def _task_classes(task: str) -> tuple[ShapeClass, ...]:
    if task not in TASKS:
        raise ValueError(f"unknown shapes task {task!r}; valid tasks: {', '.join(TASKS)}")
    return TASKS[task]


def _hsv_to_rgb(h: Array, s: Array, v: Array) -> Array:
    """Vectorised HSV (all 0-1) to RGB, returns (..., 3)."""
    i = np.floor(h * 6).astype(int) % 6
    f = h * 6 - np.floor(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    sectors = ((v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q))
    table = np.stack([np.stack(c, -1) for c in sectors])
    return np.take_along_axis(table, i[None, ..., None].repeat(3, -1), 0)[0]


def _random_colours(rng: np.random.Generator, n: int) -> Array:
    hsv = rng.random(n), rng.uniform(0.55, 1.0, n), rng.uniform(0.45, 1.0, n)
    return _hsv_to_rgb(*hsv).astype(np.float32)


def _alpha(sdf_local: Array, radius_px: Array) -> Array:
    """Anti-aliased coverage from a signed distance in object units."""
    a = 0.5 - sdf_local * radius_px[:, None, None]
    return np.clip(a, 0.0, 1.0, out=a)[:, None]  # (n, 1, H, W): rendering is channels-first


def _coords(rng: np.random.Generator, n: int, size: int, scale: tuple[float, float]):
    """Random placement: object coordinates (u, v) of every pixel, and the radius in pixels."""
    radius = (rng.uniform(*scale, n) * size).astype(np.float32)
    margin = radius * 0.6
    cx = rng.uniform(margin, size - margin).astype(np.float32)
    cy = rng.uniform(margin, size - margin).astype(np.float32)
    theta = rng.uniform(0, 2 * np.pi, n).astype(np.float32)
    grid = np.arange(size, dtype=np.float32) + 0.5
    dx = (grid[None, None, :] - cx[:, None, None]) / radius[:, None, None]
    dy = (grid[None, :, None] - cy[:, None, None]) / radius[:, None, None]
    cos, sin = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
    return cos * dx + sin * dy, -sin * dx + cos * dy, radius


def _render_chunk(
    y: Array, size: int, classes: tuple[ShapeClass, ...], rng: np.random.Generator, d: Difficulty
) -> Array:
    n = len(y)
    # background: a linear gradient between two greyish random colours
    grey = 0.5
    c0 = (d.background_mix * grey + (1 - d.background_mix) * rng.random((n, 3))).astype(np.float32)
    c1 = (d.background_mix * grey + (1 - d.background_mix) * rng.random((n, 3))).astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi, n).astype(np.float32)
    grid = (np.arange(size, dtype=np.float32) + 0.5) / size - 0.5
    ramp = np.cos(angle)[:, None, None] * grid[None, None, :] + np.sin(angle)[:, None, None] * grid[
        None, :, None
    ]
    ramp = ((ramp + 0.75) / 1.5)[:, None]
    img = c0[:, :, None, None] + ramp * (c1 - c0)[:, :, None, None]

    # clutter: small discs, boxes and bars of random colours behind the object
    small = (d.scale[0] * 0.35, d.scale[0] * 0.8)
    for slot in range(d.max_clutter):
        present = rng.random(n) < 0.8 - 0.15 * slot
        u, v, r = _coords(rng, n, size, small)
        sdf = (_disc, _polygon(4, 0.8), _bar)[slot % 3](u, v)
        a = _alpha(sdf, r) * present[:, None, None, None]
        img += a * (_random_colours(rng, n)[:, :, None, None] - img)

    # the object
    u, v, r = _coords(rng, n, size, d.scale)
    colours = _random_colours(rng, n)
    sdf = np.empty_like(u)
    for label, cls in enumerate(classes):
        idx = np.flatnonzero(y == label)
        if idx.size == 0:
            continue
        sdf[idx] = cls.sdf(u[idx], v[idx])
        if cls.colour is not None:
            jitter = rng.normal(0, d.colour_jitter, (idx.size, 3))
            colours[idx] = np.clip(np.asarray(cls.colour) + jitter, 0, 1)
    tilt = rng.uniform(0, 0.25, n).astype(np.float32)[:, None, None, None]
    shade = 1.0 - tilt * np.clip(v, -1, 1)[:, None]
    a = _alpha(sdf, r)
    img += a * (np.clip(colours[:, :, None, None] * shade, 0, 1) - img)

    noise = rng.standard_normal(img.shape, dtype=np.float32)
    noise *= np.float32(d.noise * 255)
    img *= 255
    img += noise
    img += 0.5
    return np.clip(img, 0, 255, out=img).astype(np.uint8).transpose(0, 2, 3, 1)


def _check_args(n, size, seed, task: str) -> tuple[tuple[ShapeClass, ...], int, int, int]:
    """Checked (classes, n, size, seed), or a ValueError naming the argument; also refuses a
    request that would not fit in memory, before anything is allocated."""
    classes = _task_classes(task)
    size = DEFAULT_SIZE[task] if size is None else size
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 8:
        raise ValueError(f"size must be an integer >= 8 (pixels per side), got {size!r}")
    seed = check_seed(seed, "seed")
    n, size = int(n), int(size)
    check_allocation(estimated_bytes(n, size),
                     f"shapes.generate(n={n:,}, size={size}) ({n:,} images of {size}x{size}x3)")
    return classes, n, size, seed


def _workers(n: int) -> int:
    return max(1, min(os.cpu_count() or 1, -(-n // CHUNK)))


def estimated_bytes(n: int, size: int) -> int:
    """Memory ``generate(n, size)`` needs: the uint8 images and labels, plus ~64 bytes per
    pixel of float32 scratch for each chunk rendering at once (measured: 56-60)."""
    return n * size * size * 3 + 8 * n + _workers(n) * min(n, CHUNK) * size * size * 64


def generate(
    n: int,
    size: int | None = None,
    seed: int = 0,
    task: str = "target",
    difficulty: Difficulty = Difficulty(),
) -> tuple[Array, Array]:
    """Render ``n`` images (uint8, (n, size, size, 3)) and balanced int64 labels; no caching.

    Raises :class:`labkit.splits.TooLargeError` (naming the size) before allocating anything
    when the images would not fit in the memory available now.
    """
    classes, n, size, seed = _check_args(n, size, seed, task)
    label_rng = np.random.default_rng([seed, GENERATOR_VERSION, 0])
    y = label_rng.permutation(np.arange(n) % len(classes)).astype(np.int64)
    x = np.empty((n, size, size, 3), np.uint8)

    def render(start: int) -> None:
        rng = np.random.default_rng([seed, GENERATOR_VERSION, 1, start // CHUNK])
        labels = y[start : start + CHUNK]
        x[start : start + CHUNK] = _render_chunk(labels, size, classes, rng, difficulty)

    # NumPy releases the GIL in its array loops, so chunks render in parallel on every core;
    # each chunk has its own seed, so the result does not depend on the number of workers.
    with ThreadPoolExecutor(max_workers=_workers(n)) as pool:
        list(pool.map(render, range(0, n, CHUNK)))
    return x, y


CACHE_ENV = "LABKIT_CACHE_DIR"


class CacheDirError(ValueError):
    """The shapes cache folder is a file or cannot be written; the message names it."""


def cache_dir() -> Path:
    """Where generated datasets are cached: ``$LABKIT_CACHE_DIR`` or ``~/.cache/labkit``."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "labkit")


def _cache_dir_name(folder: Path) -> str:
    return (f"${CACHE_ENV}={folder}" if os.environ.get(CACHE_ENV)
            else f"the shapes cache folder {folder}")


def _check_cache_dir(folder: Path) -> None:
    """Make sure ``folder`` is a folder we can write, or raise naming it and the fix."""
    fix = (f"Fix: set ${CACHE_ENV} to a folder you can write (or unset it for ~/.cache/labkit), "
           "or call make_shapes(..., cache=False)")
    if folder.exists() and not folder.is_dir():
        raise CacheDirError(f"{_cache_dir_name(folder)} is a file, not a folder. {fix}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".labkit-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise CacheDirError(f"{_cache_dir_name(folder)} cannot be written "
                            f"({err.strerror or err}). {fix}") from err


def _read_cache(path: Path, n: int, size: int, n_classes: int) -> tuple[Array, Array] | None:
    """The cached arrays if the file is whole and holds exactly what was asked, else None
    (after a one-line warning: the caller regenerates it)."""
    try:
        with np.load(path, allow_pickle=False) as saved:
            x, y = saved["x"], saved["y"]
    except Exception as err:  # noqa: BLE001 (BadZipFile, EOFError, KeyError, OSError, ...)
        reason = f"{type(err).__name__}: {err}"
    else:
        if x.shape != (n, size, size, 3) or x.dtype != np.uint8:
            reason = f"x is {x.dtype} {x.shape}, expected uint8 {(n, size, size, 3)}"
        elif y.shape != (n,) or y.dtype != np.int64:
            reason = f"y is {y.dtype} {y.shape}, expected int64 {(n,)}"
        elif n and (y.min() < 0 or y.max() >= n_classes):
            reason = f"labels outside 0..{n_classes - 1}"
        else:
            return x, y
    warnings.warn(f"labkit shapes: cache file {path} is damaged ({reason[:200]}); "
                  "regenerating it", stacklevel=3)
    return None


def _write_cache(path: Path, x: Array, y: Array) -> None:
    """Write atomically: a unique temporary file in the same folder, then ``os.replace``, so
    concurrent writers never collide and readers never see half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, x=x, y=y)
        os.replace(tmp, path)
    except OSError as err:  # disk full, folder removed: the data is still good, keep going
        warnings.warn(f"labkit shapes: could not write cache file {path} ({err}); the "
                      "dataset will be generated again next time", stacklevel=3)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _classes_tag(classes: tuple[ShapeClass, ...]) -> str:
    """A short fingerprint of a task's class list (names, colours), part of the cache file name:
    a cache made before a class was added, removed or recoloured is never read back."""
    text = ";".join(f"{c.name}:{c.colour}" for c in classes)
    return f"-c{zlib.crc32(text.encode()):08x}"


def make_shapes(
    n: int,
    size: int | None = None,
    seed: int = 0,
    task: str = "target",
    cache: bool = True,
) -> tuple[Array, Array]:
    """The shapes dataset with the calibrated difficulty, cached on disk as ``.npz``.

    A damaged or wrong cache file is regenerated (with a warning); a cache folder that is a
    file or cannot be written is named in the error before anything is generated.
    """
    classes, n, size, seed = _check_args(n, DEFAULT_SIZE.get(task, 32) if size is None
                                         else size, seed, task)
    if not cache:
        return generate(n, size, seed, task)
    folder = cache_dir()
    tag = f"{task}{_classes_tag(classes)}"
    path = folder / f"shapes-v{GENERATOR_VERSION}-{tag}-n{n}-s{size}-seed{seed}.npz"
    if path.is_file():
        cached = _read_cache(path, n, size, len(classes))
        if cached is not None:
            return cached
    _check_cache_dir(folder)
    check_allocation(n * size * size * 3 + 8 * n, f"caching {n:,} images in {path}",
                     memory=False, disk=folder)
    x, y = generate(n, size, seed, task)
    _write_cache(path, x, y)
    return x, y
