"""From-scratch CNN runs shared by the lessons that train a CNN from scratch.

Two networks: the *course's* CNN (``COURSE``: BatchNorm, widths 32-64-128, trained with Adam
and a cosine schedule; it reaches a model that works on the lesson data) and the *forum* CNN
(``FORUM``: no BatchNorm, widths 16-32-64, the typical snippet a question starts from).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labkit import models, train
from labkit.config import seed_everything
from labkit.lessondata import LessonData
from labkit.train import FitSettings
from labkit.warm import WarmModels


@dataclass(frozen=True)
class Network:
    """Which scratch CNN to build: its widths, whether it has BatchNorm, and its pooling before
    the softmax (``"gap"``: global average pooling; ``"flatten"``: ``Flatten``)."""

    widths: tuple[int, ...]
    batchnorm: bool
    pooling: str = "gap"


COURSE = Network(widths=(32, 64, 128), batchnorm=True)
FORUM = Network(widths=(16, 32, 64), batchnorm=False)
# FORUM with the head of most forum snippets: Flatten instead of global average pooling.
FORUM_FLATTEN = Network(widths=(16, 32, 64), batchnorm=False, pooling="flatten")
# The course's recipe: what a from-scratch fix trains with (lessons replace the epochs and LR
# only where the lesson is about them).
# 18 epochs: 88.8-90.5% test accuracy over seeds 42-44 (12 epochs: 83.0-88.2%).
COURSE_FIT = FitSettings(epochs=18, lr=3e-3, schedule="cosine")


def build_scratch(data: LessonData, *, fit: FitSettings = COURSE_FIT, rescale: bool = True,
                  network: Network = COURSE, n_examples: int | None = None, augment=None):
    """Seed with ``fit.seed``, then build ``models.scratch_cnn`` for ``data`` (1/255 layer, or
    raw pixels) and compile it with ``train.optimizer_for(fit, n_examples)``.

    ``augment``: Keras augmentation layers (one layer or a ``Sequential``) put before the CNN, on
    the 0-255 images; active in ``fit`` only, never at ``predict``/``evaluate``.
    """
    import keras

    seed_everything(fit.seed)
    model = models.scratch_cnn(data.x_train.shape[1:], data.n_classes, widths=network.widths,
                               rescale=1 / 255 if rescale else None, batchnorm=network.batchnorm,
                               pooling=network.pooling)
    if augment is not None:
        model = keras.Sequential([keras.Input(data.x_train.shape[1:]), augment, model],
                                 name="augmented_cnn")
    n = len(data.x_train) if n_examples is None else n_examples
    return models.compile_classifier(model, optimizer=train.optimizer_for(fit, n))


def train_scratch(
    data: LessonData,
    *,
    name: str,
    fit: FitSettings = COURSE_FIT,
    rescale: bool = True,
    network: Network = COURSE,
    x_train: np.ndarray | None = None,
    y_train: np.ndarray | None = None,
    class_weight: dict[int, float] | None = None,
    validation_split: float = 0.0,
    warm: WarmModels | None = None,
    augment=None,
):
    """``build_scratch`` (with ``augment`` layers, if any) then train with ``fit``. Returns
    ``(model, run)``.

    The model sees raw pixels unless ``rescale``. ``x_train``/``y_train`` replace the lesson's
    training set (imbalanced or oversampled variants). Validation uses ``data``'s validation
    set, unless ``validation_split`` asks Keras to hold out the last fraction of the training
    arrays. ``warm``: train a kept, already traced model of the same build instead (a panel's
    later clicks; same numbers, no retracing); without ``augment`` and with a pipeline feed,
    a later click with the same settings does not even build again (``WarmModels.reuse``).
    """
    x = data.x_train if x_train is None else x_train
    y = data.y_train if y_train is None else y_train
    n_fit = int(round(len(x) * (1 - validation_split)))

    def build():
        return build_scratch(data, fit=fit, rescale=rescale, network=network, n_examples=n_fit,
                             augment=augment)

    if warm is None:
        model = build()
    elif augment is None and fit.feed == "pipeline":
        # The initial weights are the build's only random draws, and the pipeline's shuffle
        # has its own seed: a later click with the same key need not build (and seed) again.
        model = warm.reuse((data.x_train.shape[1:], data.n_classes, fit.seed, fit.lr,
                            fit.optimizer, fit.schedule, fit.epochs, fit.batch_size, rescale,
                            network, n_fit), build)
    else:
        model = warm.adopt(build())
    run = train.fit_with(model, x, y, fit, name=name,
                         validation_data=None if validation_split else (data.x_val, data.y_val),
                         validation_split=validation_split, class_weight=class_weight)
    return model, run
