"""labkit.splits (checks, stratified splits, imbalance, class weights) and labkit.pipelines."""

from __future__ import annotations

import numpy as np
import pytest

from labkit import pipelines, splits


def _toy(counts=(20, 20, 20, 20), size=4, seed=0):
    """Tiny images whose first pixel encodes the sample index, labels sorted by class."""
    y = np.repeat(np.arange(len(counts)), counts).astype(np.int64)
    x = np.random.default_rng(seed).integers(0, 256, (len(y), size, size, 3), dtype=np.uint8)
    x[:, 0, 0, 0] = np.arange(len(y)) % 256
    return x, y


# ---- validate_images -------------------------------------------------------------------------
def test_validate_accepts_good_images():
    x, y = _toy()
    splits.validate_images(x, y)
    splits.validate_images(x.astype(np.float32) / 255)


@pytest.mark.parametrize(
    ("x", "fragment"),
    [
        (np.zeros((5, 8, 8), np.uint8), "repeat"),
        (np.zeros((5, 3, 8, 8), np.uint8), "transpose(0, 2, 3, 1)"),
        (np.zeros((5, 8, 8, 1), np.uint8), "grayscale"),
        (np.zeros((5, 8, 8, 4), np.uint8), "RGBA"),
        (np.zeros((5, 192), np.uint8), "reshape"),
        (np.zeros((0, 8, 8, 3), np.uint8), "no images"),
    ],
)
def test_validate_bad_shapes_name_argument_and_fix(x, fragment):
    with pytest.raises(ValueError, match="images_in") as info:
        splits.validate_images(x, name="images_in")
    assert fragment in str(info.value)


def test_validate_nan_and_labels():
    x, y = _toy()
    xf = x.astype(np.float32)
    xf[3, 1, 1, 1] = np.nan
    with pytest.raises(ValueError, match=r"x has NaN or inf pixels in 1 images \(first: index 3"):
        splits.validate_images(xf)
    with pytest.raises(ValueError, match="x has 80 samples but y has 79 labels"):
        splits.validate_images(x, y[:-1])
    bad = y.copy()
    bad[5] = -1
    with pytest.raises(ValueError, match="y has 1 negative labels"):
        splits.validate_images(x, bad)
    with pytest.raises(ValueError, match=r"y.ravel\(\)"):
        splits.validate_images(x, y[:, None])
    with pytest.raises(ValueError, match=r"argmax"):
        splits.validate_images(x, np.eye(4)[y])


# ---- splits ----------------------------------------------------------------------------------
def test_stratified_split_keeps_class_shares_and_is_deterministic():
    x, y = _toy(counts=(50, 30, 20))
    x_tr, y_tr, x_val, y_val = splits.stratified_split(x, y, 0.2, seed=1)
    assert splits.class_counts(y_val).tolist() == [10, 6, 4]
    assert splits.class_counts(y_tr).tolist() == [40, 24, 16]
    ids = np.concatenate([x_tr[:, 0, 0, 0], x_val[:, 0, 0, 0]])
    assert sorted(ids.tolist()) == list(range(100))  # a partition: nothing lost or repeated
    np.testing.assert_array_equal(y_tr, y[x_tr[:, 0, 0, 0]])  # labels travel with images
    assert not np.all(np.diff(y_tr) >= 0)  # shuffled, not left sorted by class
    again = splits.stratified_split(x, y, 0.2, seed=1)
    for a, b in zip((x_tr, y_tr, x_val, y_val), again, strict=True):
        np.testing.assert_array_equal(a, b)
    other = splits.stratified_split(x, y, 0.2, seed=2)
    assert not np.array_equal(other[3], y_val) or not np.array_equal(other[2], x_val)


def test_stratified_split_with_fractions():
    x, y = _toy(counts=(10, 10, 10))
    parts = splits.stratified_split(x, y, (0.7, 0.2, 0.1), seed=0)
    assert [splits.class_counts(p[1], 3).tolist() for p in parts] == [[7] * 3, [2] * 3, [1] * 3]
    (x_a, y_a), (x_b, y_b) = splits.stratified_split(x, y, (1.0, 0.0), seed=0)
    assert len(y_a) == 30 and len(y_b) == 0 and x_b.shape == (0, 4, 4, 3)


@pytest.mark.parametrize("bad", [1.0, -0.1, (0.5, 0.4), (1.2, -0.2)])
def test_stratified_split_bad_fraction(bad):
    x, y = _toy()
    with pytest.raises(ValueError, match="val_fraction"):
        splits.stratified_split(x, y, bad, seed=0)


def test_sort_by_class_puts_last_classes_last():
    x, y = _toy()
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    xs, ys = splits.sort_by_class(x[order], y[order])
    assert np.all(np.diff(ys) >= 0)
    np.testing.assert_array_equal(ys, y[xs[:, 0, 0, 0]])
    assert set(ys[-len(ys) // 4:].tolist()) == {3}  # a 25% tail split sees one class


def test_class_counts():
    assert splits.class_counts([0, 2, 2], n_classes=4).tolist() == [1, 0, 2, 0]
    with pytest.raises(ValueError, match="n_classes=2"):
        splits.class_counts([0, 2], n_classes=2)


# ---- imbalance -------------------------------------------------------------------------------
def test_step_imbalance_counts_exact():
    x, y = _toy(counts=(100,) * 4)
    xi, yi = splits.make_imbalanced(x, y, "step", ratio=10, seed=0)
    assert splits.class_counts(yi).tolist() == [100, 100, 10, 10]  # default: upper half
    _, yi = splits.make_imbalanced(x, y, "step", ratio=4, minority_classes=[0], seed=0)
    assert splits.class_counts(yi).tolist() == [25, 100, 100, 100]


def test_longtail_imbalance_counts_exact():
    x, y = _toy(counts=(100,) * 3)
    _, yi = splits.make_imbalanced(x, y, "longtail", ratio=100, seed=0)
    assert splits.class_counts(yi).tolist() == [100, 10, 1]  # 100 * 100 ** (-i / 2)
    _, yi2 = splits.make_imbalanced(x, y, "longtail", ratio=100, seed=0)
    np.testing.assert_array_equal(yi, yi2)


def test_imbalance_keeps_pairs_and_order():
    x, y = _toy(counts=(40, 40))
    xi, yi = splits.make_imbalanced(x, y, "step", ratio=4, seed=3)
    ids = xi[:, 0, 0, 0]
    assert np.all(np.diff(ids.astype(int)) > 0)  # original order kept
    np.testing.assert_array_equal(yi, y[ids])


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"kind": "zipf"}, "kind"),
        ({"ratio": 0.5}, "ratio"),
        ({"minority_classes": [7]}, "minority_classes"),
        ({"minority_classes": []}, "minority_classes"),
        ({"kind": "longtail", "minority_classes": [1]}, "minority_classes"),
        ({"seed": "x"}, "seed"),
    ],
)
def test_imbalance_bad_args_name_the_argument(kwargs, argument):
    x, y = _toy()
    with pytest.raises(ValueError, match=argument):
        splits.make_imbalanced(x, y, **kwargs)


def test_oversample_balances():
    x, y = _toy(counts=(30, 7, 2))
    xo, yo = splits.oversample(x, y, seed=0)
    assert splits.class_counts(yo).tolist() == [30, 30, 30]
    np.testing.assert_array_equal(yo, y[xo[:, 0, 0, 0]])
    assert set(xo[yo == 1, 0, 0, 0].tolist()) == set(range(30, 37))  # every minority sample used
    np.testing.assert_array_equal(splits.oversample(x, y, seed=0)[1], yo)


def test_class_weights_balanced():
    y = np.array([0] * 6 + [1] * 3 + [2] * 1)
    w = splits.class_weights(y)
    assert w == pytest.approx({0: 10 / 18, 1: 10 / 9, 2: 10 / 3})
    assert sum(w[c] * n for c, n in enumerate([6, 3, 1])) == pytest.approx(len(y))
    assert splits.class_weights([0, 0, 1, 1], n_classes=3) == {0: 1.0, 1: 1.0, 2: 0.0}


# ---- tf.data ---------------------------------------------------------------------------------
def _labels_of(ds):
    return np.concatenate([yb.numpy() for _, yb in ds])


def test_pipeline_shapes_and_determinism():
    x, y = _toy(counts=(5, 5, 5, 5))
    ds = pipelines.make_pipeline(x, y, batch_size=8, seed=7)
    xb, yb = next(iter(ds))
    assert xb.shape == (8, 4, 4, 3) and xb.dtype.name == "uint8" and yb.dtype.name == "int64"
    assert [int(b[1].shape[0]) for b in ds] == [8, 8, 4]
    fresh = pipelines.make_pipeline(x, y, batch_size=8, seed=7)
    again = pipelines.make_pipeline(x, y, batch_size=8, seed=7)
    epochs = [_labels_of(fresh) for _ in range(3)]
    assert sorted(epochs[0].tolist()) == sorted(y.tolist())
    for epoch in epochs:  # same seed, same sequence of epoch orders
        np.testing.assert_array_equal(_labels_of(again), epoch)
    assert not all(np.array_equal(epochs[0], e) for e in epochs[1:])  # reshuffled per epoch
    plain = pipelines.make_pipeline(x, y, batch_size=8, shuffle=False)
    np.testing.assert_array_equal(_labels_of(plain), y)


def test_pipeline_augment_and_preprocess():
    import keras

    x, y = _toy(counts=(3, 3))
    seen = []

    class Probe(keras.layers.Layer):
        def call(self, inputs, training=None):
            seen.append(training)
            return inputs + 1.0

    ds = pipelines.make_pipeline(x, y, batch_size=6, shuffle=False, augment=Probe(),
                            preprocess=lambda t: t / 255.0)
    xb, _ = next(iter(ds))
    assert xb.dtype.name == "float32" and seen and all(t is True for t in seen)
    np.testing.assert_allclose(xb.numpy(), (x.astype(np.float32) + 1) / 255, rtol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [({"batch_size": 0}, "batch_size"), ({"augment": "flip"}, "augment"),
     ({"preprocess": 3}, "preprocess")],
)
def test_pipeline_bad_args(kwargs, argument):
    x, y = _toy(counts=(2, 2))
    with pytest.raises(ValueError, match=argument):
        pipelines.make_pipeline(x, y, **kwargs)
    with pytest.raises(ValueError, match="x has 4 samples but y has 3"):
        pipelines.make_pipeline(x, y[:3])


# ---- hardening (issue 17) --------------------------------------------------------------------
@pytest.mark.parametrize("bad", [float("nan"), (float("nan"), 0.5), (0.5, float("nan")),
                                 (float("inf"), 0.0), "0.2", True, ("a", "b")])
def test_stratified_split_refuses_nan_and_non_numbers(bad):
    x, y = _toy()
    with pytest.raises(ValueError, match="val_fraction"):
        splits.stratified_split(x, y, bad, seed=0)


def test_single_sample_class_stays_in_train_and_is_reported():
    x, y = _toy(counts=(10, 10, 1))
    with pytest.warns(UserWarning, match=r"class\(es\) \[2\].*kept in the training part"):
        x_tr, y_tr, x_val, y_val = splits.stratified_split(x, y, 0.6, seed=0)
    assert (y_tr == 2).sum() == 1 and (y_val == 2).sum() == 0
    assert len(y_tr) + len(y_val) == 21
    assert set(x_tr[:, 0, 0, 0]) | set(x_val[:, 0, 0, 0]) == set(range(21))  # nothing lost


def test_fraction_sequences_are_plain_parts_no_moving():
    import warnings

    x, y = _toy(counts=(10, 10, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parts = splits.stratified_split(x, y, (0.05, 0.95), seed=0)  # a subset: exact quotas
    assert len(parts[0][1]) + len(parts[1][1]) == 21 and (parts[0][1] == 2).sum() == 0


@pytest.mark.parametrize("labels", [[0.0, float("inf")], [0.9, 1.0], [0.0, 1e12]])
def test_float_labels_are_refused_not_truncated(labels):
    with pytest.raises(ValueError, match="label"):
        splits.class_counts(np.array(labels))


def test_mistyped_huge_label_is_refused_before_allocating():
    import tracemalloc

    y = np.array([0, 1, 2, 1_000_000_000])
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"label 1000000000 \(index 3\).*7\.45 GiB"):
            splits.class_weights(y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20  # 7.45 GiB before the fix
    with pytest.raises(ValueError, match="n_classes must be"):
        splits.class_counts([0, 1], n_classes=10**9)


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"ratio": float("nan")}, "ratio"),
    ({"ratio": float("inf")}, "ratio"),
    ({"minority_classes": [1.7]}, "1.7 is not an int"),
    ({"minority_classes": [True]}, "minority_classes"),
    ({"seed": -1}, "seed must be a non-negative int"),
    ({"seed": 1.5}, "seed"),
    ({"seed": True}, "seed"),
])
def test_imbalance_refuses_nan_ratio_and_float_classes(kwargs, fragment):
    x, y = _toy()
    with pytest.raises(ValueError, match=fragment):
        splits.make_imbalanced(x, y, **kwargs)


def test_numpy_int_seeds_and_classes_are_accepted():
    x, y = _toy()
    _, yi = splits.make_imbalanced(x, y, minority_classes=np.array([2, 3]), seed=np.int64(3))
    assert splits.class_counts(yi).tolist() == [20, 20, 2, 2]
    assert len(splits.stratified_split(x, y, 0.25, seed=np.int64(1))[3]) == 20


def test_check_allocation_names_the_size(monkeypatch):
    monkeypatch.setattr(splits, "available_memory", lambda: 2**30)
    with pytest.raises(splits.TooLargeError, match=r"the thing needs 4\.00 GiB .* 1\.00 GiB"):
        splits.check_allocation(4 * 2**30, "the thing")
    splits.check_allocation(2**20, "a small thing")


def test_balanced_weights_is_the_array_sklearn_returns_and_class_weights_its_dict():
    y = np.array([0] * 6 + [1] * 3 + [2] * 1)
    array = splits.balanced_weights(y)
    assert isinstance(array, np.ndarray) and array.shape == (3,)
    # sklearn's compute_class_weight("balanced"): n_samples / (n_classes * bincount)
    np.testing.assert_allclose(array, len(y) / (3 * np.bincount(y)))
    assert splits.class_weights(y) == dict(enumerate(array.tolist()))
    np.testing.assert_array_equal(splits.balanced_weights([0, 0, 1, 1], n_classes=3), [1, 1, 0])
    with pytest.raises(ValueError, match="empty"):
        splits.balanced_weights([])


def test_keras_refuses_the_array_and_takes_the_dict():
    keras = pytest.importorskip("keras")
    from labkit import report

    y = np.array([0, 1, 2, 2] * 4)
    x = np.random.default_rng(0).random((len(y), 3)).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")

    def fit(weights):
        return lambda: model.fit(x, y, class_weight=weights, epochs=1, verbose=0)

    assert report.raised(fit(splits.balanced_weights(y))) is not None
    assert report.raised(fit(splits.class_weights(y))) is None


@pytest.mark.parametrize("seed", [0, 42, 44])
@pytest.mark.parametrize("sizes", [(250, 250, 250), (251, 37, 9), (13, 14, 15)])
def test_lesson_06_plain_numpy_split_is_the_helpers_split(seed, sizes):
    # The recipe of lesson 06's plain-keras cell: per class, shuffle and hold out
    # round(n * fraction); then shuffle each part. It must give the helper's split exactly.
    y = np.repeat(np.arange(len(sizes)), sizes)
    x = np.arange(len(y))
    fraction = 0.2
    rng = np.random.default_rng(seed)
    train_idx, val_idx = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_val = round(len(idx) * fraction)
        train_idx.append(idx[: len(idx) - n_val])
        val_idx.append(idx[len(idx) - n_val:])
    train_idx = rng.permutation(np.concatenate(train_idx))
    val_idx = rng.permutation(np.concatenate(val_idx))
    x_tr, y_tr, x_va, y_va = splits.stratified_split(x, y, fraction, seed=seed)
    np.testing.assert_array_equal(x_tr, x[train_idx])
    np.testing.assert_array_equal(y_tr, y[train_idx])
    np.testing.assert_array_equal(x_va, x[val_idx])
    np.testing.assert_array_equal(y_va, y[val_idx])


def test_a_repeated_pipeline_passes_in_the_finite_pipelines_orders():
    x, y = _toy(counts=(5, 4, 3))
    finite = pipelines.make_pipeline(x, y, batch_size=5, seed=3)
    endless = iter(pipelines.make_pipeline(x, y, batch_size=5, seed=3, repeat=True))
    steps = pipelines.steps_per_pass(len(y), 5)
    assert steps == 3 and pipelines.steps_per_pass(0, 5) == 1
    for _ in range(3):
        passed = np.concatenate([next(endless)[1].numpy() for _ in range(steps)])
        np.testing.assert_array_equal(passed, _labels_of(finite))
