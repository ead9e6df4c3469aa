"""From-scratch CNN runs shared by lessons 01 (preprocessing), 03 (LR) and 05 (imbalance)."""

from __future__ import annotations

import numpy as np

from labkit import models, train
from labkit.config import seed_everything
from labkit.lessondata import LessonData


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
    epochs: int,
    lr: float = 1e-3,
    optimizer: str = "adam",
    rescale: bool = True,
    x_train: np.ndarray | None = None,
    y_train: np.ndarray | None = None,
    class_weight: dict[int, float] | None = None,
    validation_split: float = 0.0,
    callbacks: list | None = None,
    batch_size: int = 64,
    seed: int = 0,
    progress: bool = True,
):
    """``build_scratch`` then train; the model sees raw pixels unless ``rescale``.

    Returns ``(model, run)``. ``x_train``/``y_train`` replace the lesson's training set
    (imbalanced or oversampled variants). Validation uses ``data``'s validation set, unless
    ``validation_split`` asks Keras to hold out the last fraction of the training arrays.
    """
    x = data.x_train if x_train is None else x_train
    y = data.y_train if y_train is None else y_train
    model = build_scratch(data, lr=lr, optimizer=optimizer, rescale=rescale, seed=seed)
    run = train.fit(model, x, y, name=name, epochs=epochs, batch_size=batch_size,
                    validation_data=None if validation_split else (data.x_val, data.y_val),
                    validation_split=validation_split, class_weight=class_weight,
                    callbacks=callbacks, progress=progress)
    return model, run
