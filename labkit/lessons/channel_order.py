"""Channel order and colour mode (lesson 09): real image files, two loaders, one probe.

Keras (``keras.utils.load_img``, ``image_dataset_from_directory``) and PIL give RGB; OpenCV's
``cv2.imread`` gives BGR. :func:`write_png_folder` writes images as PNG files in Keras' folder
layout, the ``load_*`` functions read them back the way each library does, and
:func:`channel_permutation_probe` scores a model under all six channel orders: the order that
restores accuracy names the bug. The colour-pair helpers measure the classes of labkit shapes that
differ only by colour (red vs blue disc, yellow vs cyan square: each other's RGB<->BGR swap).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from itertools import permutations
from pathlib import Path

import numpy as np

from labkit import train
from labkit.train import Scores

ORDERS = tuple("".join(p) for p in permutations("RGB"))  # RGB, RBG, GRB, GBR, BRG, BGR
COLOUR_PAIRS = (("red_disc", "blue_disc"), ("yellow_square", "cyan_square"))
LUMA = (0.299, 0.587, 0.114)  # ITU-R 601: PIL .convert("L"), OpenCV, TF's grayscale decode
PIL_MODES = ("RGB", "RGBA", "L", "P")
COLOR_MODES = ("rgb", "grayscale", "rgba")
PathLike = str | os.PathLike[str]


# ---- channel order ----------------------------------------------------------------------------
def _order(order: str) -> str:
    if not isinstance(order, str) or sorted(order.upper()) != sorted("RGB"):
        raise ValueError(f"order must name the three channels R, G, B once each (one of "
                         f"{', '.join(ORDERS)}), got {order!r}")
    return order.upper()


def as_rgb(x: np.ndarray, order: str) -> np.ndarray:
    """Images whose channels are stored in ``order`` (e.g. ``"BGR"`` from cv2.imread), as RGB."""
    x = np.asarray(x)
    if x.ndim < 3 or x.shape[-1] != 3:
        raise ValueError(f"x must hold 3-channel images, channels last, got shape {x.shape}; "
                         "grayscale and RGBA images have no channel order to fix")
    stored = _order(order)
    return x[..., [stored.index(c) for c in "RGB"]]


def channel_permutation_probe(model, x: np.ndarray, y: np.ndarray,
                              n_classes: int | None = None) -> dict[str, Scores]:
    """Score ``model`` on ``x`` read as each of the six channel orders (``{order: Scores}``).

    ``model`` needs only ``predict(x, batch_size=..., verbose=0)``. If the images are in the
    order the model was trained on, ``"RGB"`` (as stored) scores best; if ``"BGR"`` scores best,
    the images arrive with red and blue swapped (cv2.imread) and ``as_rgb(x, "BGR")`` fixes them.
    """
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} images but y has {len(y)} labels; pass matching arrays")
    return {order: train.evaluate(model, as_rgb(x, order), y, n_classes) for order in ORDERS}


def best_order(probe: dict[str, Scores]) -> str:
    """The channel order with the highest accuracy in a probe (``"RGB"`` wins ties)."""
    if not probe:
        raise ValueError("probe is empty; pass the result of channel_permutation_probe")
    return max(probe, key=lambda order: (probe[order].accuracy, order == "RGB"))


# ---- colour mode ------------------------------------------------------------------------------
def to_grayscale(x: np.ndarray, method: str = "luma", channels: int = 1) -> np.ndarray:
    """uint8 grayscale of RGB images, ``channels`` (1 or 3) copies of it in the last axis.

    ``"luma"`` weighs R, G, B as 0.299, 0.587, 0.114 (PIL ``convert("L")``, OpenCV and
    ``image_dataset_from_directory(color_mode="grayscale")`` agree to within 1 level);
    ``"mean"`` averages the channels.
    """
    x = np.asarray(x)
    if x.ndim < 3 or x.shape[-1] != 3:
        raise ValueError(f"x must hold RGB images, channels last, got shape {x.shape}")
    if method == "luma":
        gray = x.astype(np.float32) @ np.asarray(LUMA, np.float32)
    elif method == "mean":
        gray = x.astype(np.float32).mean(-1)
    else:
        raise ValueError(f"method must be 'luma' or 'mean', got {method!r}")
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (a 1-channel model) or 3 (copies for a 3-channel "
                         f"model), got {channels!r}")
    gray = np.clip(np.rint(gray), 0, 255).astype(np.uint8)[..., None]
    return np.repeat(gray, channels, axis=-1)


# ---- image files and the loaders that read them ------------------------------------------------
def write_png_folder(x: np.ndarray, y: np.ndarray, class_names: Sequence[str], root: PathLike,
                     mode: str | Sequence[str] = "RGB") -> list[Path]:
    """Save RGB uint8 images as ``root/<class>/<index>.png`` (Keras' layout); their paths.

    ``mode`` is the PIL mode to save in ("RGB", "RGBA", "L" or "P"), one for all images or one
    per image. File names are the images' indices, zero-padded, so sorting names restores order.
    """
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim != 4 or x.shape[-1] != 3 or x.dtype != np.uint8:
        raise ValueError(f"x must be uint8 RGB images (N, H, W, 3), got {x.dtype} {x.shape}; "
                         "fix: np.clip(x, 0, 255).astype(np.uint8)")
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} images but y has {len(y)} labels; pass matching arrays")
    if len(y) and (y.min() < 0 or y.max() >= len(class_names)):
        raise ValueError(f"labels must be in [0, {len(class_names)}) to name a class folder, "
                         f"got {int(y.min())}..{int(y.max())}; pass all the class names")
    modes = [mode] * len(x) if isinstance(mode, str) else list(mode)
    if len(modes) != len(x) or any(m not in PIL_MODES for m in modes):
        raise ValueError(f"mode must be one of {PIL_MODES} or a list of them, one per image "
                         f"({len(x)} images), got {mode!r}")
    root = Path(root)
    if root.exists() and any(root.iterdir()):
        raise ValueError(f"{root} is not empty; pass a new or empty folder "
                         "(e.g. tempfile.mkdtemp()) so no old images mix in")
    from PIL import Image

    width = max(5, len(str(len(x))))
    paths = []
    for i, (img, label, m) in enumerate(zip(x, y, modes, strict=True)):
        path = root / class_names[int(label)] / f"{i:0{width}d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        pil = Image.fromarray(img, "RGB")
        if m == "P":
            pil = pil.quantize(256)
        elif m != "RGB":
            pil = pil.convert(m)
        pil.save(path)
        paths.append(path)
    return paths


def _paths(paths: Sequence[PathLike]) -> list[Path]:
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("paths is empty; pass the image files to load")
    return paths


def load_like_keras(paths: Sequence[PathLike], color_mode: str = "rgb") -> np.ndarray:
    """Read files with ``keras.utils.load_img`` (PIL underneath): uint8 RGB, 1-ch gray or RGBA."""
    import keras

    if color_mode not in COLOR_MODES:
        raise ValueError(f"color_mode must be one of {COLOR_MODES}, got {color_mode!r}")
    return np.stack([keras.utils.img_to_array(keras.utils.load_img(p, color_mode=color_mode),
                                              dtype="uint8") for p in _paths(paths)])


def load_like_opencv(paths: Sequence[PathLike], to_rgb: bool = False) -> np.ndarray:
    """Read files with ``cv2.imread``: uint8 **BGR**; ``to_rgb`` adds ``cv2.cvtColor`` (the fix)."""
    import cv2

    images = []
    for path in _paths(paths):
        img = cv2.imread(str(path))  # None (no exception) for a missing or unreadable file
        if img is None:
            raise ValueError(f"cv2.imread could not read {path} (missing, empty or not an "
                             "image); check the path and the file")
        images.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB) if to_rgb else img)
    return np.stack(images)


def two_loaders(paths: Sequence[PathLike], fraction: float = 0.5,
                seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A training set merged from two pipelines: ``(x, read_by_opencv)``.

    A random ``fraction`` of the files is read with ``cv2.imread`` (BGR), the rest with
    ``keras.utils.load_img`` (RGB), in the order of ``paths``; ``read_by_opencv`` marks which.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1] (the share read by cv2.imread), "
                         f"got {fraction!r}")
    paths = _paths(paths)
    by_opencv = np.random.default_rng(seed).random(len(paths)) < fraction
    x = np.empty((len(paths),) + load_like_keras(paths[:1]).shape[1:], np.uint8)
    for flag, loader in ((True, load_like_opencv), (False, load_like_keras)):
        idx = np.flatnonzero(by_opencv == flag)
        if idx.size:
            x[idx] = loader([paths[i] for i in idx])
    return x, by_opencv


def load_folder(root: PathLike, color_mode: str = "rgb",
                class_names: Sequence[str] | None = None,
                image_size: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``keras.utils.image_dataset_from_directory(root, color_mode=...)`` as uint8 arrays.

    Images come back in file-name order across class folders (for :func:`write_png_folder`'s
    files: the order they were written in) with their folder labels: label i is
    ``class_names[i]`` (a class without a folder just has no images; folders not named are
    skipped), or the i-th folder in alphabetical order (Keras' default) without it.
    ``image_size`` defaults to the first image's size, so nothing is resized.
    """
    import keras

    if color_mode not in COLOR_MODES:
        raise ValueError(f"color_mode must be one of {COLOR_MODES}, got {color_mode!r}")
    root = Path(root)
    files = sorted(p for p in root.glob("*/*") if p.is_file())
    if not files:
        raise ValueError(f"{root} holds no <class>/<image> files; write them with "
                         "write_png_folder or pass the folder that holds the class folders")
    if image_size is None:
        from PIL import Image

        with Image.open(files[0]) as img:
            image_size = (img.height, img.width)
    present = None
    if class_names is not None:  # Keras wants only names that have a folder
        present = [n for n in class_names if (root / n).is_dir()]
        if not present:
            raise ValueError(f"none of class_names {list(class_names)} is a folder in {root}; "
                             "pass the class names the folders are called")
    ds = keras.utils.image_dataset_from_directory(
        str(root), labels="inferred", label_mode="int", color_mode=color_mode,
        class_names=present, image_size=tuple(image_size), batch_size=None, shuffle=False,
        verbose=False)
    pairs = list(ds.as_numpy_iterator())
    x = np.stack([img for img, _ in pairs])
    y = np.asarray([label for _, label in pairs], np.int64)
    if present is not None:
        y = np.asarray([list(class_names).index(n) for n in present], np.int64)[y]
    order = np.argsort([Path(p).name for p in ds.file_paths], kind="stable")
    return np.clip(np.rint(x[order]), 0, 255).astype(np.uint8), y[order]


# ---- the colour-pair classes ------------------------------------------------------------------
def _pair_indices(class_names: Sequence[str],
                  pairs: Sequence[tuple[str, str]]) -> list[tuple[int, int]]:
    names = list(class_names)
    missing = [n for pair in pairs for n in pair if n not in names]
    if missing:
        raise ValueError(f"class_names lack the colour-pair classes {missing}; these metrics are "
                         "for labkit shapes, or pass pairs=[(name_a, name_b), ...] of your data")
    return [(names.index(a), names.index(b)) for a, b in pairs]


def pair_recall(scores: Scores, class_names: Sequence[str],
                pairs: Sequence[tuple[str, str]] = COLOUR_PAIRS) -> float:
    """Mean recall of the classes in ``pairs`` (classes told apart by colour alone)."""
    idx = [i for pair in _pair_indices(class_names, pairs) for i in pair]
    return float(np.mean([scores.per_class_recall[i] for i in idx]))


def other_recall(scores: Scores, class_names: Sequence[str],
                 pairs: Sequence[tuple[str, str]] = COLOUR_PAIRS) -> float:
    """Mean recall of every class not in ``pairs`` (for labkit shapes: the shape classes)."""
    idx = {i for pair in _pair_indices(class_names, pairs) for i in pair}
    rest = [r for i, r in enumerate(scores.per_class_recall) if i not in idx]
    if not rest:
        raise ValueError("every class is in a pair; there are no other classes to average")
    return float(np.mean(rest))


def partner_rate(scores: Scores, class_names: Sequence[str],
                 pairs: Sequence[tuple[str, str]] = COLOUR_PAIRS) -> float:
    """Fraction of the pair classes' images predicted as their partner (red disc -> blue disc)."""
    cm = np.asarray(scores.confusion)
    hits = total = 0
    for a, b in _pair_indices(class_names, pairs):
        hits += int(cm[a, b] + cm[b, a])
        total += int(cm[a].sum() + cm[b].sum())
    return hits / total if total else 0.0


def pair_table(runs: dict[str, Scores], class_names: Sequence[str],
               pairs: Sequence[tuple[str, str]] = COLOUR_PAIRS) -> str:
    """A text table: accuracy, recall of each pair class, partner rate and shape recall per run."""
    idx = [i for pair in _pair_indices(class_names, pairs) for i in pair]
    heads = [class_names[i] for i in idx] + ["to partner", "other classes"]
    rows = [f"{'':<30} {'accuracy':>8} " + " ".join(f"{h:>13}" for h in heads)]
    for name, s in runs.items():
        cells = [s.per_class_recall[i] for i in idx]
        cells += [partner_rate(s, class_names, pairs), other_recall(s, class_names, pairs)]
        rows.append(f"{name:<30} {s.accuracy:8.1%} " + " ".join(f"{c:13.1%}" for c in cells))
    return "\n".join(rows)
