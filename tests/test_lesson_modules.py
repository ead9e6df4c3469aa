"""The modules the lessons call: report, diagnose, preprocess, transfer, scratch, session,
lessondata and panels, each on tiny stand-ins (a few dozen images, 1 epoch)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from labkit import (  # noqa: E402
    cifar,
    evidence,
    lessondata,
    models,
    panels,
    report,
    scratch,
    session,
    shapes,
    train,
    transfer,
)
from labkit.config import FULL, QUICK  # noqa: E402
from labkit.lessondata import LessonData  # noqa: E402
from labkit.lessons import preprocessing  # noqa: E402

RNG = np.random.default_rng(0)
BATCH = RNG.integers(0, 256, size=(4, 8, 8, 3), dtype=np.uint8)


def tiny_data(size: int = 32, n_train: int = 20, n_val: int = 8, n_test: int = 8) -> LessonData:
    x, y = shapes.generate(n_train + n_val + n_test, size, seed=7)
    a, b = n_train, n_train + n_val
    return LessonData(x[:a], y[:a], x[a:b], y[a:b], x[b:], y[b:],
                      tuple(shapes.class_names()), "tiny shapes")


@pytest.fixture(scope="module")
def data() -> LessonData:
    return tiny_data()


@pytest.fixture
def random_base():
    keras.utils.set_random_seed(0)
    return models.backbone("minivgg", weights=None, input_shape=(32, 32, 3))[0]


def numpy(x) -> np.ndarray:
    return keras.ops.convert_to_numpy(x)


# ---- report ----------------------------------------------------------------------------------
def test_check_lesson_passes_and_prints_result_line(capsys):
    result = report.check_lesson("01 preprocessing", "val accuracy", 0.30, 0.62, 0.2)
    out = capsys.readouterr().out.strip()
    assert out == ("RESULT | 01 preprocessing | val accuracy | failure 30.0% | fix 62.0% | "
                   "margin +32.0 points")
    assert result.margin == pytest.approx(0.32) and result.line() == out


def test_check_lesson_fails_when_margin_too_small(capsys):
    with pytest.raises(AssertionError, match="recalibrate") as info:
        report.check_lesson("03 lr", "val accuracy", 0.50, 0.55, 0.2)
    assert "only 5.0 points" in str(info.value) and "at least 20" in str(info.value)
    assert capsys.readouterr().out.startswith("RESULT | 03 lr |")  # printed before asserting


def test_claim(capsys):
    assert report.claim("fix beats failure", True) is True
    assert capsys.readouterr().out == "fix beats failure: True\n"
    with pytest.raises(AssertionError, match="claim does not hold on this run: it is late"):
        report.claim("it is late", False)
    assert capsys.readouterr().out == "it is late: False\n"


# ---- diagnose --------------------------------------------------------------------------------
def test_input_stats_has_a_row_per_input():
    table = evidence.input_stats({"raw": BATCH, "scaled": BATCH / 255.0})
    lines = table.splitlines()
    assert len(lines) == 3 and lines[0].startswith("input")
    assert lines[1].startswith("raw") and lines[2].startswith("scaled")
    means = BATCH.reshape(-1, 3).mean(0)
    assert f"{means[0]:8.2f}" in lines[1]
    assert f"{BATCH.max():8.2f}" in lines[1]


def test_weight_drift(random_base):
    before = evidence.block_weights(random_base)
    assert list(before) == [f"block{i}" for i in range(1, 6)]
    assert set(evidence.weight_drift(before, random_base).values()) == {0.0}
    layer = random_base.get_layer("block3_conv2")
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel * 1.5, bias])
    drift = evidence.weight_drift(before, random_base)
    assert drift["block3"] > 0
    assert all(drift[b] == 0.0 for b in drift if b != "block3")


def test_feature_map_sizes_of_minivgg(random_base):
    sizes = evidence.feature_map_sizes(random_base)
    assert [name for name, _ in sizes] == [f"block{i}_pool" for i in range(1, 6)]
    assert sizes[0][1] == (16, 16, 8)
    assert sizes[-1] == ("block5_pool", (1, 1, 64))


def test_prediction_spread_and_dead_relus(random_base):
    x = models.caffe_preprocess(RNG.integers(0, 256, size=(12, 32, 32, 3), dtype=np.uint8))
    classifier = models.attach_head(random_base, 4)
    spread = evidence.prediction_spread(classifier, x, 4)
    assert spread.shape == (4,) and spread.sum() == 12
    dead = evidence.dead_relu_fraction(random_base, x)
    convs = [n for n in (layer.name for layer in random_base.layers) if "_conv" in n]
    assert list(dead) == convs
    assert all(0.0 <= f <= 1.0 for f in dead.values())


# ---- preprocess ------------------------------------------------------------------------------
def test_variant_names():
    assert list(preprocessing.VARIANTS) == [
        "caffe (what the base expects)", "0-1 scaling", "RGB order (no BGR flip)", "grayscale",
        "none (raw 0-255)"]
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
    np.testing.assert_allclose(out[..., 0], BATCH.mean(-1), atol=1e-3)


# ---- transfer --------------------------------------------------------------------------------
def test_lesson_base_quick_profile_is_minivgg_at_64():
    base, pre = transfer.lesson_base(QUICK)
    assert base.input_shape == (None, 64, 64, 3) and base.name == "minivgg"
    assert pre is models.caffe_preprocess
    small, _ = transfer.lesson_base(QUICK, size=32, weights=None)
    assert small.input_shape == (None, 32, 32, 3)


def test_features_and_train_head(data, monkeypatch):
    monkeypatch.setattr(models, "_FEATURE_CACHE", {})
    base, pre = transfer.lesson_base(QUICK)  # the shipped weights, 64x64 inputs
    feats = transfer.features(base, data, pre, size=64)
    width = 2 * 2 * models.MINIVGG_WIDTHS[-1]  # 64 -> 2x2 after five pools
    assert feats.train.shape == (20, width)
    assert feats.val.shape == (8, width) and feats.test.shape == (8, width)
    again = transfer.features(base, data, pre, size=64)
    assert np.shares_memory(again.train, feats.train)  # a view of the same cached array

    head, run = transfer.train_head(feats, data, name="h", epochs=1)
    assert isinstance(run, train.Run) and run.name == "h"
    assert set(run.history) >= {"loss", "val_accuracy"}
    assert head.output.shape[1:] == (data.n_classes,)
    assert head.predict(feats.test, verbose=0).shape == (8, data.n_classes)


def test_prepared_images_are_resized_and_preprocessed_inside_the_model():
    import keras
    import tensorflow as tf

    small = tiny_data(size=16, n_train=4, n_val=2, n_test=2)
    images = transfer.prepare(small, models.caffe_preprocess, size=32)
    assert images.train is small.x_train  # no float copy is kept
    inputs = keras.Input(small.x_train.shape[1:])
    model = keras.Model(inputs, images.to_base(inputs))
    expected = models.caffe_preprocess(tf.image.resize(small.x_train.astype("float32"), (32, 32)))
    np.testing.assert_allclose(model.predict(small.x_train, verbose=0), expected, atol=1e-3)
    same_size = transfer.prepare(small, None, size=16)
    assert same_size.to_base(inputs) is inputs  # nothing to do


# ---- scratch ---------------------------------------------------------------------------------
def test_build_scratch_is_deterministic():
    small = tiny_data(size=16, n_train=8, n_val=4, n_test=4)
    first = scratch.build_scratch(small, seed=3).get_weights()
    second = scratch.build_scratch(small, seed=3).get_weights()
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    other = scratch.build_scratch(small, seed=4).get_weights()
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))
    raw = scratch.build_scratch(small, rescale=False, optimizer="sgd")
    assert not any(isinstance(layer, keras.layers.Rescaling) for layer in raw.layers)
    assert isinstance(raw.optimizer, keras.optimizers.SGD)


def test_train_scratch_one_epoch(capsys):
    small = tiny_data(size=16, n_train=16, n_val=8, n_test=4)
    model, run = scratch.train_scratch(small, name="s", epochs=1, batch_size=8, progress=False)
    assert capsys.readouterr().out == ""
    assert len(run.history["val_accuracy"]) == 1
    assert model.input_shape == (None, 16, 16, 3)


# ---- session ---------------------------------------------------------------------------------
def test_lab_elapsed_and_summary(capsys):
    lab = session.Lab(profile=QUICK, seed=1, gpus=())
    assert lab.elapsed().startswith("this notebook ran in ") and lab.elapsed().endswith(" s")
    assert lab.device == "CPU (no GPU found)"
    assert "profile: quick" in lab.summary() and "seed: 1" in lab.summary()
    assert session.Lab(profile=FULL, seed=0, gpus=("/gpu:0",)).device == "GPU (1)"
    lab = session.setup("quick", seed=5)
    assert capsys.readouterr().out.strip() == lab.summary()
    assert lab.seed == 5 and lab.profile is QUICK


# ---- lessondata ------------------------------------------------------------------------------
def test_load_lesson_data_quick_sizes_and_determinism(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_CACHE_DIR", str(tmp_path))
    profile = dataclasses.replace(QUICK, n_train=50, n_val=20, n_test=20)
    d = lessondata.load_lesson_data(profile, seed=0)
    assert (len(d.x_train), len(d.x_val), len(d.x_test)) == (50, 20, 20)
    assert len(d.y_train) == 50 and len(d.y_val) == 20 and len(d.y_test) == 20
    assert d.x_train.shape[1:] == (32, 32, 3) and d.x_train.dtype == np.uint8
    assert d.class_names == tuple(shapes.class_names()) and d.n_classes == 10
    assert d.describe().endswith("50 train / 20 val / 20 test images, 32x32, 10 classes")
    again = lessondata.load_lesson_data(profile, seed=0)
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(d, name), getattr(again, name))
    other = lessondata.load_lesson_data(profile, seed=1)
    assert not np.array_equal(d.x_train, other.x_train)
    train_images = {img.tobytes() for img in d.x_train}
    assert not any(img.tobytes() in train_images for img in d.x_test)  # own seed for test


def test_load_lesson_data_full_profile_on_cifar_fixture(tmp_path, monkeypatch):
    """The full profile's code path, with a tiny CIFAR-10 in the real on-disk format."""
    cifar.write_fixture(tmp_path, n_per_batch=20)  # 100 train, 20 test images
    monkeypatch.setenv("LABKIT_DATA_DIR", str(tmp_path))
    profile = dataclasses.replace(FULL, n_train=40, n_val=10, n_test=10)
    d = lessondata.load_lesson_data(profile, seed=0)
    assert d.class_names == cifar.CIFAR10_CLASSES and d.source == "CIFAR-10 (real)"
    assert (len(d.x_train), len(d.x_val), len(d.x_test)) == (40, 10, 10)
    assert d.x_train.shape[1:] == (32, 32, 3) and d.x_train.dtype == np.uint8
    # stratified: every class keeps its share in every split
    assert np.bincount(d.y_train, minlength=10).tolist() == [4] * 10
    assert np.bincount(d.y_val, minlength=10).tolist() == [1] * 10
    assert np.bincount(d.y_test, minlength=10).tolist() == [1] * 10


def test_load_lesson_data_unknown_dataset():
    with pytest.raises(ValueError, match="unknown dataset 'mnist'.*shapes, cifar10"):
        lessondata.load_lesson_data(dataclasses.replace(QUICK, dataset="mnist"))


# ---- panels ----------------------------------------------------------------------------------
def test_scratch_panel_controls_and_one_run():
    small = tiny_data(size=16, n_train=16, n_val=8, n_test=4)
    lab = session.Lab(profile=QUICK, seed=0, gpus=())
    panel = panels.scratch_panel(lab, small, title="try it")
    assert list(panel.controls) == ["optimizer", "inputs", "lr", "epochs"]
    assert panel.settings()["optimizer"] == "adam"
    assert panel.settings()["inputs"] == "0-1 (Rescaling layer)"
    assert panel.settings()["lr"] == pytest.approx(1e-3)
    assert panel.settings()["epochs"] == QUICK.epochs
    panel.controls["epochs"].value = 1
    assert panel.start()
    assert panel.wait(60), "the panel's run did not finish in 60 s"
    assert "failed" not in panel.status.value, panel.status.value
    (run,) = panel.runs
    assert run.epochs == 1 and run.settings["epochs"] == 1 and not run.stopped
    assert run.best("val_accuracy") is not None


def test_scratch_panel_schedule_control():
    small = tiny_data(size=16, n_train=8, n_val=4, n_test=4)
    lab = session.Lab(profile=QUICK, seed=0, gpus=())
    panel = panels.scratch_panel(lab, small, title="lr", schedule=True, optimizer="sgd")
    assert list(panel.controls)[-1] == "schedule"
    assert panel.settings()["schedule"] == "constant"
    (plateau,) = panels._plateau_callbacks({"schedule": "ReduceLROnPlateau"})
    assert isinstance(plateau, keras.callbacks.ReduceLROnPlateau)
    assert panels._plateau_callbacks({"schedule": "constant"}) == []


def test_pooled_by_class_sorts_train_and_val_together():
    small = tiny_data(size=8, n_train=12, n_val=6, n_test=2)
    x, y = small.pooled_by_class()
    pooled = np.concatenate([small.y_train, small.y_val])
    assert x.shape == (18, 8, 8, 3) and (np.diff(y) >= 0).all()
    assert sorted(y.tolist()) == sorted(pooled.tolist())
