"""labkit.scratch: the lessons' from-scratch CNN, built and trained on tiny data."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from labkit import scratch  # noqa: E402
from labkit.train import FitSettings  # noqa: E402


def test_build_scratch_is_deterministic(tiny_data):
    seeded = scratch.COURSE_FIT.replace(seed=3)
    first = scratch.build_scratch(tiny_data, fit=seeded).get_weights()
    second = scratch.build_scratch(tiny_data, fit=seeded).get_weights()
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    other = scratch.build_scratch(tiny_data, fit=seeded.replace(seed=4)).get_weights()
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))
    raw = scratch.build_scratch(tiny_data, rescale=False, network=scratch.FORUM,
                                fit=FitSettings(lr=0.01, optimizer="sgd"))
    assert not any(isinstance(layer, keras.layers.Rescaling) for layer in raw.layers)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in raw.layers)
    assert isinstance(raw.optimizer, keras.optimizers.SGD)


def test_the_course_network_has_batchnorm_and_a_cosine_schedule(tiny_data):
    model = scratch.build_scratch(tiny_data, n_examples=640)
    bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(bns) == 2 * len(scratch.COURSE.widths)
    assert all(bn.momentum == pytest.approx(0.9) for bn in bns)
    schedule = model.optimizer.learning_rate  # evaluated at step 0
    assert float(schedule) == pytest.approx(scratch.COURSE_FIT.lr)
    decay = model.optimizer._learning_rate
    assert isinstance(decay, keras.optimizers.schedules.CosineDecay)
    assert decay.decay_steps == scratch.COURSE_FIT.epochs * 10  # 640 images, batch 64


def test_train_scratch_one_epoch(tiny_data, capsys):
    fit = FitSettings(epochs=1, batch_size=8, progress=False)
    model, run = scratch.train_scratch(tiny_data, name="s", fit=fit)
    assert capsys.readouterr().out == ""
    assert run.name == "s" and len(run.history["val_accuracy"]) == 1
    assert model.input_shape == (None, 16, 16, 3)
    assert isinstance(model.optimizer, keras.optimizers.Adam)


def test_train_scratch_uses_the_fit_settings(tiny_data, capsys):
    fit = FitSettings(epochs=2, lr=0.02, optimizer="sgd", batch_size=8, seed=5)
    model, run = scratch.train_scratch(tiny_data, name="sgd raw", fit=fit, rescale=False,
                                       validation_split=0.25)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["  [sgd raw] epoch 1/2",
                                                      "  [sgd raw] epoch 2/2"]
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.02)
    assert not any(isinstance(layer, keras.layers.Rescaling) for layer in model.layers)
    _, again = scratch.train_scratch(tiny_data, name="sgd raw", fit=fit.replace(progress=False),
                                     rescale=False, validation_split=0.25)
    assert again.history == run.history  # the same seed, the same run
