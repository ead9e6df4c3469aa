"""labkit.scratch: the lessons' from-scratch CNN, built and trained on tiny data."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from labkit import scratch  # noqa: E402
from labkit.train import FitSettings  # noqa: E402


def test_build_scratch_is_deterministic(tiny_data):
    first = scratch.build_scratch(tiny_data, seed=3).get_weights()
    second = scratch.build_scratch(tiny_data, seed=3).get_weights()
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    other = scratch.build_scratch(tiny_data, seed=4).get_weights()
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))
    raw = scratch.build_scratch(tiny_data, rescale=False, optimizer="sgd")
    assert not any(isinstance(layer, keras.layers.Rescaling) for layer in raw.layers)
    assert isinstance(raw.optimizer, keras.optimizers.SGD)


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
