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
    return models.shipped_weights(backbone).with_name(f"{backbone}_source.json")


def load_source_head(backbone: str = "minivgg") -> list[np.ndarray]:
    """The shipped source-task head's weights (kernel, bias), as ``main`` saved them."""
    with np.load(models.source_head_file(backbone)) as saved:
        return [saved[k] for k in sorted(saved.files, key=lambda k: int(k.split("_")[1]))]


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
