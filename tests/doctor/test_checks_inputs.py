"""labkit.doctor.checks_inputs: preprocessing, scaling, channel order, colour."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from labkit import doctor, models  # noqa: E402
from labkit.lessons import preprocessing as pp  # noqa: E402

from .doctor_setups import XB, YB, K, X, Y, flagged, minivgg, scratch  # noqa: E402


# ---- raw pixels and double scaling -----------------------------------------------------------
def test_raw_inputs_to_a_scratch_cnn():
    report = doctor.diagnose(scratch(rescale=None, optimizer="sgd"), X, Y, run_lr_test=False)
    finding = flagged(report, "raw_inputs", "warning")
    assert "255" in finding.evidence and "SGD" in finding.evidence
    assert finding.notebook == "notebooks/01_preprocessing.ipynb"
    assert report.ok  # a warning, not a problem


def test_raw_inputs_not_flagged_when_preprocess_scales():
    report = doctor.diagnose(scratch(rescale=None), X, Y, preprocess=pp.scale_0_1,
                             run_lr_test=False)
    assert "raw_inputs" not in report


def test_double_scaling_preprocess_and_rescaling_layer():
    report = doctor.diagnose(scratch(), X, Y, preprocess=pp.scale_0_1, run_lr_test=False)
    finding = flagged(report, "double_scaling", "warning")
    assert "divides by 255" in finding.evidence and "[0.00, 1.00]" in finding.evidence


def test_double_scaling_two_rescaling_layers_in_one_model():
    # a forum pattern: an augmentation Sequential that rescales, then a model that rescales too
    augment = keras.Sequential([keras.layers.Rescaling(1 / 255), keras.layers.RandomFlip()],
                               name="augment")
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Rescaling(1.0 / 255)(augment(inputs))
    x = keras.layers.Conv2D(8, 3, activation="relu")(x)
    outputs = keras.layers.Dense(K, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, outputs)
    model.compile("adam", "sparse_categorical_crossentropy")
    finding = flagged(doctor.diagnose(model, X, Y, run_lr_test=False), "double_scaling",
                      "warning")
    assert "2 Rescaling layers" in finding.evidence and "[0.0000, 0.0039]" in finding.evidence


# ---- a caffe-style base ----------------------------------------------------------------------
@pytest.mark.parametrize("preprocess, why", [(pp.scale_0_1, "unit range"),
                                             (None, "without the mean subtraction")])
def test_caffe_base_fed_the_wrong_preprocessing(preprocess, why):
    model, _, _ = minivgg()
    report = doctor.diagnose(model, XB, YB, preprocess=preprocess, run_lr_test=False)
    finding = flagged(report, "base_preprocessing")
    assert why in finding.evidence and "block1_conv1" in finding.evidence
    assert not report.ok


def test_caffe_base_inside_the_model_sees_a_rescaling_layer():
    keras.utils.set_random_seed(0)
    base, _ = models.backbone("minivgg", input_shape=(64, 64, 3))
    models.freeze(base)
    inputs = keras.Input((64, 64, 3))
    features = base(keras.layers.Rescaling(1 / 255)(inputs))
    outputs = keras.layers.Dense(K, activation="softmax")(keras.layers.Flatten()(features))
    model = keras.Model(inputs, outputs)
    report = doctor.diagnose(model, XB, YB, loss="sparse_categorical_crossentropy",
                             run_lr_test=False)
    assert "[0.00, 1.00]" in flagged(report, "base_preprocessing").evidence


def test_arrays_z_scored_before_the_call_into_a_caffe_base():
    model, _, _ = minivgg()
    x = XB.astype("float32")
    z = (x - x.mean(axis=(0, 1, 2))) / x.std(axis=(0, 1, 2))  # a forum "normalisation"
    finding = flagged(doctor.diagnose(model, z, YB, run_lr_test=False), "base_preprocessing")
    assert "z-scored" in finding.evidence and "std" in finding.evidence


# ---- channel order and colour ----------------------------------------------------------------
def test_channel_order_rgb_instead_of_bgr():
    model, _, _ = minivgg()
    report = doctor.diagnose(model, XB, YB, preprocess=pp.caffe_rgb, run_lr_test=False)
    finding = flagged(report, "channel_order")
    assert "follows x's red channel" in finding.evidence and "RGB-order" in finding.evidence
    assert "base_preprocessing" not in report  # overall range is right; only the order is wrong


def test_channel_order_arrays_mean_subtracted_in_rgb_order_before_the_call():
    model, _, _ = minivgg()
    x = XB.astype("float32") - np.array([123.68, 116.779, 103.939], "float32")  # RGB order
    report = doctor.diagnose(model, x, YB, run_lr_test=False)
    finding = flagged(report, "channel_order")
    assert "RGB order" in finding.evidence and "base_preprocessing" not in report


def test_arrays_caffe_preprocessed_before_the_call_are_fine():
    model, _, preprocess = minivgg()
    report = doctor.diagnose(model, np.asarray(preprocess(XB)), YB, run_lr_test=False)
    assert report.ok, str(report)
    assert not {"channel_order", "base_preprocessing"} & set(report.checks)


def test_grayscale_into_a_colour_base():
    model, _, _ = minivgg()
    report = doctor.diagnose(model, XB, YB, preprocess=pp.caffe_gray, run_lr_test=False)
    flagged(report, "grayscale_inputs")
    assert "channel_order" not in report


def test_images_loaded_as_grayscale_and_repeated_to_three_channels():
    gray = np.repeat(XB.mean(-1, keepdims=True).astype("uint8"), 3, axis=-1)
    model, _, preprocess = minivgg()
    report = doctor.diagnose(model, gray, YB, preprocess=preprocess, run_lr_test=False)
    finding = flagged(report, "grayscale_images", "warning")
    assert "32 sampled images" in finding.evidence and "color_mode" in finding.fix
    gray_small = np.repeat(X.mean(-1, keepdims=True).astype("uint8"), 3, axis=-1)
    report = doctor.diagnose(scratch(), gray_small, Y, run_lr_test=False)  # no colour base
    flagged(report, "grayscale_images", "info")


# ---- subclassed models: what call() feeds the layers -----------------------------------------
def _subclassed(scale):
    keras.utils.set_random_seed(0)
    base, _ = models.backbone("minivgg", input_shape=(64, 64, 3))
    base.trainable = False

    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.base = base
            self.pool = keras.layers.GlobalAveragePooling2D()
            self.out = keras.layers.Dense(K, activation="softmax")

        def call(self, x):
            return self.out(self.pool(self.base(scale(x), training=False)))

    model = Net()
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def test_subclassed_model_preprocessing_inside_call():
    model = _subclassed(models.caffe_preprocess)
    report = doctor.diagnose(model, XB, YB, run_lr_test=False)
    assert report.ok and "base_preprocessing" not in report, str(report)
    first = model.base.get_layer("block1_conv1")
    assert "call" not in vars(first)  # the spy on the layer's call is gone
    report = doctor.diagnose(_subclassed(lambda x: x / 255.0), XB, YB, run_lr_test=False)
    assert "[0.00, 1.00]" in flagged(report, "base_preprocessing").evidence


def test_subclassed_scratch_model_fed_raw_pixels():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.conv = keras.layers.Conv2D(8, 3, activation="relu")
            self.pool = keras.layers.GlobalAveragePooling2D()
            self.out = keras.layers.Dense(K, activation="softmax")

        def call(self, x):
            return self.out(self.pool(self.conv(x)))

    model = Net()
    model.compile("sgd", "sparse_categorical_crossentropy")
    flagged(doctor.diagnose(model, X, Y, run_lr_test=False), "raw_inputs", "warning")
