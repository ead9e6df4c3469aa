"""Lesson 04: small images in a deep pretrained base: map size and object scale, apart."""

from __future__ import annotations

import dataclasses

import numpy as np

from labkit.lessondata import LessonData


def pad_to(x: np.ndarray, size: int) -> np.ndarray:
    """Images ``x`` (N, h, w, C) in the centre of a ``size``x``size`` canvas, the border filled by
    repeating the edge pixels: a bigger input (a bigger final feature map) with the objects at
    their original size in pixels."""
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"x must be a batch of images (N, height, width, channels), got shape "
                         f"{x.shape}")
    h, w = x.shape[1:3]
    if size < max(h, w):
        raise ValueError(f"size must be >= the images' side ({max(h, w)}), got {size}")
    top, left = (size - h) // 2, (size - w) // 2
    pads = ((0, 0), (top, size - h - top), (left, size - w - left), (0, 0))
    return np.pad(x, pads, mode="edge")


def padded(data: LessonData, size: int) -> LessonData:
    """``data`` with every split padded to ``size``x``size`` (``pad_to``)."""
    return dataclasses.replace(data, x_train=pad_to(data.x_train, size),
                               x_val=pad_to(data.x_val, size), x_test=pad_to(data.x_test, size))
