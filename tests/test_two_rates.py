"""labkit.two_rates: one run, two learning rates (a custom train_step with two optimizers)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from labkit import models, transfer, two_rates  # noqa: E402
from labkit.train import FitSettings  # noqa: E402


def test_the_head_learns_at_its_rate_and_the_base_at_its_own(tiny_data):
    base, caffe = models.backbone("minivgg", input_shape=(32, 32, 3))
    images = transfer.prepare(tiny_data, caffe, size=32)
    before = [np.array(v) for v in base.weights]
    fit = FitSettings(epochs=1, lr=1e-2, seed=0, progress=False, batch_size=8)
    model, run = two_rates.finetune_two_rates(base, images, tiny_data, name="two rates", fit=fit,
                                              base_lr=1e-12)
    assert run.epochs == 1 and np.isfinite(run.last("loss")) and "val_accuracy" in run.history
    base_moved = max(float(np.abs(np.array(v) - b).max()) for v, b in zip(base.weights, before,
                                                                          strict=True))
    assert base_moved < 1e-6  # base at 1e-12: (almost) untouched
    steps = -(-len(tiny_data.x_train) // fit.batch_size)
    assert int(model.head_optimizer.iterations) == int(model.optimizer.iterations) == steps
    fresh, _ = models.backbone("minivgg", input_shape=(32, 32, 3))
    again, _ = two_rates.finetune_two_rates(fresh, images, tiny_data, name="again",
                                            fit=dataclasses.replace(fit, lr=1e-12), base_lr=1e-2)
    assert max(float(np.abs(np.array(v) - b).max()) for v, b in zip(fresh.weights, before,
                                                                    strict=True)) > 1e-4


def test_two_rates_refuses_a_bad_base_rate(tiny_data):
    base, caffe = models.backbone("minivgg", input_shape=(32, 32, 3))
    images = transfer.prepare(tiny_data, caffe, size=32)
    with pytest.raises(ValueError, match="base_lr"):
        two_rates.finetune_two_rates(base, images, tiny_data, name="x",
                                     fit=FitSettings(epochs=1, progress=False), base_lr=-1.0)
