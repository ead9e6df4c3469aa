"""labkit.transfer: the profile's base, cached features, heads and fine-tuning, on tiny data."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from labkit import models, train, transfer  # noqa: E402
from labkit.config import QUICK  # noqa: E402
from labkit.train import FitSettings  # noqa: E402


def test_lesson_base_quick_profile_is_minivgg_at_64():
    base, pre = transfer.lesson_base(QUICK)
    assert base.input_shape == (None, 64, 64, 3) and base.name == "minivgg"
    assert pre is models.caffe_preprocess
    small, _ = transfer.lesson_base(QUICK, size=32, weights=None)
    assert small.input_shape == (None, 32, 32, 3)


def test_features_and_train_head(tiny_data, monkeypatch, capsys):
    monkeypatch.setattr(models, "_FEATURE_CACHE", {})
    data = tiny_data
    base, pre = transfer.lesson_base(QUICK)  # the shipped weights, 64x64 inputs
    feats = transfer.features(base, data, pre, size=64)
    width = 2 * 2 * models.MINIVGG_WIDTHS[-1]  # 64 -> 2x2 after five pools
    assert feats.train.shape == (len(data.x_train), width)
    assert feats.val.shape == (len(data.x_val), width)
    assert feats.test.shape == (len(data.x_test), width)
    again = transfer.features(base, data, pre, size=64)
    assert np.shares_memory(again.train, feats.train)  # a view of the same cached array

    head, run = transfer.train_head(feats, data, name="h", fit=FitSettings(epochs=1,
                                                                           progress=False))
    assert capsys.readouterr().out == ""
    assert isinstance(run, train.Run) and run.name == "h" and run.epochs == 1
    assert set(run.history) >= {"loss", "val_accuracy"}
    assert head.output.shape[1:] == (data.n_classes,)
    assert head.predict(feats.test, verbose=0).shape == (len(data.x_test), data.n_classes)
    assert isinstance(head.optimizer, keras.optimizers.Adam)
    sgd, _ = transfer.train_head(feats, data, fit=FitSettings(epochs=1, optimizer="sgd",
                                                              lr=0.05, progress=False))
    assert isinstance(sgd.optimizer, keras.optimizers.SGD)
    assert float(sgd.optimizer.learning_rate.numpy()) == pytest.approx(0.05)


def test_train_head_is_seeded_by_its_fit_settings(tiny_data):
    feats = transfer.Features(*(np.random.default_rng(0).normal(size=(len(x), 6)).astype("f4")
                                for x in (tiny_data.x_train, tiny_data.x_val, tiny_data.x_test)))
    fit = FitSettings(epochs=2, seed=3, progress=False)
    _, a = transfer.train_head(feats, tiny_data, fit=fit)
    _, b = transfer.train_head(feats, tiny_data, fit=fit)
    _, c = transfer.train_head(feats, tiny_data, fit=fit.replace(seed=4))
    assert a.history == b.history and a.history != c.history


def test_finetune_unfreezes_the_top_blocks(tiny_data, capsys):
    base, pre = transfer.lesson_base(QUICK, size=32, weights=None)
    images = transfer.prepare(tiny_data, pre, size=32)  # 16x16 images, resized in the model
    model, run = transfer.finetune(base, images, tiny_data, name="ft", unfreeze_blocks=1,
                                   fit=FitSettings(epochs=1, lr=1e-4, batch_size=8))
    assert capsys.readouterr().out.startswith("  [ft] epoch 1/1: ")
    assert run.epochs == 1 and model.input_shape == (None, 16, 16, 3)
    trainable = {layer.name.split("_")[0] for layer in base.layers
                 if layer.trainable and layer.weights}
    assert trainable == {"block5"}
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(1e-4)


def test_prepared_images_are_resized_and_preprocessed_inside_the_model(tiny_data):
    import tensorflow as tf

    small = tiny_data
    images = transfer.prepare(small, models.caffe_preprocess, size=32)
    assert images.train is small.x_train  # no float copy is kept
    inputs = keras.Input(small.x_train.shape[1:])
    model = keras.Model(inputs, images.to_base(inputs))
    expected = models.caffe_preprocess(tf.image.resize(small.x_train.astype("float32"), (32, 32)))
    np.testing.assert_allclose(model.predict(small.x_train, verbose=0), expected, atol=1e-3)
    same_size = transfer.prepare(small, None, size=16)
    assert same_size.to_base(inputs) is inputs  # nothing to do


def test_fine_tune_after_head_trains_every_block_of_a_fresh_base(tiny_data, monkeypatch):
    monkeypatch.setattr(models, "_FEATURE_CACHE", {})
    base, pre = transfer.lesson_base(QUICK)
    feats = transfer.features(base, tiny_data, pre, size=64)
    head, _ = transfer.train_head(feats, tiny_data, fit=FitSettings(epochs=1, progress=False))
    before = [w.copy() for w in head.get_weights()]
    images = transfer.prepare(tiny_data, pre, size=64)
    fit = transfer.FINE_TUNE_FIT.replace(epochs=1, batch_size=8)
    model, run, scores = transfer.fine_tune_after_head(QUICK, head, images, tiny_data, seed=5,
                                                       fit=fit)
    assert run.epochs == 1 and model.input_shape == (None, *tiny_data.x_train.shape[1:])
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(transfer.FINE_TUNE_FIT.lr)
    assert all(layer.trainable for layer in model.layers)  # the base: every block
    assert all(np.array_equal(a, b) for a, b in zip(before, head.get_weights(), strict=True))
    assert 0.0 <= scores.accuracy <= 1.0 and len(scores.per_class_recall) == tiny_data.n_classes
    assert base.get_weights()[0].shape == model.get_layer("minivgg").get_weights()[0].shape
    assert model.get_layer("minivgg") is not base  # a fresh copy: the lesson's base is untouched


def test_unfreeze_gradually_trains_more_blocks_each_stage_at_its_rate(tiny_data, monkeypatch):
    from labkit import evidence

    monkeypatch.setattr(models, "_FEATURE_CACHE", {})
    base, pre = transfer.lesson_base(QUICK)
    feats = transfer.features(base, tiny_data, pre, size=64)
    head, _ = transfer.train_head(feats, tiny_data, fit=FitSettings(epochs=1, progress=False))
    images = transfer.prepare(tiny_data, pre, size=64)
    before = evidence.block_weights(base)
    stages = [transfer.Stage(blocks=1, lr=1e-3, epochs=1), transfer.Stage(blocks=5, lr=1e-12,
                                                                          epochs=2)]
    model, run = transfer.unfreeze_gradually(base, images, tiny_data, stages=stages, head=head,
                                             name="gradual",
                                             fit=FitSettings(batch_size=8, progress=False))
    assert run.name == "gradual" and run.epochs == 3  # every stage's epochs, in order
    assert run.history["learning_rate"] == pytest.approx([1e-3, 1e-12, 1e-12])
    drift = evidence.weight_drift(before, base)
    assert drift["block5"] > 1e-4  # stage 1 trained the top block at 1e-3
    assert drift["block1"] < 1e-7  # only stage 2 (at 1e-12) reached block 1
    assert all(layer.trainable for layer in base.layers if "conv" in layer.name)  # every block
    with pytest.raises(ValueError, match="stages is empty"):
        transfer.unfreeze_gradually(base, images, tiny_data, stages=[], head=head, name="x",
                                    fit=FitSettings())


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"blocks": -1}, "blocks"), ({"blocks": 2.5}, "blocks"), ({"blocks": True}, "blocks"),
    ({"lr": 0.0}, "learning rate"), ({"lr": float("nan")}, "learning rate"),
    ({"lr": "1e-4"}, "learning rate"), ({"epochs": 0}, "epochs"), ({"epochs": 1.5}, "epochs"),
])
def test_a_bad_stage_names_its_field(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        transfer.Stage(**{"blocks": 1, "lr": 1e-4, "epochs": 1, **kwargs})


def test_a_stage_takes_numpy_numbers():
    stage = transfer.Stage(blocks=np.int64(3), lr=np.float32(1e-4), epochs=np.int32(2))
    assert (stage.blocks, stage.epochs) == (3, 2)
