"""labkit.lessons.small_images: padding keeps the objects' pixel size."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.lessons import small_images


def test_pad_to_centres_the_image_and_repeats_its_edges():
    x = np.arange(2 * 2 * 2 * 3, dtype=np.uint8).reshape(2, 2, 2, 3)
    out = small_images.pad_to(x, 6)
    assert out.shape == (2, 6, 6, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[:, 2:4, 2:4], x)  # the original pixels, unscaled
    np.testing.assert_array_equal(out[:, 0, 0], x[:, 0, 0])  # corners repeat the edge
    np.testing.assert_array_equal(out[:, -1, -1], x[:, -1, -1])


def test_pad_to_rejects_bad_input():
    with pytest.raises(ValueError, match="batch of images"):
        small_images.pad_to(np.zeros((4, 4, 3)), 8)
    with pytest.raises(ValueError, match="size must be >= the images' side"):
        small_images.pad_to(np.zeros((1, 8, 8, 3)), 4)


def test_padded_pads_every_split(tiny_data):
    out = small_images.padded(tiny_data, 24)
    for split in ("x_train", "x_val", "x_test"):
        assert getattr(out, split).shape[1:3] == (24, 24)
    np.testing.assert_array_equal(out.y_train, tiny_data.y_train)
