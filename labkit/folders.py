"""A learner's own images: check the folder first, then load it with Keras.

``keras.utils.image_dataset_from_directory`` expects ``directory/<class name>/<image files>``.
It silently skips files with other extensions, turns any subfolder (even ``__MACOSX``) into a
class, and only fails on a corrupt file in the middle of ``fit``. :func:`check_image_folder`
finds those problems up front and names each file with its fix; :func:`load_image_folder` runs
the check, then calls Keras.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

ALLOWED_EXT = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
# Formats TensorFlow's decode_image reads (PIL's names; MPO is a multi-picture JPEG).
TF_FORMATS = {"JPEG", "MPO", "PNG", "BMP", "GIF"}
IGNORED_FILES = {".DS_Store", "Thumbs.db", "desktop.ini"}  # OS clutter Keras skips anyway
MODE_NAMES = {"RGB": "RGB", "L": "grayscale", "LA": "grayscale+alpha", "RGBA": "RGBA",
              "P": "palette", "CMYK": "CMYK", "1": "black/white", "I;16": "16-bit grayscale"}
IMBALANCE_WARN = 1.5  # largest / smallest class above this gets a warning
MIN_PER_CLASS = 2  # fewer usable images than this in a class is a problem (validation split)
MAX_EXAMPLES = 3


@dataclass
class FolderReport:
    """What :func:`check_image_folder` found. ``problems`` block loading; ``warnings`` don't."""

    directory: Path
    counts: dict[str, int] = field(default_factory=dict)  # usable images per class
    problems: list[str] = field(default_factory=list)  # each names the file and the fix
    warnings: list[str] = field(default_factory=list)  # colour modes, imbalance, ignored files
    modes: dict[str, int] = field(default_factory=dict)  # PIL mode -> number of images

    @property
    def ok(self) -> bool:
        """True when nothing would break loading or training."""
        return not self.problems

    @property
    def class_names(self) -> list[str]:
        """Class names in Keras' order (sorted folder names)."""
        return sorted(self.counts)

    @property
    def n_images(self) -> int:
        return sum(self.counts.values())

    @property
    def imbalance(self) -> float:
        """Largest class / smallest non-empty class (1.0 = balanced)."""
        sizes = [n for n in self.counts.values() if n]
        return max(sizes) / min(sizes) if sizes else 1.0

    def __str__(self) -> str:
        per_class = ", ".join(f"{name} {self.counts[name]}" for name in self.class_names)
        lines = [f"{self.directory}: {len(self.counts)} classes, {self.n_images} usable images"
                 + (f" ({per_class})" if per_class else "")]
        if self.problems:
            lines.append(f"{len(self.problems)} problem(s) to fix before training:")
            lines += [f"  - {p}" for p in self.problems]
        else:
            lines.append("no problems found")
        if self.warnings:
            lines.append("notes:")
            lines += [f"  - {w}" for w in self.warnings]
        return "\n".join(lines)


def _examples(paths: Iterable[Path], root: Path) -> str:
    paths = list(paths)
    shown = ", ".join(str(p.relative_to(root)) for p in paths[:MAX_EXAMPLES])
    more = f" and {len(paths) - MAX_EXAMPLES} more" if len(paths) > MAX_EXAMPLES else ""
    return shown + more


def _mode(mode: str) -> str:
    name = MODE_NAMES.get(mode, mode)
    return name if name == mode else f"{name} ({mode})"


def _clutter(path: Path, allowed: tuple[str, ...]) -> bool:
    """OS files and dotfiles (.gitkeep) that Keras skips; hidden *images* still count."""
    return path.name in IGNORED_FILES or (path.name.startswith(".")
                                          and path.suffix.lower() not in allowed)


def _inspect(path: Path) -> tuple[str | None, str | None, str | None]:
    """(problem, PIL format, PIL mode) for one image file; decodes it fully."""
    if path.stat().st_size == 0:
        return "is empty (0 bytes); delete it or copy it again", None, None
    try:
        with Image.open(path) as img:
            fmt, mode = img.format, img.mode
            img.verify()  # checks structure (e.g. PNG checksums)
        with Image.open(path) as img:
            img.load()  # decodes all pixels: catches truncated files verify() misses
    except Exception as err:  # PIL raises many types for bad files
        reason = str(err) or type(err).__name__
        return (f"cannot be decoded ({reason}); delete it or replace it with a good copy",
                None, None)
    if fmt not in TF_FORMATS:
        return (f"is really a {fmt} file despite its {path.suffix} name, which TensorFlow cannot "
                f"decode; convert it: Image.open(p).convert('RGB').save(p.with_suffix('.png'))"
                ", then delete the original", fmt, mode)
    return None, fmt, mode


def check_image_folder(
    directory: str | os.PathLike[str], allowed_ext: tuple[str, ...] = ALLOWED_EXT,
    min_per_class: int = MIN_PER_CLASS,
) -> FolderReport:
    """Check ``directory/<class>/<images>`` the way Keras will read it; see :class:`FolderReport`.

    Finds: a missing folder or no class subfolders, empty classes, unsupported extensions,
    empty (0-byte) or corrupt files, files whose content is another format, classes with fewer
    than ``min_per_class`` usable images, mixed colour modes, and class imbalance.
    """
    if isinstance(min_per_class, bool) or not isinstance(min_per_class, int) or min_per_class < 1:
        raise ValueError(f"min_per_class must be an integer >= 1, got {min_per_class!r}")
    root = Path(directory).expanduser()
    report = FolderReport(root)
    allowed = tuple(e.lower() for e in allowed_ext)
    if not root.exists():
        report.problems.append(f"folder {root} does not exist; pass the folder that holds one "
                               "subfolder per class (check the path and the working directory "
                               f"{Path.cwd()})")
        return report
    if not root.is_dir():
        report.problems.append(f"{root} is a file, not a folder; pass the folder that holds one "
                               "subfolder per class (unzip archives first)")
        return report
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    loose = [p for p in root.iterdir() if p.is_file() and p.suffix.lower() in allowed]
    if not class_dirs:
        hint = (f" ({len(loose)} images lie directly in it)" if loose else "")
        report.problems.append(
            f"{root} has no class subfolders{hint}; Keras expects {root}/<class name>/<images>: "
            "make one subfolder per class and move each image into its class's folder")
        return report
    if loose:
        report.warnings.append(f"{len(loose)} image(s) directly in {root} are ignored by Keras "
                               f"(they have no class folder): {_examples(loose, root)}; move "
                               "them into their class's folder")
    if len(class_dirs) == 1:
        report.problems.append(f"{root} has only one class folder ({class_dirs[0].name}); a "
                               "classifier needs at least two: add a folder per class")

    modes: Counter[str] = Counter()
    mode_files: dict[str, list[Path]] = {}
    for class_dir in class_dirs:
        name = class_dir.name
        if name == "__MACOSX":
            report.problems.append(f"{class_dir} is macOS zip metadata, not a class, but Keras "
                                   "would make it one; delete the folder")
        files = sorted(p for p in class_dir.rglob("*") if p.is_file() and not _clutter(p, allowed))
        usable = 0
        unsupported = [p for p in files if p.suffix.lower() not in allowed]
        for path in unsupported:
            report.problems.append(
                f"{path} has an unsupported extension {path.suffix or '(none)'!r}; Keras "
                f"silently skips it. Convert it to .png or .jpg, or delete it (allowed: "
                f"{', '.join(allowed)})")
        for path in files:
            if path.suffix.lower() not in allowed:
                continue
            problem, _fmt, mode = _inspect(path)
            if problem:
                report.problems.append(f"{path} {problem}")
                continue
            usable += 1
            if mode is not None:
                modes[mode] += 1
                mode_files.setdefault(mode, []).append(path)
        report.counts[name] = usable
        if 0 < usable < min_per_class:
            report.problems.append(
                f"class folder {class_dir} has only {usable} usable image(s); at least "
                f"{min_per_class} are needed (a validation split needs some of each class, and a "
                "model needs far more to learn one): add images, merge the class into another, "
                "or delete the folder")
        if usable == 0 and name != "__MACOSX":
            extra = f" ({len(files)} unusable file(s), see above)" if files else ""
            report.problems.append(
                f"class folder {class_dir} has no usable images{extra}; add images or delete "
                "the folder (Keras would still give it a label, one the model never sees)")

    report.modes = dict(modes)
    if len(modes) > 1 or (modes and "RGB" not in modes):
        parts = ", ".join(f"{_mode(m)} {n}" for m, n in modes.most_common())
        examples = "; ".join(f"{_mode(m)}: {_examples(mode_files[m], root)}"
                             for m in sorted(mode_files) if m != "RGB")
        report.warnings.append(
            f"colour modes differ: {parts}. load_image_folder reads every image as 3-channel RGB "
            "(color_mode='rgb'): grayscale is copied to R, G and B, and alpha is dropped "
            "(transparent areas show whatever colour is stored under them). If one class is "
            f"mostly grayscale, the model can learn colour instead of content. Non-RGB: {examples}")
    sizes = {n: c for n, c in report.counts.items() if c}
    if len(sizes) >= 2 and report.imbalance > IMBALANCE_WARN:
        big, small = max(sizes, key=sizes.__getitem__), min(sizes, key=sizes.__getitem__)
        report.warnings.append(
            f"class imbalance: largest {big!r} {sizes[big]} vs smallest {small!r} {sizes[small]} "
            f"images ({report.imbalance:.1f}x); accuracy can look good by mostly predicting "
            f"{big!r}. Check per-class recall; consider labkit.splits.class_weights or oversample")
    return report


def load_image_folder(
    directory: str | os.PathLike[str],
    image_size: int | tuple[int, int] = (32, 32),
    batch_size: int = 32,
    validation_split: float | None = 0.2,
    seed: int = 42,
    subset: str | None = "both",
    strict: bool = True,
    verbose: bool = True,
    min_per_class: int = MIN_PER_CLASS,
) -> tuple[Any, Any, list[str]]:
    """Check the folder, then ``keras.utils.image_dataset_from_directory`` (RGB, int labels).

    Returns ``(train_ds, val_ds, class_names)``; ``val_ds`` is None without a validation split
    (or with ``subset="training"``), ``train_ds`` is None with ``subset="validation"``.
    With ``strict`` (default) any problem raises a ValueError listing every bad file and its
    fix; otherwise problems are printed and Keras skips or fails on those files itself.
    Keras' split is random by file, not stratified: check the per-class counts of small sets.
    """
    if subset not in ("both", "training", "validation", None):
        raise ValueError(f"subset must be 'both', 'training', 'validation' or None, "
                         f"got {subset!r}")
    if validation_split is not None and not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be in [0, 1) or None, got {validation_split!r}")
    size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if len(size) != 2 or any(int(s) < 1 for s in size):
        raise ValueError(f"image_size must be an int or (height, width), got {image_size!r}")
    report = check_image_folder(directory, min_per_class=min_per_class)
    if strict and not report.ok:
        raise ValueError(f"cannot load images from {report.directory}:\n{report}\n"
                         "Fix the problems above, or pass strict=False to let Keras skip or "
                         "fail on those files itself.")
    if verbose and (report.problems or report.warnings):
        print(report)

    import keras

    common: dict[str, Any] = dict(
        labels="inferred", label_mode="int", color_mode="rgb", batch_size=batch_size,
        image_size=tuple(int(s) for s in size), shuffle=True, seed=seed,
    )
    if not validation_split:
        ds = keras.utils.image_dataset_from_directory(str(report.directory), **common)
        return ds, None, list(ds.class_names)
    keras_subset = subset or "both"
    result = keras.utils.image_dataset_from_directory(
        str(report.directory), validation_split=validation_split, subset=keras_subset, **common)
    if keras_subset == "both":
        train_ds, val_ds = result
    elif keras_subset == "training":
        train_ds, val_ds = result, None
    else:
        train_ds, val_ds = None, result
    names = (train_ds if train_ds is not None else val_ds).class_names
    return train_ds, val_ds, list(names)
