"""Healthy setups, written the way forum users write them: the doctor finds no problem, does
not crash, and leaves the model exactly as it was (weights, trainable flags, compile state)."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from labkit import doctor, models  # noqa: E402
from labkit.lessons import batchnorm  # noqa: E402

from .doctor_setups import (  # noqa: E402
    XB,
    XS,
    YB,
    YS,
    K,
    X,
    Y,
    assert_unchanged,
    images,
    minivgg,
    scratch,
    snapshot,
    tiny,
)

NO_PROBE = {"run_lr_test": False}


def scratch_adam():
    return scratch(), X, Y, {}


def scratch_sgd_momentum():
    keras.utils.set_random_seed(0)
    model = models.scratch_cnn((16, 16, 3), K, widths=(8, 16))
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model, X, Y, {}


def scratch_batchnorm_dropout():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((16, 16, 3)), keras.layers.Rescaling(1 / 255),
        keras.layers.Conv2D(8, 3, padding="same"), keras.layers.BatchNormalization(),
        keras.layers.ReLU(), keras.layers.MaxPooling2D(), keras.layers.Dropout(0.2),
        keras.layers.Flatten(), keras.layers.Dense(K, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model, X, Y, {}


def normalization_layer():
    keras.utils.set_random_seed(0)
    norm = keras.layers.Normalization()
    norm.adapt(X.astype("float32"))
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(8, 3, activation="relu")(norm(inputs))
    outputs = keras.layers.Dense(K, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, outputs)
    model.compile("adam", "sparse_categorical_crossentropy")
    return model, X, Y, {}


def subclassed():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.scale = keras.layers.Rescaling(1 / 255)
            self.conv = keras.layers.Conv2D(8, 3, activation="relu")
            self.pool = keras.layers.GlobalAveragePooling2D()
            self.out = keras.layers.Dense(K, activation="softmax")

        def call(self, x):
            return self.out(self.pool(self.conv(self.scale(x))))

    keras.utils.set_random_seed(0)
    model = Net()
    model.compile("adam", "sparse_categorical_crossentropy")
    model(X[:1].astype("float32"))
    return model, X, Y, {}


def dataset_input():
    ds = tf.data.Dataset.from_tensor_slices((X, Y)).shuffle(64, seed=0).batch(16)
    return scratch(), ds, None, {}


def binary_sigmoid():
    model = tiny(1, "sigmoid")
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    return model, X, (Y % 2).astype("int64"), {}


def onehot_categorical():
    model = tiny(K, "softmax")
    model.compile("adam", "categorical_crossentropy")
    return model, X, keras.utils.to_categorical(Y, K), {}


def logits_from_logits():
    model = tiny(K, None)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model, X, Y, {}


def uncompiled_with_arguments_and_shuffled_validation_split():
    loss = keras.losses.CategoricalCrossentropy(from_logits=True)
    return (tiny(K, None), X, keras.utils.to_categorical(Y, K),
            {"loss": loss, "lr": 1e-3, "validation_split": 0.2})


def frozen_base_preprocess_argument():
    model, _, preprocess = minivgg()
    return model, XB, YB, {"preprocess": preprocess}


def frozen_base_caffe_layer_inside():
    keras.utils.set_random_seed(0)
    base, _ = models.backbone("minivgg", input_shape=(64, 64, 3))
    base.trainable = False
    inputs = keras.Input((64, 64, 3))
    x = base(models.caffe_layer()(inputs), training=False)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(K, activation="softmax")(x))
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    return model, XB, YB, NO_PROBE


def flat_frozen_base():
    keras.utils.set_random_seed(0)
    base, preprocess = models.backbone("minivgg", input_shape=(64, 64, 3))
    for layer in base.layers:
        layer.trainable = False
    x = keras.layers.Flatten()(base.output)
    x = keras.layers.Dense(32, activation="relu")(x)
    model = keras.Model(base.input, keras.layers.Dense(K, activation="softmax")(x))
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model, XB, YB, {"preprocess": preprocess, **NO_PROBE}


def wrapped_in_augmentation():
    keras.utils.set_random_seed(0)
    base, _ = models.backbone("minivgg", input_shape=(64, 64, 3))
    base.trainable = False
    inputs = keras.Input((64, 64, 3))
    x = keras.layers.GlobalAveragePooling2D()(base(models.caffe_layer()(inputs)))
    inner = keras.Model(inputs, keras.layers.Dense(K, activation="softmax")(x), name="inner")
    augment = keras.Sequential([keras.layers.RandomFlip("horizontal"),
                                keras.layers.RandomRotation(0.05)], name="augment")
    model = keras.Sequential([keras.Input((64, 64, 3)), augment, inner])
    model.compile("adam", "sparse_categorical_crossentropy")
    return model, XB, YB, NO_PROBE


def finetune_top_blocks_low_lr():
    model, _, preprocess = minivgg(top_blocks=2, lr=1e-5)
    return model, XB, YB, {"preprocess": preprocess}


def finetune_batchnorm_frozen():
    model, base, preprocess = minivgg(frozen=False, lr=1e-5, name="minivgg_bn")
    batchnorm.freeze_batchnorm(base)
    models.compile_classifier(model, lr=1e-5)
    return model, XB, YB, {"preprocess": preprocess, **NO_PROBE}


def frozen_batchnorm_base():
    model, _, preprocess = minivgg(name="minivgg_bn")
    return model, XB, YB, {"preprocess": preprocess, **NO_PROBE}


def small_images_resized_for_the_base():
    keras.utils.set_random_seed(0)
    base, preprocess = models.backbone("minivgg", input_shape=(64, 64, 3))
    base.trainable = False
    inputs = keras.Input((32, 32, 3))
    x = base(keras.layers.Resizing(64, 64)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(K, activation="softmax")(
        keras.layers.Flatten()(x)))
    model.compile("adam", "sparse_categorical_crossentropy")
    return model, XS, YS, {"preprocess": preprocess, **NO_PROBE}


def dataset_with_caffe_map():
    model, _, preprocess = minivgg()
    ds = (tf.data.Dataset.from_tensor_slices((XB, YB)).batch(8)
          .map(lambda x, y: (preprocess(x), y)))
    return model, ds, None, NO_PROBE


def finetune_whole_base_with_plenty_of_labels():
    keras.utils.set_random_seed(0)
    base, preprocess = models.backbone("minivgg", input_shape=(64, 64, 3))
    inputs = keras.Input((32, 32, 3))
    x = base(keras.layers.Resizing(64, 64)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(K, activation="softmax")(
        keras.layers.GlobalAveragePooling2D()(x)))
    model.compile(keras.optimizers.Adam(1e-4), "sparse_categorical_crossentropy")
    x, y = images(480, 32, seed=5)  # 120 labelled images per class
    return model, x, y, {"preprocess": preprocess, **NO_PROBE}


SETUPS = [scratch_adam, scratch_sgd_momentum, scratch_batchnorm_dropout, normalization_layer,
          subclassed, dataset_input, binary_sigmoid, onehot_categorical, logits_from_logits,
          uncompiled_with_arguments_and_shuffled_validation_split,
          frozen_base_preprocess_argument, frozen_base_caffe_layer_inside, flat_frozen_base,
          wrapped_in_augmentation, finetune_top_blocks_low_lr, finetune_batchnorm_frozen,
          frozen_batchnorm_base, small_images_resized_for_the_base, dataset_with_caffe_map,
          finetune_whole_base_with_plenty_of_labels]


@pytest.mark.parametrize("setup", SETUPS, ids=[s.__name__ for s in SETUPS])
def test_healthy_setup_has_no_problem_and_is_left_unchanged(setup):
    model, x, y, kwargs = setup()
    before = snapshot(model)
    report = doctor.diagnose(model, x, y, **kwargs)
    assert report.ok, str(report)
    assert not report.warnings, str(report)
    assert not any("could not" in note for note in report.notes), str(report)
    assert_unchanged(before, model)


def test_there_are_at_least_fifteen_healthy_setups():
    assert len(SETUPS) >= 15 and np.unique([s.__name__ for s in SETUPS]).size == len(SETUPS)
