"""Lesson 12: five more causes of low accuracy, each measured in seconds, and its fix.

``include_top=True`` (a new head on the pretrained model's own class probabilities), batch size
(BatchNorm at batch size 1; one full batch per epoch), colour jitter on classes defined by
colour, a shift between the training camera and the deployment camera, and a model too small
for the data.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence

import numpy as np

from labkit import models, scratch
from labkit.lessondata import LessonData
from labkit.lessons.channel_order import COLOUR_PAIRS

# Too small for 10 shape classes: 1,316 weights. The fix is the forum CNN's widths with
# BatchNorm (72,954 weights), trained the same way.
TOO_SMALL = scratch.Network(widths=(2, 4, 8), batchnorm=True)
RIGHT_SIZED = scratch.Network(widths=(16, 32, 64), batchnorm=True)


def with_pretrained_top(base):
    """``base`` followed by the head it was pretrained with: the ``include_top=True`` model,
    whose output is a softmax over the *source* task's classes (13 shapes for MiniVGG; ImageNet's
    1,000 for VGG16). ``None`` for a base whose top is not shipped (VGG16's is a separate
    528 MB download that the offline course does not carry)."""
    from labkit import source_task

    if base.name not in models.OFFLINE_BACKBONES or not models.source_head_file(base.name).exists():
        return None
    top = source_task.source_classifier(base)
    top.get_layer("head").set_weights(source_task.load_source_head(base.name))
    return top


def batchnorm_head(input_shape: tuple[int, ...], n_classes: int, batchnorm: bool,
                   hidden: int = 128):
    """Flatten -> Dense(``hidden``) -> [BatchNormalization] -> ReLU -> softmax, uncompiled."""
    import keras
    from keras import layers

    inputs = keras.Input(tuple(input_shape), name="features")
    x = layers.Flatten(name="flatten")(inputs)
    x = layers.Dense(hidden, use_bias=not batchnorm, name="hidden")(x)
    if batchnorm:
        x = layers.BatchNormalization(name="hidden_bn")(x)
    x = layers.Activation("relu", name="hidden_relu")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="classes")(x)
    return keras.Model(inputs, outputs, name="bn_head" if batchnorm else "plain_head")


def head_builder(batchnorm: bool) -> Callable:
    """``build_head`` for ``transfer.train_head``: ``batchnorm_head`` with or without BatchNorm."""
    return functools.partial(batchnorm_head, batchnorm=batchnorm)


def colour_classes(class_names: Sequence[str]) -> list[int]:
    """Indices of the classes told apart by colour alone (labkit shapes' colour pairs); empty
    for a dataset without them (CIFAR-10)."""
    names = list(class_names)
    wanted = [n for pair in COLOUR_PAIRS for n in pair]
    return [names.index(n) for n in wanted] if all(n in names for n in wanted) else []


def only_classes(data: LessonData, classes: Sequence[int]) -> LessonData:
    """``data`` restricted to ``classes``, relabelled 0..k-1 in the order given."""
    classes = list(classes)
    if not classes or len(set(classes)) != len(classes):
        raise ValueError(f"classes must be distinct class indices, got {classes}")
    bad = [c for c in classes if not 0 <= c < data.n_classes]
    if bad:
        raise ValueError(f"classes {bad} are not in 0..{data.n_classes - 1}")
    relabel = np.full(data.n_classes, -1, np.int64)
    relabel[classes] = np.arange(len(classes))

    def keep(x, y):
        mask = np.isin(y, classes)
        return x[mask], relabel[y[mask]]

    (xtr, ytr), (xva, yva), (xte, yte) = (keep(data.x_train, data.y_train),
                                          keep(data.x_val, data.y_val),
                                          keep(data.x_test, data.y_test))
    return dataclasses.replace(data, x_train=xtr, y_train=ytr, x_val=xva, y_val=yva, x_test=xte,
                               y_test=yte, class_names=tuple(data.class_names[c] for c in classes))


@dataclasses.dataclass(frozen=True)
class Camera:
    """How a second camera's images differ from the training camera's: contrast (1 = same),
    a colour cast (R, G, B gains), a brightness offset and sensor noise (std, 0-255)."""

    contrast: float = 0.6
    cast: tuple[float, float, float] = (1.15, 1.0, 0.8)
    brightness: float = 20.0
    noise: float = 12.0


DEPLOYMENT_CAMERA = Camera()


def through_camera(x: np.ndarray, seed: int, camera: Camera = DEPLOYMENT_CAMERA) -> np.ndarray:
    """Images ``x`` (uint8, N x H x W x 3) as ``camera`` would have taken them: each image's
    contrast scaled about its mean, the colour cast and brightness applied, noise added."""
    x = np.asarray(x)
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"x must be RGB images (N, height, width, 3), got shape {x.shape}")
    rng = np.random.default_rng(seed)
    f = x.astype(np.float32)
    mean = f.mean(axis=(1, 2, 3), keepdims=True)
    f = (f - mean) * camera.contrast + mean
    f = f * np.asarray(camera.cast, np.float32) + camera.brightness
    f = f + rng.normal(0.0, camera.noise, f.shape).astype(np.float32)
    return np.clip(np.rint(f), 0, 255).astype(np.uint8)
