"""The reference every side-by-side shows: what a well-trained model reaches on the lesson data.

``well_trained(data)`` trains the course's from-scratch CNN (``scratch.COURSE`` with
``scratch.COURSE_FIT``: BatchNorm, Adam with a cosine schedule) on the lesson's training images
and scores it on the test images. It costs about a minute on two CPU cores, so the scores are
cached on disk (``$LABKIT_CACHE_DIR`` or ``~/.cache/labkit``) under a key made from the images,
the labels, the recipe and the Keras version: a second notebook on the same data and machine
reads them back; any change to the data or the recipe trains again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from labkit import scratch, shapes, train
from labkit.lessondata import LessonData

LABEL = "a well-trained model on this data"


def _key(data: LessonData, seed: int) -> str:
    import keras

    digest = hashlib.sha256()
    for array in (data.x_train, data.y_train, data.x_test, data.y_test):
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(repr((scratch.COURSE, scratch.COURSE_FIT.replace(seed=seed, progress=False),
                        keras.__version__)).encode())
    return digest.hexdigest()[:20]


def _cache_file(key: str) -> Path:
    return shapes.cache_dir() / f"reference-{key}.json"


def _read(path: Path, n_classes: int) -> train.Scores | None:
    try:
        saved = json.loads(path.read_text())
        recall = tuple(float(r) for r in saved["per_class_recall"])
        confusion = np.asarray(saved["confusion"], dtype=np.int64)
        if len(recall) != n_classes or confusion.shape != (n_classes, n_classes):
            return None
        return train.Scores(float(saved["accuracy"]), float(saved["balanced_accuracy"]),
                            float(saved["macro_f1"]), recall, confusion)
    except (OSError, ValueError, KeyError, TypeError):  # missing or damaged: train again
        return None


def _write(path: Path, scores: train.Scores) -> None:
    record = {**dataclasses.asdict(scores), "confusion": scores.confusion.tolist()}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(record, f)
        os.replace(tmp, path)
    except OSError:  # a read-only cache: the scores are still good, they are just not kept
        pass


def well_trained(data: LessonData, seed: int = 0) -> train.Scores:
    """Test scores of the course's CNN trained on ``data`` with ``seed`` (cached on disk)."""
    path = _cache_file(_key(data, seed))
    cached = _read(path, data.n_classes) if path.is_file() else None
    if cached is not None:
        print(f"reference ({LABEL}): read from {path.name}, trained earlier on these images")
        return cached
    print(f"reference ({LABEL}): training the course's CNN once on these images "
          f"(~1 min on 2 CPU cores; cached for the next notebook)")
    fit = scratch.COURSE_FIT.replace(seed=seed, progress=False)
    model, _ = scratch.train_scratch(data, name="reference", fit=fit)
    scores = train.evaluate(model, data.x_test, data.y_test, data.n_classes)
    _write(path, scores)
    return scores


def line(data: LessonData, seed: int = 0, metric: str = "accuracy") -> tuple[str, float]:
    """``(label, value)`` of ``well_trained`` for a chart's reference line."""
    if metric not in ("accuracy", "balanced_accuracy"):
        raise ValueError(f"metric must be 'accuracy' or 'balanced_accuracy', got {metric!r}")
    return LABEL, float(getattr(well_trained(data, seed), metric))


def record(data: LessonData, model, seed: int = 0) -> train.Scores:
    """Score ``model`` on ``data``'s test images and keep the scores as ``well_trained``'s for
    ``(data, seed)``: for a lesson whose fix *is* the course's CNN trained with
    ``scratch.COURSE_FIT.replace(seed=seed)``, so later notebooks need not train it again."""
    scores = train.evaluate(model, data.x_test, data.y_test, data.n_classes)
    _write(_cache_file(_key(data, seed)), scores)
    return scores
