"""The offline base's source task: its data, its held-out accuracy, and the shipped records.

The source task (13 shapes classes at 64x64, see :mod:`labkit.shapes`) is what the offline
MiniVGG bases were pretrained on by ``python -m labkit.dev.pretrain``; lessons use it to measure
forgetting, tests to check the shipped weights.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from labkit import models, shapes

SOURCE_SIZE = 64
HELD_OUT_SEED = 10_001  # the held-out source sample used by the tests


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def metadata_file(backbone: str = "minivgg") -> Path:
    """The JSON record of how the shipped weights of ``backbone`` were made."""
    return models.shipped_record(backbone)


def load_source_head(backbone: str = "minivgg") -> list[np.ndarray]:
    """The shipped source-task head's weights (kernel, bias), as ``main`` saved them.

    A missing, truncated or damaged file raises an error naming it and the fix.
    """
    path = models.source_head_file(backbone)
    fix = (f"Fix: restore it from git (`git checkout -- {path}`) or recreate it with "
           f"`python -m labkit.dev.pretrain --backbone {backbone}`")
    if not path.is_file():
        raise FileNotFoundError(f"the shipped {backbone} source head is missing: {path}. {fix}")
    try:
        with np.load(path, allow_pickle=False) as saved:
            keys = sorted(saved.files, key=lambda k: int(k.split("_")[1]))
            head = [saved[k] for k in keys]
    except Exception as err:  # noqa: BLE001 (BadZipFile, EOFError, ValueError, ...)
        raise models.WeightsFileError(
            f"cannot read the shipped {backbone} source head {path} ({type(err).__name__}: "
            f"{err}); it is damaged or truncated. {fix}") from err
    if len(head) != 2 or head[0].ndim != 2 or head[1].shape != head[0].shape[-1:]:
        raise models.WeightsFileError(
            f"the shipped {backbone} source head {path} holds arrays of shapes "
            f"{[a.shape for a in head]}, expected a kernel (features, classes) and a bias. {fix}")
    if not all(np.isfinite(a).all() for a in head):
        raise models.WeightsFileError(f"the shipped {backbone} source head {path} holds NaN or "
                                      f"inf values. {fix}")
    return head


def source_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Source-task images (64x64) and labels."""
    return shapes.make_shapes(n, SOURCE_SIZE, seed=seed, task="source")


def source_classifier(base):
    """MiniVGG base + a linear softmax head over the source classes."""
    n_classes = len(shapes.class_names("source"))
    return models.attach_head(base, n_classes)


def source_accuracy(base, head_weights: list[np.ndarray], n: int = 1000) -> float:
    """Accuracy of base + saved source head on a held-out source sample."""
    model = source_classifier(base)
    model.get_layer("head").set_weights(head_weights)
    x, y = source_data(n, HELD_OUT_SEED)
    pred = model.predict(models.caffe_preprocess(x), verbose=0).argmax(1)
    return float((pred == y).mean())
