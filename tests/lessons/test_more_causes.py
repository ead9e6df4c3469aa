"""labkit.lessons.more_causes: lesson 12's pieces on tiny data."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.lessons import more_causes


def test_through_camera_changes_contrast_cast_and_noise_reproducibly():
    x = np.full((2, 8, 8, 3), 100, np.uint8)
    x[:, :4] = 200  # two grey levels: the contrast between them is what shrinks
    out = more_causes.through_camera(x, seed=1)
    assert out.shape == x.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out, more_causes.through_camera(x, seed=1))
    assert not np.array_equal(out, more_causes.through_camera(x, seed=2))  # other noise
    quiet = more_causes.Camera(noise=0.0)
    flat = more_causes.through_camera(x, seed=0, camera=quiet).astype(float)
    assert flat[0, 0, 0, 1] - flat[0, -1, 0, 1] == pytest.approx(100 * quiet.contrast, abs=1)
    assert flat[..., 0].mean() > flat[..., 2].mean()  # the warm cast: red up, blue down


def test_through_camera_names_a_bad_shape():
    with pytest.raises(ValueError, match=r"RGB images \(N, height, width, 3\)"):
        more_causes.through_camera(np.zeros((4, 4, 3), np.uint8), seed=0)


def test_colour_classes_and_only_classes(tiny_data):
    colour = more_causes.colour_classes(tiny_data.class_names)
    assert [tiny_data.class_names[c] for c in colour] == ["red_disc", "blue_disc",
                                                          "yellow_square", "cyan_square"]
    assert more_causes.colour_classes(["cat", "dog"]) == []  # CIFAR-10: none
    sub = more_causes.only_classes(tiny_data, [3, 1])
    assert sub.class_names == (tiny_data.class_names[3], tiny_data.class_names[1])
    kept = np.isin(tiny_data.y_train, [3, 1])
    np.testing.assert_array_equal(sub.x_train, tiny_data.x_train[kept])
    np.testing.assert_array_equal(sub.y_train, np.where(tiny_data.y_train[kept] == 3, 0, 1))
    assert set(sub.y_test) <= {0, 1}


@pytest.mark.parametrize("classes", [[], [1, 1], [10], [-1]])
def test_only_classes_refuses_bad_indices(tiny_data, classes):
    with pytest.raises(ValueError, match="class"):
        more_causes.only_classes(tiny_data, classes)


def test_batchnorm_at_batch_one_outputs_beta():
    keras = pytest.importorskip("keras")
    model = more_causes.batchnorm_head((6,), 3, batchnorm=True, hidden=4)
    bn = keras.Model(model.input, model.get_layer("hidden_bn").output)
    x = np.random.default_rng(0).normal(size=(5, 6)).astype("float32")
    for row in x:  # one image per batch: whatever the image, the output is beta
        np.testing.assert_allclose(np.asarray(bn(row[None], training=True))[0],
                                   model.get_layer("hidden_bn").beta.numpy(), atol=1e-3)
    assert np.ptp(np.asarray(bn(x, training=True)), axis=0).max() > 0.1  # batch 5: it varies
    plain = more_causes.batchnorm_head((6,), 3, batchnorm=False)
    assert "hidden_bn" not in [layer.name for layer in plain.layers]


def test_with_pretrained_top_is_the_shipped_source_classifier():
    pytest.importorskip("keras")
    from labkit import models, shapes

    base, _ = models.backbone("minivgg", input_shape=(64, 64, 3))
    top = more_causes.with_pretrained_top(base)
    assert top.output.shape[-1] == len(shapes.class_names("source"))
    probs = np.asarray(top(np.zeros((1, 64, 64, 3), "float32")))
    assert probs.sum() == pytest.approx(1.0, abs=1e-4)  # a softmax over the source classes
    random_base, _ = models.backbone("vgg16", weights=None, input_shape=(32, 32, 3))
    assert more_causes.with_pretrained_top(random_base) is None


def test_augmented_scratch_and_batchnorm_head_train(tiny_data):
    keras = pytest.importorskip("keras")
    from labkit import scratch, transfer
    from labkit.train import FitSettings

    fit = FitSettings(epochs=1, seed=0, progress=False, batch_size=8)
    flip = keras.layers.RandomFlip("horizontal", seed=0)
    model, run = scratch.train_scratch(tiny_data, name="flip", fit=fit,
                                       network=more_causes.TOO_SMALL, augment=flip)
    assert run.epochs == 1 and model.name == "augmented_cnn" and model.layers[0] is flip
    # augmentation is active in fit only: predictions are those of the CNN behind it
    np.testing.assert_allclose(model.predict(tiny_data.x_val, verbose=0),
                               model.layers[1].predict(tiny_data.x_val, verbose=0), atol=1e-6)
    flat = (tiny_data.x_train.reshape(len(tiny_data.x_train), -1).astype("float32") / 255,
            tiny_data.x_val.reshape(len(tiny_data.x_val), -1).astype("float32") / 255,
            tiny_data.x_test.reshape(len(tiny_data.x_test), -1).astype("float32") / 255)
    head, run = transfer.train_head(transfer.Features(*flat), tiny_data, name="bn, batch 1",
                                    fit=fit.replace(batch_size=1),
                                    build_head=more_causes.head_builder(batchnorm=True))
    assert run.epochs == 1 and np.isfinite(run.last("loss"))
    assert "hidden_bn" in [layer.name for layer in head.layers]
