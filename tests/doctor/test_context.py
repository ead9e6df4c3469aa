"""labkit.doctor.context and diagnose's arguments: data sampling (arrays and tf.data datasets),
finding the pretrained base, what layers receive, and clear errors for bad arguments."""

from __future__ import annotations

import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from labkit import doctor, models  # noqa: E402
from labkit.doctor.context import MAX_SAMPLES, Context, find_base, load_data  # noqa: E402

from .doctor_setups import XB, YB, K, X, Y, images, minivgg, scratch  # noqa: E402


# ---- the data ----------------------------------------------------------------------------------
def test_arrays_are_sampled_to_at_most_max_samples_but_all_labels_are_kept():
    x, y = images(MAX_SAMPLES + 88, 16, seed=4)
    data = load_data(x, y)
    assert len(data.x) == MAX_SAMPLES and len(data.y_int) == MAX_SAMPLES + 88
    assert data.n_total == MAX_SAMPLES + 88 and data.source == "arrays"


@pytest.mark.parametrize("make", [
    lambda: tf.data.Dataset.from_tensor_slices((X, Y)).batch(16),
    lambda: tf.data.Dataset.from_tensor_slices((X, Y)),  # unbatched
    lambda: tf.data.Dataset.from_tensor_slices((X, Y)).repeat().batch(32),  # infinite
    lambda: tf.data.Dataset.from_tensor_slices(
        (X, keras.utils.to_categorical(Y, K))).batch(8).prefetch(2),  # one-hot
], ids=["batched", "unbatched", "repeated", "onehot"])
def test_datasets_are_sampled(make):
    data = load_data(make(), None)
    assert 0 < len(data.x) <= MAX_SAMPLES and data.x.shape[1:] == (16, 16, 3)
    assert data.source == "dataset" and len(data.y_int) == len(data.x)


def test_dataset_size_is_known_where_tf_knows_it():
    assert load_data(tf.data.Dataset.from_tensor_slices((X, Y)).batch(16), None).n_total == 64
    assert load_data(tf.data.Dataset.from_tensor_slices((X, Y)).repeat().batch(16),
                     None).n_total is None


def test_diagnose_accepts_a_dataset():
    ds = tf.data.Dataset.from_tensor_slices((X, Y)).shuffle(64, seed=0).batch(16)
    report = doctor.diagnose(scratch(), ds)
    assert report.ok, str(report)


def test_dataset_errors_say_how_to_pass_data():
    ds = tf.data.Dataset.from_tensor_slices((X, Y)).batch(16)
    with pytest.raises(ValueError, match="y=None"):
        doctor.diagnose(scratch(), ds, Y)
    with pytest.raises(ValueError, match=r"\(images, labels\).*Fix"):
        doctor.diagnose(scratch(), tf.data.Dataset.from_tensor_slices(X).batch(16))
    with pytest.raises(ValueError, match="validation_data"):
        doctor.diagnose(scratch(), ds, validation_split=0.2)
    with pytest.raises(TypeError, match="needs labels"):
        doctor.diagnose(scratch(), X)


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
    with pytest.raises(ValueError, match=r"inputs of shape \(16x16x3\).*32x32.*Fix"):
        doctor.diagnose(model, images(8, 32)[0], images(8, 32)[1])
    with pytest.raises(ValueError, match=r"preprocess\(x\) failed.*Fix"):
        doctor.diagnose(model, X, Y, preprocess=lambda batch: batch["image"])
    with pytest.raises(ValueError, match=r"preprocess\(x\) returned shape"):
        doctor.diagnose(model, X, Y, preprocess=lambda batch: batch.mean(axis=(1, 2, 3)))
    assert doctor.diagnose(model, X, Y[:, None], run_lr_test=False).ok  # Keras' (N, 1) labels


def test_unbuilt_sequential_model_is_built_from_x():
    model = keras.Sequential([keras.layers.Rescaling(1 / 255), keras.layers.Conv2D(4, 3),
                              keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(K, activation="softmax")])
    report = doctor.diagnose(model, X, Y, loss="sparse_categorical_crossentropy")
    assert report.ok, str(report)


# ---- the pretrained base -----------------------------------------------------------------------
def test_find_base_nested_flat_given_and_none():
    model, base, _ = minivgg()
    found = find_base(model)
    assert found.container is base and not found.flat and found.preprocessing == "caffe"
    assert found.first.name == "block1_conv1"
    head = keras.layers.Dense(K)(keras.layers.Flatten()(base.output))
    flat = keras.Model(base.input, head)
    found = find_base(flat)
    assert found.container is flat and found.flat
    assert [la.name for la in found.layers][-1] == "block5_pool"  # no head layers
    assert find_base(scratch()) is None
    assert find_base(scratch(), base).given


def test_value_entering_a_nested_base_runs_the_outer_layers():
    keras.utils.set_random_seed(0)
    base, _ = models.backbone("minivgg", input_shape=(64, 64, 3))
    inner = keras.Model(base.input, keras.layers.Dense(K)(keras.layers.Flatten()(base.output)))
    model = keras.Sequential([keras.Input((64, 64, 3)), keras.layers.Rescaling(1 / 255), inner])
    ctx = Context(model=model, data=load_data(XB, YB))
    seen = ctx.base_inputs
    assert seen.shape == XB.shape and float(seen.max()) <= 1.0  # Rescaling was applied


def test_a_check_that_fails_on_a_model_becomes_a_note(monkeypatch):
    from labkit.doctor import checks_model

    def broken(ctx):
        raise RuntimeError("boom")

    broken.__name__ = "check_broken"
    monkeypatch.setattr(doctor, "CHECKS", [*doctor.CHECKS, broken])
    report = doctor.diagnose(scratch(), X, Y, run_lr_test=False)
    assert any("check_broken could not run" in n and "boom" in n for n in report.notes)
    assert checks_model.CHECKS  # the real checks still ran


def test_models_outside_the_course_get_notes_not_crashes():
    inputs = keras.Input((16, 16, 3))
    h = keras.layers.GlobalAveragePooling2D()(keras.layers.Rescaling(1 / 255)(inputs))
    two_out = keras.Model(inputs, [keras.layers.Dense(K, activation="softmax", name="a")(h),
                                   keras.layers.Dense(1, name="b")(h)])
    two_out.compile("adam", {"a": "sparse_categorical_crossentropy", "b": "mse"})
    i1, i2 = keras.Input((16, 16, 3)), keras.Input((4,))
    h = keras.layers.Concatenate()([keras.layers.GlobalAveragePooling2D()(i1), i2])
    two_in = keras.Model([i1, i2], keras.layers.Dense(K, activation="softmax")(h))
    two_in.compile("adam", "sparse_categorical_crossentropy")
    for model in (two_out, two_in):
        report = doctor.diagnose(model, X, Y)
        assert report.notes, str(report)
