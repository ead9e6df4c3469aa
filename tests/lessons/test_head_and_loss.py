"""labkit.lessons.head_and_loss (lesson 08): head + loss variants, and its panel."""

from __future__ import annotations

import math

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from labkit import panels, transfer  # noqa: E402
from labkit.config import QUICK  # noqa: E402
from labkit.lessondata import LessonData  # noqa: E402
from labkit.lessons import head_and_loss as hl  # noqa: E402
from labkit.train import FitSettings  # noqa: E402

N_CLASSES, N_FEATURES = 10, 12
ONE = FitSettings(epochs=1, progress=False)
TWO_FAST = FitSettings(epochs=2, lr=1e-2, progress=False)


def tiny(n_train: int = 60, n_val: int = 20, n_test: int = 20):
    """Features with a little class signal (class means apart), labels cycling 0..9."""
    rng = np.random.default_rng(0)
    means = rng.normal(size=(N_CLASSES, N_FEATURES)).astype("float32")

    def split(n):
        y = np.arange(n) % N_CLASSES
        return (means[y] + 0.5 * rng.normal(size=(n, N_FEATURES))).astype("float32"), y

    (f_tr, y_tr), (f_va, y_va), (f_te, y_te) = split(n_train), split(n_val), split(n_test)
    blank = np.zeros((1, 4, 4, 3), np.uint8)  # images are not used: heads train on features
    data = LessonData(blank, y_tr, blank, y_va, blank, y_te,
                      tuple(f"c{i}" for i in range(N_CLASSES)), "tiny features")
    return transfer.Features(f_tr, f_va, f_te), data


@pytest.fixture(scope="module")
def tiny_set():
    return tiny()


def test_variants_are_well_formed():
    assert set(hl.FIXES) == {"softmax + sparse CE", "linear + sparse CE(from_logits=True)"}
    for name, v in hl.HEAD_VARIANTS.items():
        assert v.loss in (hl.SPARSE_CE, hl.CATEGORICAL_CE, hl.BINARY_CE), name
        assert v.labels in hl.LABEL_FORMATS and v.what, name
        assert v.code(N_CLASSES).startswith("Dense("), name
    code = hl.HEAD_VARIANTS["linear + sparse CE(from_logits=True)"].code(10)
    assert code.startswith("Dense(10);") and "from_logits=True" in code
    assert "-> any layer" in hl.HEAD_VARIANTS[
        "softmax + sparse CE(from_logits=True), no rescue"].code()


def test_labels_as():
    y = np.array([0, 2, 1])
    assert hl.labels_as(y, "int", 3).tolist() == [0, 2, 1]
    onehot = hl.labels_as(y, "one-hot", 3)
    assert onehot.dtype == np.float32 and onehot.tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0]]
    with pytest.raises(ValueError, match="unknown label format"):
        hl.labels_as(y, "sparse", 3)


def test_binary_accuracy_counts_every_output():
    y = np.arange(20) % N_CLASSES
    onehot = hl.labels_as(y, "one-hot", N_CLASSES)
    always_no = np.zeros_like(onehot)
    assert hl.binary_accuracy(onehot, always_no) == pytest.approx(0.9)
    assert hl.argmax_accuracy(y, always_no) == pytest.approx(0.1)  # arg-max picks class 0
    assert hl.binary_accuracy(onehot, onehot) == hl.argmax_accuracy(y, onehot) == 1.0


def test_output_summary():
    softmax = np.full((4, 5), 0.2)
    summary = hl.output_summary(softmax)
    assert summary["sum min"] == pytest.approx(1) == summary["sum max"]
    assert summary["outside (0, 1)"] == 0
    logits = np.array([[-3.0, 0.5, 2.0, 0.0]])
    assert hl.output_summary(logits)["outside (0, 1)"] == pytest.approx(0.75)


def test_error_line_keeps_the_informative_line():
    tf_style = ValueError("Graph execution error:\n\nDetected at node x defined at:\n"
                          "  File \"a.py\", line 1\n\nindices[3] = 9 is not in [0, 9)\n"
                          "\t [[{{node GatherV2}}]] [Op:__inference]")
    assert hl.error_line(tf_style) == "ValueError: indices[3] = 9 is not in [0, 9)"
    assert hl.error_line(TypeError("bad\nmore")) == "TypeError: bad"
    assert hl.error_line(RuntimeError("")) == "RuntimeError: "


@pytest.mark.filterwarnings("ignore:.*received `from_logits=True`")
def test_build_head_and_the_hidden_logits():
    """Keras 3 (TF) reads the logits under a softmax; a layer after it hides them."""
    y = np.arange(8) % N_CLASSES
    x = np.random.default_rng(1).normal(size=(8, N_FEATURES)).astype("float32")
    losses = {}
    for name in ("softmax + sparse CE(from_logits=True)",
                 "softmax + sparse CE(from_logits=True), no rescue"):
        keras.utils.set_random_seed(0)
        head = hl.build_head(N_FEATURES, N_CLASSES, hl.HEAD_VARIANTS[name])
        losses[name] = head.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    assert "hide_logits" in [layer.name for layer in head.layers]
    rescued, hidden = losses.values()
    floor = math.log(1 + (N_CLASSES - 1) / math.e)  # a second softmax's lowest possible loss
    assert hidden >= floor - 1e-4
    assert abs(hidden - rescued) > 1e-3


def test_train_variant_reports_and_true_scores(tiny_set):
    feats, data = tiny_set
    fix = hl.train_variant(feats, data, "softmax + sparse CE", fit=TWO_FAST)
    assert not fix.failed and fix.metric == "accuracy"
    assert fix.reported == pytest.approx(fix.true_accuracy)  # sparse accuracy is arg-max
    assert {"true_accuracy", "val_true_accuracy", "accuracy"} <= set(fix.run.history)
    assert len(fix.run.history["val_true_accuracy"]) == 2
    assert "Keras accuracy" in fix.line() and "true (arg-max) accuracy" in fix.line()

    bce = hl.train_variant(feats, data, "sigmoid + binary CE", fit=TWO_FAST)
    assert bce.metric == "binary_accuracy" and 0 <= bce.reported <= 1
    assert 0 <= bce.true_accuracy <= 1 and bce.scores.confusion.sum() == len(data.y_test)

    single = hl.train_variant(feats, data, "Dense(1, sigmoid) + binary CE", fit=ONE)
    assert single.true_accuracy == pytest.approx(np.mean(data.y_test == 0))  # always class 0


def test_train_variant_catches_keras_errors(tiny_set):
    feats, data = tiny_set
    onehot = hl.train_variant(feats, data, "one-hot labels + sparse CE", fit=ONE)
    assert onehot.failed and onehot.error.startswith("ValueError")
    assert onehot.reported is None and onehot.true_accuracy is None
    assert "raised ValueError" in onehot.line()
    ints = hl.train_variant(feats, data, "int labels + categorical CE", fit=ONE)
    assert ints.failed and ints.error.startswith("ValueError")
    nine = hl.train_variant(feats, data, "Dense(9) for 10 classes", fit=ONE)
    # CPU: TensorFlow raises; GPU: it returns NaN losses instead (documented)
    assert (nine.failed and "9" in nine.error) or not np.isfinite(nine.run.last("loss"))
    with pytest.raises(ValueError):
        hl.train_variant(feats, data, "one-hot labels + sparse CE", fit=ONE, raise_errors=True)
    with pytest.raises(ValueError, match="unknown head variant"):
        hl.train_variant(feats, data, "softmax + hinge", fit=ONE)


def test_train_variants_and_plot(tiny_set, capsys):
    import matplotlib

    matplotlib.use("Agg")
    feats, data = tiny_set
    results = hl.train_variants(feats, data, ["softmax + sparse CE",
                                                 "int labels + categorical CE"], fit=ONE)
    assert list(results) == ["softmax + sparse CE", "int labels + categorical CE"]
    assert len(capsys.readouterr().out.strip().splitlines()) == 2
    ax = hl.plot_reported_vs_true(results, title="t")
    assert len(ax.patches) == 4 and ax.get_title() == "t"


def test_head_and_loss_panel_runs_and_reports_errors(tiny_set, quick_lab, run_panel):
    feats, data = tiny_set
    panel = panels.head_and_loss_panel(quick_lab, data, feats, variant="softmax + sparse CE")
    assert list(panel.controls) == ["variant", "lr", "epochs"]
    assert list(panel.controls["variant"].options) == list(hl.HEAD_VARIANTS)
    assert panel.settings()["epochs"] == QUICK.head_epochs
    run = run_panel(panel, epochs=1)
    assert run.best("val_true_accuracy") is not None
    run_panel(panel, expect_failure=True, variant="int labels + categorical CE")
    assert "failed: RuntimeError: ValueError" in panel.status.value
    assert len(panel.runs) == 1
