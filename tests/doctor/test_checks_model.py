"""labkit.doctor.checks_model: head/loss/labels, trainable base, BatchNorm, feature map."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from labkit import doctor, models  # noqa: E402

from .doctor_setups import XB, XS, YB, YS, K, X, Y, flagged, images, minivgg, tiny  # noqa: E402


# ---- a trainable pretrained base: the regime decides -------------------------------------------
def test_unfrozen_base_at_a_head_lr_with_few_labels_is_a_problem():
    model, _, preprocess = minivgg(frozen=False, lr=1e-3)
    report = doctor.diagnose(model, XB, YB, preprocess=preprocess, run_lr_test=False)
    finding = flagged(report, "unfrozen_base", "problem")
    assert "100%" in finding.evidence and "1e-03" in finding.evidence
    assert "about 8 labelled images per class" in finding.evidence
    assert finding.notebook == "notebooks/02_unfrozen_base.ipynb"


def test_unfrozen_base_with_plenty_of_labels_is_only_info():
    model, _, preprocess = minivgg(size=32, frozen=False, lr=1e-3)
    x, y = images(800, 32, seed=3)  # 200 per class, sampled down to 512 for the statistics
    report = doctor.diagnose(model, x, y, preprocess=preprocess, run_lr_test=False)
    finding = flagged(report, "unfrozen_base", "info")
    assert "about 200 labelled images per class" in finding.evidence
    assert "head trained first" in finding.evidence and "1e-4" in finding.fix
    assert "unfrozen_base" not in [f.check for f in report.problems]


def test_unfrozen_base_with_a_dataset_of_unknown_size_is_not_judged_few():
    import tensorflow as tf

    model, _, preprocess = minivgg(frozen=False, lr=1e-3)
    ds = tf.data.Dataset.from_tensor_slices((XB, YB)).repeat().batch(8).map(
        lambda x, y: (preprocess(x), y))
    finding = flagged(doctor.diagnose(model, ds, run_lr_test=False), "unfrozen_base", "info")
    assert "at least" in finding.evidence and "unknown" in finding.evidence


def test_unfrozen_base_at_a_fine_tuning_lr_is_a_note():
    model, _, preprocess = minivgg(frozen=False, lr=1e-5)
    report = doctor.diagnose(model, XB, YB, preprocess=preprocess, run_lr_test=False)
    assert "unfrozen_base" not in report
    assert any("unfrozen_base" in note and "1e-05" in note for note in report.notes)


def test_unfrozen_base_at_exactly_1e4_is_a_fine_tuning_rate():
    # Keras keeps 1e-4 in float32 (9.99999974e-05): lesson 02's rate must read as fine-tuning,
    # and the note must not call it "below" itself
    model, _, preprocess = minivgg(frozen=False, lr=1e-4)
    report = doctor.diagnose(model, XB, YB, preprocess=preprocess, run_lr_test=False)
    assert "unfrozen_base" not in report
    note = next(n for n in report.notes if n.startswith("unfrozen_base"))
    assert "at most 1e-04" in note and "below" not in note
    model, _, preprocess = minivgg(frozen=False, lr=2e-4)
    report = doctor.diagnose(model, XB, YB, preprocess=preprocess, run_lr_test=False)
    assert "above 1e-04" in flagged(report, "unfrozen_base", "problem").evidence


def test_unfrozen_base_given_separately_with_lr_argument():
    keras.utils.set_random_seed(0)
    base, preprocess = models.backbone("minivgg", input_shape=(64, 64, 3))
    model = models.attach_head(base, K)  # not compiled: the lr argument is used
    report = doctor.diagnose(model, XB, YB, preprocess=preprocess, base=base, lr=1e-3,
                             loss="sparse_categorical_crossentropy")
    flagged(report, "unfrozen_base", "problem")


def test_frozen_inner_model_wrapped_in_an_augmentation_model_is_not_unfrozen():
    # forum pattern: inner = Model(base.input, head(base.output)) with the base frozen layer by
    # layer, then model = Sequential([augmentation, inner])
    keras.utils.set_random_seed(0)
    base, preprocess = models.backbone("minivgg", input_shape=(64, 64, 3))
    for layer in base.layers:
        layer.trainable = False
    head = keras.layers.Dense(K, activation="softmax")(keras.layers.Flatten()(base.output))
    inner = keras.Model(base.input, head, name="inner")
    model = keras.Sequential([keras.Input((64, 64, 3)), models.caffe_layer(),
                              keras.layers.RandomFlip("horizontal"), inner])
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    report = doctor.diagnose(model, XB, YB, run_lr_test=False)
    assert "unfrozen_base" not in report, str(report)
    assert not any("unfrozen_base" in n for n in report.notes)
    assert report.ok, str(report)


def test_whole_model_frozen_trains_nothing():
    model = tiny()
    model.trainable = False  # meant for the base, set on the model
    model.compile("adam", "sparse_categorical_crossentropy")
    report = doctor.diagnose(model, X, Y)
    assert "Trainable params" in flagged(report, "nothing_trainable").fix
    assert not any("could not" in n for n in report.notes)


# ---- BatchNorm layers of a fine-tuned base left trainable --------------------------------------
def test_batchnorm_updating_in_a_finetuned_base():
    model, _, preprocess = minivgg(frozen=False, lr=1e-5, name="minivgg_bn")
    report = doctor.diagnose(model, XB, YB, preprocess=preprocess, run_lr_test=False)
    finding = flagged(report, "batchnorm_updating", "warning")
    assert "13 of the 13" in finding.evidence and "'minivgg_bn'" in finding.evidence
    assert "freeze_batchnorm" in finding.fix
    assert finding.notebook == "notebooks/10_batchnorm_finetuning.ipynb"
    assert "unfrozen_base" not in report  # 1e-5 is a fine-tuning learning rate


@pytest.mark.parametrize("give_base", [False, True])
def test_batchnorm_updating_in_a_flat_model(give_base):
    keras.utils.set_random_seed(0)
    base, preprocess = models.backbone("minivgg_bn", input_shape=(64, 64, 3))
    flat = keras.layers.Dense(K, activation="softmax")(keras.layers.Flatten()(base.output))
    model = models.compile_classifier(keras.Model(base.input, flat), lr=1e-5)  # no nested model
    report = doctor.diagnose(model, XB, YB, preprocess=preprocess, run_lr_test=False,
                             base=base if give_base else None)
    assert "13 of the 13" in flagged(report, "batchnorm_updating", "warning").evidence


def test_batchnorm_in_a_scratch_cnn_nested_in_a_wrapper_is_normal():
    keras.utils.set_random_seed(0)
    block = keras.Sequential([keras.layers.Conv2D(8, 3), keras.layers.BatchNormalization(),
                              keras.layers.ReLU()], name="block")
    model = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Rescaling(1 / 255), block,
                              keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(K, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    assert "batchnorm_updating" not in doctor.diagnose(model, X, Y, run_lr_test=False)


# ---- resolution vs downsampling ------------------------------------------------------------------
def test_vgg_base_on_32x32_images_leaves_1x1():
    model, _, preprocess = minivgg(size=32)
    report = doctor.diagnose(model, XS, YS, preprocess=preprocess, run_lr_test=False)
    finding = flagged(report, "feature_map_1x1")
    assert "32x32" in finding.evidence and "5 times" in finding.evidence
    assert finding.notebook == "notebooks/04_small_images.ipynb"


def test_1x1_feature_map_of_a_base_built_without_an_input_size():
    # like VGG16(include_top=False) without input_shape: the base's own shapes are (None, None)
    base = models.minivgg(input_shape=(None, None, 3))
    base.load_weights(models.shipped_weights("minivgg"))
    base.trainable = False
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.GlobalAveragePooling2D()(base(models.caffe_layer()(inputs)))
    model = keras.Model(inputs, keras.layers.Dense(K, activation="softmax")(x))
    model.compile("adam", "sparse_categorical_crossentropy")
    finding = flagged(doctor.diagnose(model, XS, YS, run_lr_test=False), "feature_map_1x1")
    assert "32x32" in finding.evidence and "after minivgg" in finding.evidence


def test_feature_map_of_a_subclassed_model_does_not_crash():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.conv = keras.layers.Conv2D(8, 3, strides=2, activation="relu")
            self.pool = keras.layers.GlobalAveragePooling2D()
            self.out = keras.layers.Dense(K, activation="softmax")

        def call(self, x):
            return self.out(self.pool(self.conv(x / 255.0)))

    model = Net()  # never called: the doctor builds it on x, as fit would
    model.compile("adam", "sparse_categorical_crossentropy")
    report = doctor.diagnose(model, X, Y, run_lr_test=False)
    assert not any("could not run" in n for n in report.notes), str(report)
    assert report.ok


# ---- head, loss and labels -----------------------------------------------------------------------
@pytest.mark.parametrize("units, activation, loss, onehot, check", [
    (K, "sigmoid", "sparse_categorical_crossentropy", False, "head_activation_loss"),
    (K, "softmax", "binary_crossentropy", True, "head_activation_loss"),
    (K, "softmax", keras.losses.SparseCategoricalCrossentropy(from_logits=True), False,
     "from_logits"),
    (K, None, "sparse_categorical_crossentropy", False, "from_logits"),
    (K, "softmax", "sparse_categorical_crossentropy", True, "label_format"),
    (K, "softmax", "categorical_crossentropy", False, "label_format"),
    (K - 1, "softmax", "sparse_categorical_crossentropy", False, "head_units"),
])
def test_head_loss_label_mismatch(units, activation, loss, onehot, check):
    y = keras.utils.to_categorical(Y, K) if onehot else Y
    report = doctor.diagnose(tiny(units, activation), X, y, loss=loss, run_lr_test=False)
    flagged(report, check)


def test_head_loss_read_from_the_compiled_model():
    model = tiny(K, "softmax")
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    report = doctor.diagnose(model, X, Y, run_lr_test=False)
    assert "from_logits=True" in flagged(report, "from_logits").evidence


def test_head_units_names_both_counts():
    report = doctor.diagnose(tiny(K - 1), X, Y, loss="sparse_categorical_crossentropy",
                             run_lr_test=False)
    evidence = flagged(report, "head_units").evidence
    assert "3 units" in evidence and "4 classes" in evidence


def test_head_units_of_a_subclassed_model_from_its_outputs():
    class Net(keras.Model):
        def __init__(self, units):
            super().__init__()
            self.pool = keras.layers.GlobalAveragePooling2D()
            self.out = keras.layers.Dense(units, activation="softmax")

        def call(self, x):
            return self.out(self.pool(x / 255.0))

    report = doctor.diagnose(Net(K - 2), X, Y, loss="sparse_categorical_crossentropy",
                             run_lr_test=False)
    assert "2 units" in flagged(report, "head_units").evidence
    assert np.isfinite(len(report.findings))
