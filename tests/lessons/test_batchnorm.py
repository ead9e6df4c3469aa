"""Lesson 10's BatchNorm helpers, and the Keras 3 behaviour the lesson is about."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from labkit import models  # noqa: E402
from labkit.lessondata import LessonData  # noqa: E402
from labkit.lessons import batchnorm  # noqa: E402
from labkit.train import FitSettings  # noqa: E402
from labkit.transfer import Prepared  # noqa: E402

ONE_EPOCH = FitSettings(epochs=1, lr=1e-3, batch_size=8, progress=False)


@pytest.fixture
def tiny():
    """A random MiniVGG-BN at 32x32, a head for its 1x1 output, and 48 shifted images."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, (48, 32, 32, 3)).astype("float32")  # unlike the init statistics
    y = rng.integers(0, 3, 48)
    data = LessonData(x, y, x[:8], y[:8], x[:8], y[:8], ("a", "b", "c"), "random")
    base = models.minivgg((32, 32, 3), batchnorm=True)
    head = models.classifier_head((models.MINIVGG_WIDTHS[-1],), 3)
    return base, head, Prepared(x, x[:8], x[:8]), data


def run(tiny, bn: str) -> tuple[batchnorm.FinetuneResult, list[np.ndarray]]:
    base, head, images, data = tiny
    kernel = base.get_layer("block1_conv1").kernel.numpy().copy()
    result = batchnorm.finetune_with_batchnorm(base, head, images, data, bn=bn, name=bn,
                                               fit=ONE_EPOCH)
    return result, [kernel, base.get_layer("block1_conv1").kernel.numpy().copy()]


def test_finds_nested_batchnorm_layers(tiny):
    base, head, _, _ = tiny
    inputs = keras.Input((32, 32, 3))
    outer = keras.Model(inputs, head(keras.layers.Flatten()(base(inputs))))
    assert len(models.batchnorm_layers(outer)) == 13


def test_training_false_idiom_does_not_stop_keras3_from_updating_statistics(tiny):
    result, (before, after) = run(tiny, "updating")
    assert result.drift > 0.01, "BatchNorm statistics did not move: Keras honours training=False"
    assert not np.allclose(before, after)


def test_frozen_batchnorm_keeps_statistics_but_convs_still_train(tiny):
    result, (before, after) = run(tiny, "frozen")
    assert result.drift == 0.0 and set(result.drift_by_layer.values()) == {0.0}
    assert not np.allclose(before, after), "freezing BatchNorm must leave the convs trainable"
    assert all(not layer.trainable for layer in models.batchnorm_layers(tiny[0]))


def test_freeze_batchnorm_without_batchnorm_names_the_model():
    with pytest.raises(ValueError, match="'minivgg' has no BatchNormalization"):
        batchnorm.freeze_batchnorm(models.minivgg((32, 32, 3)))


def test_bad_arguments_are_named(tiny):
    base, head, images, data = tiny
    with pytest.raises(ValueError, match="bn must be one of"):
        batchnorm.finetune_with_batchnorm(base, head, images, data, bn="off", name="x",
                                          fit=ONE_EPOCH)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        ONE_EPOCH.replace(batch_size=0)


def test_statistics_drift_rejects_other_models():
    a = {"bn": (np.zeros(2), np.ones(2))}
    doubled = {"bn": (np.zeros(2), 2 * np.ones(2))}
    assert batchnorm.statistics_drift(a, doubled) == {"bn": pytest.approx(1.0)}
    with pytest.raises(ValueError, match="different models"):
        batchnorm.statistics_drift(a, {"other": (np.zeros(2), np.ones(2))})


def test_probe_reports_that_keras3_overrides_training_false():
    assert batchnorm.training_false_is_ignored() is True  # pinned Keras 3: see keras#20285
    assert batchnorm.wild_call() == "x = base(inputs, training=False)"


@pytest.mark.parametrize("ignored, updating_call", [(True, False), (False, None)])
def test_the_wild_code_follows_the_installed_keras_and_the_fix_does_not(
        tiny, monkeypatch, ignored, updating_call):
    """Where fit honours training=False (Keras >= 3.16), the failing code is base(x); the fix
    (BatchNorm layers trainable=False, base(x, training=False)) is the same in both worlds."""
    base, head, images, data = tiny
    monkeypatch.setattr(batchnorm, "training_false_is_ignored", lambda: ignored)
    calls = []
    real = batchnorm.tuned_model

    def recording(*args, base_training=None, **kwargs):
        calls.append(base_training)
        return real(*args, base_training=base_training, **kwargs)

    monkeypatch.setattr(batchnorm, "tuned_model", recording)
    fit = FitSettings(epochs=1, batch_size=16, progress=False)
    for bn in batchnorm.BN_MODES:
        batchnorm.finetune_with_batchnorm(models.copy_model(base), models.copy_model(head),
                                          images, data, bn=bn, name=bn, fit=fit)
    assert calls == [updating_call, False]
    assert batchnorm.wild_call() == ("x = base(inputs, training=False)" if ignored
                                     else "x = base(inputs)")


def test_batchnorm_panel_controls_and_one_run(tiny, run_panel):
    import dataclasses

    from labkit import panels, session
    from labkit.config import QUICK

    _, head, images, data = tiny
    lab = session.Lab(profile=dataclasses.replace(QUICK, base_size=32), seed=0, gpus=())
    panel = panels.batchnorm_panel(lab, data, images, head, lr=1e-4, batch_size=16)
    assert list(panel.controls) == ["bn", "batch_size", "lr", "epochs"]
    assert panel.settings()["bn"] == "updating" and panel.settings()["batch_size"] == 16
    run = run_panel(panel, bn="frozen", epochs=1)
    assert run.settings["bn"] == "frozen" and run.epochs == 1
