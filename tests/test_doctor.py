"""labkit.doctor: one broken setup per check, healthy setups with nothing flagged, bad input.

Tiny data (64 images of 16x16, MiniVGG on 32 images of 64x64); the LR range tests use 30 steps.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from labkit import doctor, models  # noqa: E402
from labkit.lessons import preprocessing as pp  # noqa: E402

K = 4  # classes


def images(n: int = 64, size: int = 16, k: int = K, seed: int = 0):
    """Colour-coded classes (a palette colour per class plus noise), shuffled and balanced."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    rng.shuffle(y)
    palette = rng.integers(30, 226, size=(k, 3))
    x = palette[y][:, None, None, :] + rng.normal(0, 25, size=(n, size, size, 3))
    return np.clip(x, 0, 255).astype("uint8"), y.astype("int64")


X, Y = images()
XB, YB = images(32, 64, seed=1)  # for MiniVGG


def scratch(lr: float = 1e-3, rescale: float | None = 1 / 255, optimizer: str = "adam",
            compiled: bool = True):
    keras.utils.set_random_seed(0)
    model = models.scratch_cnn((16, 16, 3), K, widths=(8, 16), rescale=rescale)
    return models.compile_classifier(model, lr=lr, optimizer=optimizer) if compiled else model


def tiny(units: int = K, activation: str | None = "softmax"):
    """An uncompiled small CNN with a chosen head (for the head/loss/label checks)."""
    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input((16, 16, 3)), keras.layers.Rescaling(1 / 255),
        keras.layers.Conv2D(4, 3, activation="relu"), keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(units, activation=activation),
    ])


def minivgg(size: int = 64, frozen: bool = True, lr: float = 1e-3, top_blocks: int = 0,
            name: str = "minivgg"):
    keras.utils.set_random_seed(0)
    base, preprocess = models.backbone(name, weights=None, input_shape=(size, size, 3))
    models.freeze(base)
    if not frozen:
        base.trainable = True
    if top_blocks:
        models.unfreeze_top_blocks(base, top_blocks)
    model = models.compile_classifier(models.attach_head(base, K), lr=lr)
    return model, base, preprocess


def flagged(report, check: str, severity: str = "problem") -> doctor.Finding:
    """The finding of ``check``; asserts its severity and that its evidence has numbers."""
    hits = [f for f in report.findings if f.check == check]
    assert hits, f"{check} not flagged:\n{report}"
    finding = hits[0]
    assert finding.severity == severity
    assert re.search(r"\d", finding.evidence), finding.evidence
    assert finding.fix
    return finding


# ---- healthy setups: nothing flagged ---------------------------------------------------------
def test_healthy_scratch_cnn_with_lr_test():
    report = doctor.diagnose(scratch(), X, Y)
    assert report.findings == [], str(report)
    assert report.ok
    assert str(report).startswith("No problems found")


def test_healthy_frozen_minivgg_with_caffe_preprocessing():
    model, base, preprocess = minivgg()
    report = doctor.diagnose(model, XB, YB, preprocess=preprocess)
    assert report.findings == [], str(report)
    assert report.ok


def test_healthy_uncompiled_onehot_logits_and_shuffled_validation_split():
    model = tiny(activation=None)  # logits, with from_logits=True below
    loss = keras.losses.CategoricalCrossentropy(from_logits=True)
    y_onehot = keras.utils.to_categorical(Y, K)
    report = doctor.diagnose(model, X, y_onehot, loss=loss, lr=1e-3, validation_split=0.2)
    assert report.findings == [], str(report)
    assert any("compiled" in note for note in report.notes)  # the LR test was skipped, said so


def test_healthy_finetuning_top_blocks_at_low_lr():
    model, base, preprocess = minivgg(top_blocks=2, lr=1e-5)
    report = doctor.diagnose(model, XB, YB, preprocess=preprocess)
    assert report.findings == [], str(report)


def test_healthy_binary_sigmoid_head():
    y2 = (Y % 2).astype("int64")
    report = doctor.diagnose(tiny(1, "sigmoid"), X, y2, loss="binary_crossentropy",
                             run_lr_test=False)
    assert report.findings == [], str(report)


def test_lr_test_leaves_the_model_unchanged():
    model = scratch(lr=1e-3)
    before = [w.copy() for w in model.get_weights()]
    doctor.diagnose(model, X, Y)
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(1e-3)
    assert int(model.optimizer.iterations.numpy()) == 0


# ---- 1. input range --------------------------------------------------------------------------
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


def test_double_scaling():
    report = doctor.diagnose(scratch(), X, Y, preprocess=pp.scale_0_1, run_lr_test=False)
    finding = flagged(report, "double_scaling", "warning")
    assert "divides by 255" in finding.evidence and "[0.00, 1.00]" in finding.evidence


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
    base, _ = models.backbone("minivgg", weights=None, input_shape=(64, 64, 3))
    models.freeze(base)
    inputs = keras.Input((64, 64, 3))
    features = base(keras.layers.Rescaling(1 / 255)(inputs))
    outputs = keras.layers.Dense(K, activation="softmax")(keras.layers.Flatten()(features))
    model = keras.Model(inputs, outputs)
    report = doctor.diagnose(model, XB, YB, loss="sparse_categorical_crossentropy",
                             run_lr_test=False)
    assert "[0.00, 1.00]" in flagged(report, "base_preprocessing").evidence


# ---- 2. channel order (and colour) ------------------------------------------------------------
def test_channel_order_rgb_instead_of_bgr():
    model, _, _ = minivgg()
    report = doctor.diagnose(model, XB, YB, preprocess=pp.caffe_rgb, run_lr_test=False)
    finding = flagged(report, "channel_order")
    assert "follows x's red channel" in finding.evidence and "RGB-order" in finding.evidence
    assert "base_preprocessing" not in report  # overall range is right; only the order is wrong


def test_grayscale_into_a_colour_base():
    model, _, _ = minivgg()
    report = doctor.diagnose(model, XB, YB, preprocess=pp.caffe_gray, run_lr_test=False)
    flagged(report, "grayscale_inputs")
    assert "channel_order" not in report


# ---- 3. unfrozen pretrained base at a head's learning rate -------------------------------------
def test_unfrozen_base_at_high_lr():
    model, _, preprocess = minivgg(frozen=False, lr=1e-3)
    report = doctor.diagnose(model, XB, YB, preprocess=preprocess, run_lr_test=False)
    finding = flagged(report, "unfrozen_base", "warning")
    assert "100%" in finding.evidence and "1e-03" in finding.evidence
    assert finding.notebook == "notebooks/02_unfrozen_base.ipynb"


# ---- 3b. BatchNorm layers of a fine-tuned base left trainable ----------------------------------
def test_batchnorm_updating_in_a_finetuned_base():
    model, _, preprocess = minivgg(frozen=False, lr=1e-5, name="minivgg_bn")
    report = doctor.diagnose(model, XB, YB, preprocess=preprocess, run_lr_test=False)
    finding = flagged(report, "batchnorm_updating", "warning")
    assert "13 of the 13" in finding.evidence and "'minivgg_bn'" in finding.evidence
    assert "freeze_batchnorm" in finding.fix
    assert finding.notebook == "notebooks/10_batchnorm_finetuning.ipynb"
    assert "unfrozen_base" not in report  # 1e-5 is a fine-tuning learning rate


def test_batchnorm_updating_in_a_flat_model_with_the_base_given():
    keras.utils.set_random_seed(0)
    base, preprocess = models.backbone("minivgg_bn", weights=None, input_shape=(64, 64, 3))
    flat = keras.layers.Dense(K, activation="softmax")(keras.layers.Flatten()(base.output))
    model = models.compile_classifier(keras.Model(base.input, flat), lr=1e-5)  # no nested model
    assert "batchnorm_updating" not in doctor.diagnose(model, XB, YB, preprocess=preprocess,
                                                       run_lr_test=False)
    report = doctor.diagnose(model, XB, YB, preprocess=preprocess, base=base, run_lr_test=False)
    assert "13 of the 13" in flagged(report, "batchnorm_updating", "warning").evidence


def test_healthy_finetuning_with_frozen_batchnorm():
    from labkit.lessons import batchnorm

    model, base, preprocess = minivgg(frozen=False, lr=1e-5, name="minivgg_bn")
    batchnorm.freeze_batchnorm(base)
    models.compile_classifier(model, lr=1e-5)
    report = doctor.diagnose(model, XB, YB, preprocess=preprocess, run_lr_test=False)
    assert report.findings == [], str(report)


def test_healthy_frozen_batchnorm_base_and_scratch_cnn_with_batchnorm():
    model, _, preprocess = minivgg(name="minivgg_bn")  # frozen: BatchNorm in inference mode
    report = doctor.diagnose(model, XB, YB, preprocess=preprocess, run_lr_test=False)
    assert "batchnorm_updating" not in report
    keras.utils.set_random_seed(0)
    scratch_bn = keras.Sequential([
        keras.Input(X.shape[1:]), keras.layers.Rescaling(1 / 255), keras.layers.Conv2D(8, 3),
        keras.layers.BatchNormalization(), keras.layers.ReLU(),
        keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(K, activation="softmax")])
    models.compile_classifier(scratch_bn)
    report = doctor.diagnose(scratch_bn, X, Y, run_lr_test=False)
    assert "batchnorm_updating" not in report  # BatchNorm trained from scratch is normal


def test_unfrozen_base_given_separately_with_lr_argument():
    keras.utils.set_random_seed(0)
    base, preprocess = models.backbone("minivgg", weights=None, input_shape=(64, 64, 3))
    model = models.attach_head(base, K)  # not compiled: the lr argument is used
    report = doctor.diagnose(model, XB, YB, preprocess=preprocess, base=base, lr=1e-3,
                             loss="sparse_categorical_crossentropy")
    flagged(report, "unfrozen_base", "warning")


# ---- 4. learning rate (30-step LR range test) --------------------------------------------------
def test_learning_rate_too_high():
    report = doctor.diagnose(scratch(lr=1.0), X, Y)
    finding = flagged(report, "lr_too_high")
    assert "1.0e+00" in finding.evidence and re.search(r"\d+x higher", finding.evidence)
    assert finding.notebook == "notebooks/03_learning_rate.ipynb"


def test_learning_rate_too_low():
    report = doctor.diagnose(scratch(lr=1e-7), X, Y)
    finding = flagged(report, "lr_too_low", "warning")
    assert "1.0e-07" in finding.evidence and re.search(r"\d+x lower", finding.evidence)


def test_lr_test_skipped_with_a_note_when_not_compiled():
    report = doctor.diagnose(scratch(compiled=False), X, Y, lr=1.0,
                             loss="sparse_categorical_crossentropy")
    assert "lr_too_high" not in report
    assert any("compiled" in note for note in report.notes)


# ---- 5. class balance --------------------------------------------------------------------------
def test_class_imbalance():
    y = np.array([0] * 40 + [1] * 12 + [2] * 8 + [3] * 4)
    order = np.random.default_rng(0).permutation(len(y))
    report = doctor.diagnose(scratch(), X, y[order], run_lr_test=False)
    finding = flagged(report, "class_imbalance", "warning")
    assert "0: 40" in finding.evidence and "3: 4" in finding.evidence
    assert "10.0x" in finding.evidence
    assert "class_weight" in finding.fix


# ---- 6. resolution vs downsampling ---------------------------------------------------------------
def test_vgg_base_on_32x32_images_leaves_1x1():
    model, _, preprocess = minivgg(size=32)
    x, y = images(32, 32, seed=2)
    report = doctor.diagnose(model, x, y, preprocess=preprocess, run_lr_test=False)
    finding = flagged(report, "feature_map_1x1")
    assert "32x32" in finding.evidence and "5 times" in finding.evidence
    assert finding.notebook == "notebooks/04_small_images.ipynb"


# ---- 7. head, loss and labels --------------------------------------------------------------------
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


# ---- 8. validation_split on class-sorted data --------------------------------------------------
def test_validation_split_on_sorted_labels():
    order = np.argsort(Y, kind="stable")
    report = doctor.diagnose(scratch(), X[order], Y[order], validation_split=0.2,
                             run_lr_test=False)
    finding = flagged(report, "validation_split_order")
    assert "last 13 of 64" in finding.evidence and "[3]" in finding.evidence
    assert "stratified_split" in finding.fix


def test_validation_split_tail_holds_a_class_unseen_in_training():
    y = np.array([0, 1, 2] * 17 + [3] * 13)  # shuffled classes 0-2, then class 3 last
    report = doctor.diagnose(scratch(), X, y, validation_split=0.2, run_lr_test=False)
    evidence = flagged(report, "validation_split_order").evidence
    assert "last 13 of 64" in evidence and "[3] that never occur" in evidence


# ---- report and input errors -------------------------------------------------------------------
def test_report_text_and_html_list_problems_first():
    model, _, _ = minivgg(frozen=False)
    report = doctor.diagnose(model, XB, YB, preprocess=pp.scale_0_1, run_lr_test=False)
    assert report.checks[0] == "base_preprocessing" and "unfrozen_base" in report
    text = str(report)
    assert text.startswith("1 problem, 1 warning") and "fix:" in text and "see: notebooks/" in text
    assert "<table>" in report._repr_html_() and "base_preprocessing" in report._repr_html_()


def test_bad_inputs_name_the_argument_and_the_fix():
    model = scratch()
    with pytest.raises(ValueError, match=r"x has shape \(64, 16, 16\).*Fix"):
        doctor.diagnose(model, X[..., 0], Y)
    with pytest.raises(ValueError, match="x has 64 samples but y has 63"):
        doctor.diagnose(model, X, Y[:-1])
    with pytest.raises(ValueError, match="validation_split"):
        doctor.diagnose(model, X, Y, validation_split=1.5)
    with pytest.raises(ValueError, match="lr_test_steps"):
        doctor.diagnose(model, X, Y, lr_test_steps=0)
    with pytest.raises(TypeError, match="keras.Model"):
        doctor.diagnose("model", X, Y)
    assert doctor.diagnose(model, X, Y[:, None], run_lr_test=False).ok  # Keras' (N, 1) labels


def test_unbuilt_sequential_model_is_built_from_x():
    model = keras.Sequential([keras.layers.Rescaling(1 / 255), keras.layers.Conv2D(4, 3),
                              keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(K, activation="softmax")])
    report = doctor.diagnose(model, X, Y, loss="sparse_categorical_crossentropy")
    assert report.findings == [], str(report)


def test_every_linked_notebook_exists():
    root = Path(__file__).resolve().parents[1]
    for path in doctor.NOTEBOOKS.values():
        assert (root / path).exists(), f"doctor links to a missing notebook: {path}"
