"""labkit.lessons.preprocessing (lesson 01): the right and wrong preprocessing variants."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from labkit import models  # noqa: E402
from labkit.lessons import preprocessing  # noqa: E402

BATCH = np.random.default_rng(0).integers(0, 256, size=(4, 8, 8, 3), dtype=np.uint8)


def numpy(x) -> np.ndarray:
    return keras.ops.convert_to_numpy(x)


def test_variant_names():
    assert list(preprocessing.VARIANTS) == [
        "caffe (what the base expects)", "0-1 scaling", "RGB order (no BGR flip)", "grayscale",
        "none (raw 0-255)", "ImageNet mean/std (torch-style)"]
    assert preprocessing.VARIANTS["caffe (what the base expects)"] is models.caffe_preprocess
    for fn in preprocessing.VARIANTS.values():
        out = numpy(fn(BATCH))
        assert out.shape == BATCH.shape and out.dtype == np.float32


def test_scale_0_1_and_raw():
    full_range = np.array([[[[0, 128, 255]]]], dtype=np.uint8)
    np.testing.assert_allclose(numpy(preprocessing.scale_0_1(full_range)), [[[[0, 128 / 255, 1]]]])
    out = numpy(preprocessing.scale_0_1(BATCH))
    assert out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_array_equal(numpy(preprocessing.raw_pixels(BATCH)), BATCH.astype("float32"))


def test_caffe_rgb_differs_from_caffe_only_by_channel_order():
    caffe, rgb = numpy(models.caffe_preprocess(BATCH)), numpy(preprocessing.caffe_rgb(BATCH))
    rgb_means = np.array(models.IMAGENET_BGR_MEANS[::-1], "float32")
    np.testing.assert_allclose(rgb, BATCH - rgb_means, atol=1e-4)  # right means, no flip
    np.testing.assert_allclose(rgb, caffe[..., ::-1], atol=1e-4)
    assert not np.allclose(rgb, caffe)


def test_caffe_gray_has_equal_channels_before_mean_subtraction():
    out = numpy(preprocessing.caffe_gray(BATCH)) + np.array(models.IMAGENET_BGR_MEANS, "float32")
    np.testing.assert_allclose(out[..., 0], out[..., 1], atol=1e-3)
    np.testing.assert_allclose(out[..., 1], out[..., 2], atol=1e-3)


def test_caffe_gray_is_luma_as_lesson_09_and_keras_grayscale():
    from labkit.lessons import channel_order

    out = numpy(preprocessing.caffe_gray(BATCH)) + np.array(models.IMAGENET_BGR_MEANS, "float32")
    luma = channel_order.to_grayscale(BATCH)[..., 0].astype("float32")
    np.testing.assert_allclose(out[..., 0], luma, atol=1.0)  # to_grayscale rounds to uint8


def test_torch_style_matches_keras_applications_torch_mode():
    from keras.applications import imagenet_utils

    expected = imagenet_utils.preprocess_input(BATCH.astype("float32"), mode="torch")
    np.testing.assert_allclose(numpy(preprocessing.torch_style(BATCH)), expected, atol=1e-5)
