"""labkit.warm: a kept, traced model trains to the same numbers as a freshly built one."""

from __future__ import annotations

import numpy as np
import pytest

from labkit import models, train, warm
from labkit.config import seed_everything


def _data():
    rng = np.random.default_rng(0)
    return (rng.normal(size=(96, 12)).astype("float32"), rng.integers(0, 3, 96),
            rng.normal(size=(32, 12)).astype("float32"), rng.integers(0, 3, 32))


def _head(lr: float = 1e-2, optimizer: str = "adam", hidden: int = 0):
    seed_everything(7)
    return models.compile_classifier(models.classifier_head((12,), 3, hidden=hidden), lr=lr,
                                     optimizer=optimizer)


def _train(model) -> dict[str, list[float]]:
    x, y, xv, yv = _data()
    seed_everything(7)
    return train.fit(model, x, y, epochs=3, batch_size=16, validation_data=(xv, yv),
                     progress=False).history


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_a_warm_model_trains_like_a_fresh_one(optimizer):
    kept = warm.WarmModels()
    first = kept.adopt(_head(optimizer=optimizer))
    _train(first)  # trained: weights and optimizer state moved on
    fresh_history = _train(_head(lr=3e-2, optimizer=optimizer))
    again = kept.adopt(_head(lr=3e-2, optimizer=optimizer))
    assert again is first and kept.hits == 1
    assert _train(again) == fresh_history  # same weights, zeroed optimizer, the new rate


def test_other_builds_and_schedules_are_not_reused():
    import keras

    kept = warm.WarmModels()
    a = kept.adopt(_head())
    assert kept.adopt(_head(hidden=8)) is not a  # another architecture
    assert kept.adopt(_head(optimizer="sgd")) is not a  # another optimizer
    scheduled = models.classifier_head((12,), 3)
    models.compile_classifier(scheduled, optimizer=keras.optimizers.Adam(
        keras.optimizers.schedules.CosineDecay(1e-2, 10)))
    assert kept.adopt(scheduled) is scheduled and len(kept) == 3  # a schedule is never kept
    assert kept.adopt(_head()) is a and kept.hits == 1


def test_signature_ignores_names_and_the_rate_only():
    a, b = _head(lr=1e-2), _head(lr=1e-4)
    assert warm.signature(a) == warm.signature(b)
    assert warm.signature(a) != warm.signature(_head(optimizer="sgd"))


def test_reuse_skips_the_build_of_a_key_it_has_seen_and_trains_alike():
    kept = warm.WarmModels()
    builds = []

    def build(lr: float = 1e-2):
        builds.append(lr)
        return _head(lr=lr)

    first = kept.reuse(("head", 1e-2), build)
    fresh_history = _train(_head())
    _train(first)  # trained: weights and optimizer state moved on
    again = kept.reuse(("head", 1e-2), build)
    assert again is first and builds == [1e-2] and kept.hits == 1
    assert _train(again) == fresh_history  # the build's weights, zeroed optimizer
    other = kept.reuse(("head", 3e-2), lambda: build(3e-2))  # a new key builds, same graph
    assert other is first and builds == [1e-2, 3e-2]
    assert _train(other) == _train(_head(lr=3e-2))
    assert kept.reuse(("head", 1e-2), build) is first and len(builds) == 2
    assert _train(first) == fresh_history  # the key's own weights and rate, not the last's
