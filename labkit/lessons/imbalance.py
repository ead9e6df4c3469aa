"""Class imbalance (lesson 05): the fixes, as the arguments they add to ``transfer.train_head``.

The lesson's head trains on frozen-base features; each fix changes what it trains on (or how
each image's loss is weighted). One mapping serves the lesson, its exercise and its panel.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from labkit import models, pipelines, splits

FIXES = ("none", "class weights", "oversampling", "targeted augmentation")


def fix_arguments(fix: str, x_train: np.ndarray, y_train: np.ndarray, train_features: np.ndarray,
                  *, base, preprocess, size: int | None, n_classes: int, seed: int,
                  augment=None) -> dict[str, Any]:
    """The keyword arguments ``transfer.train_head`` needs to train with ``fix``.

    - ``"none"``: nothing; ``"class weights"``: ``class_weight`` (``splits.class_weights``);
    - ``"oversampling"``: the rare classes' features repeated (``splits.oversample``);
    - ``"targeted augmentation"``: every class topped up with augmented copies of its own images
      (``pipelines.augment_minority`` with ``augment``, a Keras augmentation model), then their
      features from ``base`` (the images ``x_train`` and ``train_features`` must match).
    """
    if fix not in FIXES:
        raise ValueError(f"unknown fix {fix!r}; use one of {list(FIXES)}")
    if fix == "class weights":
        return {"class_weight": splits.class_weights(y_train, n_classes)}
    if fix == "oversampling":
        x_over, y_over = splits.oversample(train_features, y_train, seed=seed)
        return {"x_train": x_over, "y_train": y_over}
    if fix == "targeted augmentation":
        if augment is None:
            raise ValueError("targeted augmentation needs augment=, a Keras augmentation model "
                             "(e.g. overfitting.augmentation_layers(0.1))")
        x_aug, y_aug = pipelines.augment_minority(x_train, y_train, augment, seed=seed)
        features = models.extract_features(base, x_aug, preprocess, size=size)
        return {"x_train": features.reshape(len(x_aug), -1), "y_train": y_aug}
    return {}
