"""From-scratch CNN runs shared by lessons 01 (preprocessing), 03 (LR) and 05 (imbalance)."""

from __future__ import annotations

import numpy as np

from labkit import models, train
from labkit.config import seed_everything
from labkit.lessondata import LessonData
from labkit.train import FitSettings


def build_scratch(data: LessonData, *, lr: float = 1e-3, optimizer: str = "adam",
                  rescale: bool = True, seed: int = 0):
    """Seed, then build and compile ``models.scratch_cnn`` for ``data`` (1/255 layer or raw)."""
    seed_everything(seed)
    model = models.scratch_cnn(data.x_train.shape[1:], data.n_classes,
                               rescale=1 / 255 if rescale else None)
    return models.compile_classifier(model, lr=lr, optimizer=optimizer)


def train_scratch(
    data: LessonData,
    *,
    name: str,
    fit: FitSettings,
    rescale: bool = True,
    x_train: np.ndarray | None = None,
    y_train: np.ndarray | None = None,
    class_weight: dict[int, float] | None = None,
    validation_split: float = 0.0,
):
    """``build_scratch`` (with ``fit``'s seed, LR and optimizer) then train with ``fit``.

    The model sees raw pixels unless ``rescale``. Returns ``(model, run)``.
    ``x_train``/``y_train`` replace the lesson's training set (imbalanced or oversampled
    variants). Validation uses ``data``'s validation set, unless ``validation_split`` asks Keras
    to hold out the last fraction of the training arrays.
    """
    x = data.x_train if x_train is None else x_train
    y = data.y_train if y_train is None else y_train
    model = build_scratch(data, lr=fit.lr, optimizer=fit.optimizer, rescale=rescale, seed=fit.seed)
    run = train.fit_with(model, x, y, fit, name=name,
                         validation_data=None if validation_split else (data.x_val, data.y_val),
                         validation_split=validation_split, class_weight=class_weight)
    return model, run
