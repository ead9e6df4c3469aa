"""Preprocessing, right and wrong: the variants lesson 01 feeds a caffe-style pretrained base.

Every function takes 0-255 RGB images (NumPy or tensors) and returns float32 model inputs.
"""

from __future__ import annotations

from labkit.lessons.channel_order import LUMA
from labkit.models import IMAGENET_BGR_MEANS, caffe_preprocess


def _float(x):
    import keras

    return keras.ops.cast(x, "float32")


def scale_0_1(x):
    """Divide by 255: what a from-scratch tutorial does, not what VGG16 was trained on."""
    return _float(x) / 255.0


def caffe_rgb(x):
    """Mean subtraction without the RGB->BGR flip (channels in the wrong order)."""
    import keras

    return _float(x) - keras.ops.convert_to_tensor(IMAGENET_BGR_MEANS[::-1], "float32")


def caffe_gray(x):
    """Grayscale (luma: 0.299 R + 0.587 G + 0.114 B, as ``color_mode="grayscale"`` and lesson
    09's ``channel_order.to_grayscale``) copied to three channels, then caffe: colour is gone."""
    import keras

    luma = keras.ops.convert_to_tensor(LUMA, "float32")
    gray = keras.ops.sum(_float(x) * luma, axis=-1, keepdims=True)
    return caffe_preprocess(keras.ops.repeat(gray, 3, axis=-1))


IMAGENET_RGB_MEAN = (0.485, 0.456, 0.406)  # torchvision's ImageNet statistics, 0-1 RGB
IMAGENET_RGB_STD = (0.229, 0.224, 0.225)


def torch_style(x):
    """ImageNet mean-and-std normalisation, PyTorch style: ``(x / 255 - mean) / std`` per RGB
    channel (``keras.applications`` calls it ``mode="torch"``). Right for a torch-style base,
    wrong for a caffe one: values of about -2..2 in RGB order, not -124..151 in BGR."""
    import keras

    mean = keras.ops.convert_to_tensor(IMAGENET_RGB_MEAN, "float32")
    std = keras.ops.convert_to_tensor(IMAGENET_RGB_STD, "float32")
    return (_float(x) / 255.0 - mean) / std


def raw_pixels(x):
    """No preprocessing at all (forgotten at prediction time)."""
    return _float(x)


VARIANTS = {
    "caffe (what the base expects)": caffe_preprocess,
    "0-1 scaling": scale_0_1,
    "RGB order (no BGR flip)": caffe_rgb,
    "grayscale": caffe_gray,
    "none (raw 0-255)": raw_pixels,
    "ImageNet mean/std (torch-style)": torch_style,
}
