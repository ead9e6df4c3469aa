"""labkit.doctor.checks_training: learning-rate probe, class balance, validation split."""

from __future__ import annotations

import re

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from labkit import doctor, models  # noqa: E402

from .doctor_setups import K, X, Y, assert_unchanged, flagged, scratch, snapshot  # noqa: E402


def cnn(optimizer, widths=(8, 16), first=None):
    keras.utils.set_random_seed(0)
    model = models.scratch_cnn((16, 16, 3), K, widths=widths)
    if first is not None:  # a layer that keras.models.clone_model cannot copy portably
        model = keras.Sequential([keras.Input((16, 16, 3)), first, model])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    return model


# ---- learning rate -------------------------------------------------------------------------------
def test_learning_rate_too_high_loss_blows_up():
    report = doctor.diagnose(scratch(lr=1.0), X, Y)
    finding = flagged(report, "lr_too_high")
    assert "1.0e+00" in finding.evidence and "15 training steps" in finding.evidence
    assert finding.notebook == "notebooks/03_learning_rate.ipynb"


@pytest.mark.parametrize("optimizer, why", [
    (lambda: keras.optimizers.SGD(0.5, momentum=0.9), "jumps to"),
    (lambda: keras.optimizers.Adam(0.05), "stuck near chance level ln(4)"),
    (lambda: keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(1.0, 100, 0.9),
                                  momentum=0.9), "learning rate 1.0e+00"),
], ids=["sgd-0.5-momentum", "adam-0.05", "schedule-from-1.0"])
def test_learning_rate_too_high_loss_stuck_at_chance(optimizer, why):
    model = cnn(optimizer())
    before = snapshot(model)
    finding = flagged(doctor.diagnose(model, X, Y), "lr_too_high")
    assert why in finding.evidence, finding.evidence
    assert_unchanged(before, model)


def test_learning_rate_too_low():
    report = doctor.diagnose(scratch(lr=1e-7), X, Y)
    finding = flagged(report, "lr_too_low", "warning")
    assert "1.0e-07" in finding.evidence and re.search(r"\d+x lower", finding.evidence)


@pytest.mark.parametrize("first", [
    lambda: keras.layers.Lambda(lambda t: t * 1.0, name="lambda_identity"),
    lambda: keras.layers.RandomShear(0.1, seed=0),
], ids=["lambda", "random-shear"])
def test_probe_runs_on_models_clone_model_cannot_copy(first):
    model = cnn(keras.optimizers.Adam(1.0), first=first())
    before = snapshot(model)
    report = doctor.diagnose(model, X, Y)
    assert "lr_too_high" in report, str(report)
    assert not any("could not" in n for n in report.notes), report.notes
    assert_unchanged(before, model)


def test_probe_runs_on_a_subclassed_model():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.conv = keras.layers.Conv2D(8, 3, activation="relu")
            self.pool = keras.layers.GlobalAveragePooling2D()
            self.out = keras.layers.Dense(K, activation="softmax")

        def call(self, x):
            return self.out(self.pool(self.conv(x / 255.0)))

    model = Net()
    model.compile(keras.optimizers.Adam(1.0), "sparse_categorical_crossentropy")
    model(X[:1].astype("float32"))  # built, so its weights exist to compare
    before = snapshot(model)
    report = doctor.diagnose(model, X, Y)
    assert "lr_too_high" in report, str(report)
    assert "raw_inputs" not in report  # it scales inside call(), where the doctor cannot see
    assert_unchanged(before, model)


def test_inconclusive_note_does_not_suggest_the_steps_already_used():
    model = cnn(keras.optimizers.SGD(1e-2))  # SGD barely moves in a short test here
    for steps in (30, 100):
        report = doctor.diagnose(model, X, Y, lr_test_steps=steps)
        notes = " ".join(report.notes)
        assert "inconclusive" in notes and f"{steps}-step range test" in notes
        assert f"try lr_test_steps={steps}" not in notes
        assert ("lr_test_steps=" in notes) == (steps < 100)


def test_lr_test_skipped_with_a_note_when_not_compiled():
    report = doctor.diagnose(scratch(compiled=False), X, Y, lr=1.0,
                             loss="sparse_categorical_crossentropy")
    assert "lr_too_high" not in report
    assert any("compile" in note for note in report.notes)


def test_lr_probe_leaves_the_model_unchanged():
    model = scratch(lr=1e-3)
    before = snapshot(model)
    doctor.diagnose(model, X, Y)
    assert_unchanged(before, model)
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(1e-3)
    assert int(model.optimizer.iterations.numpy()) == 0


# ---- class balance -------------------------------------------------------------------------------
def test_class_imbalance():
    y = np.array([0] * 40 + [1] * 12 + [2] * 8 + [3] * 4)
    order = np.random.default_rng(0).permutation(len(y))
    report = doctor.diagnose(scratch(), X, y[order], run_lr_test=False)
    finding = flagged(report, "class_imbalance", "warning")
    assert "0: 40" in finding.evidence and "3: 4" in finding.evidence
    assert "10.0x" in finding.evidence
    assert "class_weight" in finding.fix


def test_class_imbalance_in_a_dataset():
    import tensorflow as tf

    y = np.array([0] * 40 + [1] * 12 + [2] * 8 + [3] * 4)
    ds = tf.data.Dataset.from_tensor_slices((X, y)).shuffle(64, seed=0).batch(16)
    flagged(doctor.diagnose(scratch(), ds, run_lr_test=False), "class_imbalance", "warning")


# ---- validation_split on class-sorted data --------------------------------------------------
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
