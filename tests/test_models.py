"""labkit.models: backbones, errors, preprocessing, freezing, heads, compiling, feature cache."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from labkit import models  # noqa: E402
from labkit.lessons import preprocessing as preprocess  # noqa: E402

VGG16_LAYERS = [
    "block1_conv1", "block1_conv2", "block1_pool",
    "block2_conv1", "block2_conv2", "block2_pool",
    "block3_conv1", "block3_conv2", "block3_conv3", "block3_pool",
    "block4_conv1", "block4_conv2", "block4_conv3", "block4_pool",
    "block5_conv1", "block5_conv2", "block5_conv3", "block5_pool",
]
RNG = np.random.default_rng(0)
X16 = RNG.integers(0, 256, size=(16, 32, 32, 3), dtype=np.uint8)
Y16 = np.arange(16) % 3


def layer_names(model) -> list[str]:
    return [layer.name for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]


def weights_of(model) -> list[np.ndarray]:
    return [np.array(w) for w in model.get_weights()]


@pytest.fixture
def random_base():
    keras.utils.set_random_seed(0)
    base, _ = models.backbone("minivgg", weights=None, input_shape=(32, 32, 3))
    return base


# ---- backbones -------------------------------------------------------------------------------
def test_minivgg_has_vgg16_layer_names_and_five_blocks():
    model = models.minivgg((32, 32, 3))
    assert layer_names(model) == VGG16_LAYERS
    assert models.block_names(model) == [f"block{i}" for i in range(1, 6)]
    widths = [model.get_layer(f"block{i}_conv1").filters for i in range(1, 6)]
    assert tuple(widths) == models.MINIVGG_WIDTHS


def test_backbone_minivgg_random_init_output_is_1x1(random_base):
    assert random_base.output.shape[1:] == (1, 1, models.MINIVGG_WIDTHS[-1])


def test_backbone_minivgg_loads_shipped_weights(random_base):
    shipped = models.shipped_weights("minivgg")
    assert shipped.exists(), "run python -m labkit.dev.pretrain"
    loaded, pre = models.backbone("minivgg", input_shape=(32, 32, 3))
    again, _ = models.backbone("minivgg", weights=shipped, input_shape=(64, 64, 3))
    assert pre is models.caffe_preprocess
    for a, b, r in zip(weights_of(loaded), weights_of(again), weights_of(random_base),
                       strict=True):
        np.testing.assert_array_equal(a, b)  # same file, any input size
        assert not np.array_equal(a, r) or not a.any()  # not the random init


def test_backbone_missing_weights_file_names_path_and_fix(tmp_path):
    missing = tmp_path / "nope.weights.h5"
    with pytest.raises(FileNotFoundError) as info:
        models.backbone("minivgg", weights=missing)
    assert str(missing) in str(info.value)
    assert "python -m labkit.dev.pretrain" in str(info.value)


def test_backbone_unknown_name_lists_valid():
    with pytest.raises(ValueError, match=r"unknown backbone 'resnet'.*minivgg, minivgg_bn, vgg16"):
        models.backbone("resnet")


def test_minivgg_bn_puts_batchnorm_between_conv_and_relu():
    model = models.minivgg((32, 32, 3), batchnorm=True)
    assert model.name == "minivgg_bn"
    names = [layer.name for layer in model.layers]
    i = names.index("block1_conv1")
    assert names[i:i + 3] == ["block1_conv1", "block1_conv1_bn", "block1_conv1_relu"]
    assert model.get_layer("block1_conv1").use_bias is False
    assert models.block_names(model) == [f"block{i}" for i in range(1, 6)]
    assert sum(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers) == 13


def test_shipped_weights_unknown_backbone_names_the_valid_ones():
    with pytest.raises(ValueError, match="no shipped weights for 'vgg16'.*minivgg, minivgg_bn"):
        models.shipped_weights("vgg16")


def test_backbone_vgg16_missing_weights_file():
    with pytest.raises(FileNotFoundError, match="/nonexistent.h5"):
        models.backbone("vgg16", weights="/nonexistent.h5")


def test_backbone_vgg16_random_init_builds_without_download():
    """The full profile's code path, with random weights (no ImageNet download)."""
    base, pre = models.backbone("vgg16", weights=None, input_shape=(32, 32, 3))
    assert layer_names(base) == VGG16_LAYERS  # MiniVGG really is VGG16-shaped
    assert base.output.shape[1:] == (1, 1, 512)
    assert pre is models.caffe_preprocess


@pytest.mark.parametrize("error", [OSError("no route to host"), Exception("URL fetch failure")])
def test_backbone_vgg16_offline_imagenet_error_says_which_file_where(monkeypatch, error):
    seen = {}

    def offline_vgg16(**kwargs):
        seen.update(kwargs)
        raise error

    monkeypatch.setattr(keras.applications, "VGG16", offline_vgg16)
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setattr(models, "cached_imagenet_file", lambda name: None)  # a clean ~/.keras
    with pytest.raises(RuntimeError) as info:
        models.backbone("vgg16", input_shape=(32, 32, 3))  # "default" means ImageNet
    message = str(info.value)
    assert seen["weights"] == "imagenet" and seen["include_top"] is False
    assert models.VGG16_NOTOP_FILE == "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    assert models.VGG16_NOTOP_FILE in message
    assert str(Path("~/.keras/models").expanduser()) in message
    assert str(error) in message
    assert info.value.__cause__ is error


def test_backbone_vgg16_offline_error_follows_keras_home(monkeypatch, tmp_path):
    def offline_vgg16(**kwargs):
        raise OSError("offline")

    monkeypatch.setattr(keras.applications, "VGG16", offline_vgg16)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(RuntimeError, match=str(tmp_path / "models")):
        models.backbone("vgg16", weights="imagenet", input_shape=(32, 32, 3))


def test_backbone_vgg16_local_file_errors_are_not_rewrapped(monkeypatch, tmp_path):
    local = tmp_path / "vgg16.h5"
    local.write_bytes(b"not really weights")

    def bad_file(**kwargs):
        raise ValueError("bad weights file")

    monkeypatch.setattr(keras.applications, "VGG16", bad_file)
    with pytest.raises(ValueError, match="bad weights file"):
        models.backbone("vgg16", weights=local)


# ---- preprocessing ---------------------------------------------------------------------------
def test_caffe_preprocess_matches_keras_vgg16():
    x = RNG.integers(0, 256, size=(4, 8, 8, 3), dtype=np.uint8)
    ours = keras.ops.convert_to_numpy(models.caffe_preprocess(x))
    theirs = keras.applications.vgg16.preprocess_input(x.astype("float32"))
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-4)
    by_hand = x[..., ::-1].astype("float32") - np.array(models.IMAGENET_BGR_MEANS, "float32")
    np.testing.assert_allclose(ours, by_hand, rtol=0, atol=1e-4)
    assert ours.dtype == np.float32
    assert x.dtype == np.uint8  # the input is left alone


# ---- freezing and heads ----------------------------------------------------------------------
def test_frozen_base_does_not_move_head_does(random_base):
    models.freeze(random_base)
    model = models.compile_classifier(models.attach_head(random_base, 3), lr=1e-2)
    assert models.count_params(random_base) == 0
    base_before = weights_of(random_base)
    head_before = weights_of(model.get_layer("head"))
    model.fit(models.caffe_preprocess(X16), Y16, epochs=1, batch_size=8, verbose=0)
    for a, b in zip(base_before, weights_of(random_base), strict=True):
        np.testing.assert_array_equal(a, b)
    moved = [not np.array_equal(a, b)
             for a, b in zip(head_before, weights_of(model.get_layer("head")), strict=True)]
    assert all(moved)
    assert model.output.shape[1:] == (3,)


def test_unfreeze_top_blocks(random_base):
    models.unfreeze_top_blocks(random_base, 2)
    trainable = {layer.name for layer in random_base.layers if layer.trainable and layer.weights}
    assert trainable == {n for n in VGG16_LAYERS if n.startswith(("block4", "block5"))
                         and "conv" in n}
    expected = sum(layer.count_params() for layer in random_base.layers
                   if layer.name.startswith(("block4", "block5")))
    assert models.count_params(random_base) == expected
    total = random_base.count_params()
    assert models.count_params(random_base, trainable=False) == total - expected

    models.unfreeze_top_blocks(random_base, 0)
    assert models.count_params(random_base) == 0
    models.unfreeze_top_blocks(random_base, 5)
    assert models.count_params(random_base) == total
    for k in (-1, 6):
        with pytest.raises(ValueError, match=rf"k must be between 0 and 5.*got {k}"):
            models.unfreeze_top_blocks(random_base, k)


def test_loss_for_head_activations():
    assert models.loss_for("softmax") == "sparse_categorical_crossentropy"
    assert models.loss_for("sigmoid") == "binary_crossentropy"
    with pytest.raises(ValueError, match=r"unknown head activation 'relu'.*softmax"):
        models.loss_for("relu")
    with pytest.raises(ValueError, match="head activation"):
        models.classifier_head((4,), 2, activation="tanh")


def test_classifier_head_layers():
    head = models.classifier_head((2, 2, 3), 5, dropout=0.5, hidden=7)
    assert [layer.name for layer in head.layers[1:]] == [
        "head_flatten", "head_hidden", "head_dropout", "head_output"]
    assert head.output.shape[1:] == (5,)


def test_compile_classifier_optimizers():
    def model():
        return models.classifier_head((4,), 2)

    with pytest.raises(ValueError, match=r"unknown optimizer 'rmsprop'.*adam.*sgd"):
        models.compile_classifier(model(), optimizer="rmsprop")
    sgd = models.compile_classifier(model(), lr=0.05, optimizer="sgd")
    assert isinstance(sgd.optimizer, keras.optimizers.SGD)
    assert sgd.optimizer.momentum == pytest.approx(0.9)
    assert float(sgd.optimizer.learning_rate.numpy()) == pytest.approx(0.05)
    adam = models.compile_classifier(model())
    assert isinstance(adam.optimizer, keras.optimizers.Adam)
    assert adam.loss == "sparse_categorical_crossentropy"
    own = keras.optimizers.RMSprop()
    assert models.compile_classifier(model(), optimizer=own).optimizer is own


# ---- feature cache ---------------------------------------------------------------------------
def test_extract_features_memoises_per_preprocess(random_base, monkeypatch):
    monkeypatch.setattr(models, "_FEATURE_CACHE", {})
    x = X16[:6]
    first = models.extract_features(random_base, x, models.caffe_preprocess)
    assert first.shape == (6, 1, 1, models.MINIVGG_WIDTHS[-1])

    def no_predict(*args, **kwargs):
        raise AssertionError("cached features must not run the base again")

    with monkeypatch.context() as patch:
        patch.setattr(random_base, "predict", no_predict)
        assert models.extract_features(random_base, x.copy(), models.caffe_preprocess) is first

    other = models.extract_features(random_base, x, preprocess.scale_0_1)
    assert other is not first and not np.allclose(other, first)


def test_extract_features_keys_closures_and_partials_by_identity(random_base, monkeypatch):
    """Two closures share a name but not their behaviour; partials have no __name__."""
    monkeypatch.setattr(models, "_FEATURE_CACHE", {})
    x = X16[:4]

    def scaled(k):
        def pre(batch):
            return models.caffe_preprocess(batch) * k
        return pre

    one = models.extract_features(random_base, x, scaled(1.0))
    zero = models.extract_features(random_base, x, scaled(0.0))
    assert one is not zero and not np.allclose(one, zero)
    part = models.extract_features(random_base, x, functools.partial(models.caffe_preprocess))
    np.testing.assert_allclose(part, models.extract_features(random_base, x,
                                                             models.caffe_preprocess), atol=1e-5)


def test_extract_features_changes_with_weights_and_size(random_base, monkeypatch):
    monkeypatch.setattr(models, "_FEATURE_CACHE", {})
    x = RNG.integers(0, 256, size=(3, 16, 16, 3), dtype=np.uint8)
    resized = models.extract_features(random_base, x, models.caffe_preprocess, size=32)
    assert resized.shape == (3, 1, 1, models.MINIVGG_WIDTHS[-1])
    kernel = random_base.get_layer("block5_conv3")
    kernel.set_weights([w * 2 for w in kernel.get_weights()])
    again = models.extract_features(random_base, x, models.caffe_preprocess, size=32)
    assert again is not resized


def test_scratch_cnn_rescale():
    raw = models.scratch_cnn((16, 16, 3), 4, widths=(4, 8), rescale=None)
    assert not any(isinstance(layer, keras.layers.Rescaling) for layer in raw.layers)
    scaled = models.scratch_cnn((16, 16, 3), 4, widths=(4, 8))
    (rescale,) = [layer for layer in scaled.layers if isinstance(layer, keras.layers.Rescaling)]
    assert rescale.scale == pytest.approx(1 / 255)
    assert scaled.output.shape[1:] == (4,)


def test_scratch_cnn_pooling_flatten_or_gap():
    from labkit import scratch

    gap = models.scratch_cnn((16, 16, 3), 4, widths=(4, 8))
    flat = models.scratch_cnn((16, 16, 3), 4, widths=(4, 8), pooling="flatten")
    assert [layer.name for layer in gap.layers][-2] == "gap"
    assert [layer.name for layer in flat.layers][-2] == "flatten"
    # Flatten gives every position of the 4x4x8 map its own weights into the softmax
    assert flat.get_layer("classes").kernel.shape == (4 * 4 * 8, 4)
    assert gap.get_layer("classes").kernel.shape == (8, 4)
    with pytest.raises(ValueError, match="pooling"):
        models.scratch_cnn((16, 16, 3), 4, pooling="max")
    assert scratch.FORUM_FLATTEN.widths == scratch.FORUM.widths
    assert scratch.FORUM_FLATTEN.pooling == "flatten" and scratch.FORUM.pooling == "gap"


def test_base_batches_resize_then_preprocess():
    x = np.full((5, 8, 8, 3), 255, np.uint8)
    batches = list(models.base_batches(x, lambda b: b / 255.0, size=16, batch_size=2))
    assert [int(b.shape[0]) for b in batches] == [2, 2, 1]
    assert batches[0].shape[1:] == (16, 16, 3)
    np.testing.assert_allclose(np.asarray(batches[0]), 1.0, atol=1e-6)


def test_fold_batchnorm_computes_what_the_batchnorm_base_computes():
    keras.utils.set_random_seed(0)
    bn_base = models.minivgg((32, 32, 3), widths=(4, 4, 8, 8, 8), batchnorm=True)
    rng = np.random.default_rng(0)
    for layer in models.batchnorm_layers(bn_base):  # non-trivial statistics to fold
        gamma, beta, mean, var = layer.get_weights()
        layer.set_weights([rng.uniform(0.5, 2, gamma.shape), rng.normal(0, 1, beta.shape),
                           rng.normal(0, 1, mean.shape), rng.uniform(0.5, 2, var.shape)])
    plain = models.fold_batchnorm(bn_base)
    assert not models.batchnorm_layers(plain) and plain.name == "minivgg"
    x = rng.normal(0, 50, (4, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(plain.predict(x, verbose=0), bn_base.predict(x, verbose=0),
                               rtol=1e-4, atol=1e-4)
