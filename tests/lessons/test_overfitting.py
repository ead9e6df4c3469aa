"""labkit.lessons.overfitting (lesson 07) and its panel, on tiny 16x16 stand-ins."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from labkit import panels, shapes, train  # noqa: E402
from labkit.lessons import overfitting  # noqa: E402
from labkit.train import FitSettings  # noqa: E402

N_CLASSES = len(shapes.class_names())


# ---- small training sets ---------------------------------------------------------------------
def test_balanced_subset_takes_per_class_images_of_every_class():
    y = np.repeat(np.arange(3), [5, 7, 4])
    x = np.arange(len(y))[:, None, None, None] * np.ones((1, 2, 2, 3), np.uint8)
    xs, ys = overfitting.balanced_subset(x, y, per_class=3, seed=1)
    assert np.bincount(ys).tolist() == [3, 3, 3]
    np.testing.assert_array_equal(y[xs[:, 0, 0, 0]], ys)  # images keep their labels
    again = overfitting.balanced_subset(x, y, per_class=3, seed=1)
    np.testing.assert_array_equal(again[1], ys)  # deterministic per seed
    assert len(set(xs[:, 0, 0, 0].tolist())) == 9  # no image twice


def test_balanced_subset_rejects_impossible_requests():
    y = np.repeat(np.arange(2), [5, 2])
    x = np.zeros((7, 2, 2, 3), np.uint8)
    with pytest.raises(ValueError, match="class 1 has only 2 images"):
        overfitting.balanced_subset(x, y, per_class=3)
    with pytest.raises(ValueError, match="per_class must be an integer >= 1"):
        overfitting.balanced_subset(x, y, per_class=0)


# ---- augmentation ----------------------------------------------------------------------------
def test_augmentation_layers_change_images_in_training_only():
    augment = overfitting.augmentation_layers(0.2, seed=0)
    names = [type(layer).__name__ for layer in augment.layers]
    assert names == ["RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom"]
    x = np.random.default_rng(0).uniform(0, 255, (4, 16, 16, 3)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(augment(x, training=False)), x)
    changed = keras.ops.convert_to_numpy(augment(x, training=True))
    assert changed.shape == x.shape and not np.allclose(changed, x)


@pytest.mark.parametrize("strength", [0, -0.1, 0.6])
def test_augmentation_strength_must_be_in_range(strength):
    with pytest.raises(ValueError, match="strength must be in"):
        overfitting.augmentation_layers(strength)


def test_augmented_examples_puts_the_original_first():
    x = np.random.default_rng(1).integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
    grid = overfitting.augmented_examples(x, overfitting.augmentation_layers(0.2), n_variants=3)
    assert grid.shape == (8, 16, 16, 3) and grid.dtype == np.uint8
    np.testing.assert_array_equal(grid[0], x[0])
    np.testing.assert_array_equal(grid[4], x[1])


# ---- the model -------------------------------------------------------------------------------
def test_overfit_cnn_plain_is_the_classic_flatten_dense_model():
    model = overfitting.overfit_cnn((16, 16, 3), 4, widths=(4, 8), hidden=16)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert "Flatten" in kinds and "Dropout" not in kinds and "Sequential" not in kinds
    assert model.get_layer("dense").units == 16
    assert all(getattr(layer, "kernel_regularizer", None) is None for layer in model.layers)
    assert model.output_shape == (None, 4)


def test_overfit_cnn_with_every_regulariser():
    model = overfitting.overfit_cnn((16, 16, 3), 4, widths=(4, 8), hidden=16, dropout=0.4,
                                   l2=1e-3, augment=0.1)
    assert model.get_layer("augment").name == "augment"
    assert model.get_layer("dropout").rate == pytest.approx(0.4)
    assert model.get_layer("drop1").rate == pytest.approx(0.2)
    for name in ("conv1a", "conv2b", "dense", "classes"):
        reg = model.get_layer(name).kernel_regularizer
        assert isinstance(reg, keras.regularizers.L2) and reg.l2 == pytest.approx(1e-3)


@pytest.mark.parametrize("kwargs, match", [({"dropout": 1.0}, "dropout"), ({"l2": -1}, "l2")])
def test_overfit_cnn_rejects_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        overfitting.overfit_cnn((16, 16, 3), 4, **kwargs)


# ---- training and the evidence ---------------------------------------------------------------
def test_train_overfit_with_early_stopping_and_the_gap_helpers(tiny_data):
    tiny = tiny_data
    val = (tiny.x_val, tiny.y_val)
    model, run = overfitting.train_overfit(tiny.x_train, tiny.y_train, val, N_CLASSES,
                                          name="tiny", fit=FitSettings(epochs=3, progress=False),
                                          augment=0.1, dropout=0.2, l2=1e-4, patience=1)
    assert isinstance(run, train.Run) and 2 <= len(run.history["loss"]) <= 3
    gaps = overfitting.epoch_gaps(run)
    np.testing.assert_allclose(gaps, np.subtract(run.history["accuracy"],
                                                 run.history["val_accuracy"]))
    tr, va, gap = overfitting.clean_gap(model, tiny.x_train, tiny.y_train, *val)
    assert 0 <= tr <= 1 and 0 <= va <= 1 and gap == pytest.approx(tr - va)
    assert 0 <= overfitting.confidence_on_mistakes(model, *val) <= 1
    table = overfitting.gap_table(run, every=2)
    assert table.splitlines()[0].split() == ["epoch", "train", "acc", "val", "acc", "gap",
                                             "val", "loss"]


def test_train_overfit_is_deterministic(tiny_data):
    tiny = tiny_data
    kw = dict(name="d", fit=FitSettings(epochs=1, seed=5, progress=False), augment=0.1,
              dropout=0.2)
    val = (tiny.x_val, tiny.y_val)
    _, a = overfitting.train_overfit(tiny.x_train, tiny.y_train, val, N_CLASSES, **kw)
    _, b = overfitting.train_overfit(tiny.x_train, tiny.y_train, val, N_CLASSES, **kw)
    assert a.history == b.history


def test_early_stop_point_reads_the_best_epoch():
    run = train.Run("r", {"val_loss": [2.0, 1.5, 1.7, 1.9], "val_accuracy": [0.2, 0.4, 0.5, 0.3],
                          "accuracy": [0.3, 0.6, 0.8, 0.9]})
    assert overfitting.early_stop_point(run) == (2, pytest.approx(0.4))
    assert overfitting.early_stop_point(run, "val_accuracy") == (3, pytest.approx(0.5))
    assert overfitting.epoch_gaps(run) == pytest.approx([0.1, 0.2, 0.3, 0.6])
    stopper = overfitting.early_stopping(4)
    assert stopper.patience == 4 and stopper.restore_best_weights


# ---- the panel -------------------------------------------------------------------------------
def test_overfit_panel_controls_and_one_run(tiny_data, quick_lab, run_panel):
    tiny = tiny_data
    panel = panels.overfit_panel(quick_lab, tiny, tiny.x_train[:20], tiny.y_train[:20], epochs=7,
                                 augment="0.1")
    assert list(panel.controls) == ["augment", "dropout", "l2", "patience", "epochs"]
    settings = panel.settings()
    assert settings["augment"] == "0.1" and settings["dropout"] == 0.0
    assert settings["l2"] == 0.0 and settings["patience"] == "off" and settings["epochs"] == 7
    run = run_panel(panel, epochs=1, patience="5 epochs")
    assert run.epochs == 1 and run.best("val_accuracy") is not None


# ---- a Python coin in a tf.data map ----------------------------------------------------------
def _asymmetric_images(n=40):
    x = np.zeros((n, 6, 6, 3), np.uint8)
    x[:, :, 0] = 200  # a bright left column: no image is its own mirror image
    x[:, 1, 1] = np.arange(n)[:, None]
    return x, np.arange(n) % 3


def test_python_coin_in_a_map_is_tossed_once_all_or_none():
    x, y = _asymmetric_images()
    outcomes = set()
    for seed in range(6):
        masks = overfitting.mirrored_per_epoch(x, y, seed=seed, layer=False, epochs=2)
        fractions = [float(m.mean()) for m in masks]
        assert fractions[0] in (0.0, 1.0) and fractions == [fractions[0]] * 2
        outcomes.add(fractions[0])
    assert outcomes == {0.0, 1.0}  # both outcomes happen, depending on the seed


def test_random_flip_layer_tosses_a_coin_per_image_and_epoch():
    x, y = _asymmetric_images(200)
    masks = overfitting.mirrored_per_epoch(x, y, seed=3, layer=True, epochs=2)
    assert all(0.3 < m.mean() < 0.7 for m in masks)
    assert (masks[0] != masks[1]).any()


def test_mirrored_per_epoch_needs_an_asymmetric_image():
    x = np.zeros((4, 6, 6, 3), np.uint8)
    with pytest.raises(ValueError, match="mirror"):
        overfitting.mirrored_per_epoch(x, np.zeros(4, int), seed=0, layer=True)
