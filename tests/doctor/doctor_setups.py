"""Shared data, models and assertions for the doctor's tests (tiny: quick on 2 CPU cores)."""

from __future__ import annotations

import re

import keras
import numpy as np

from labkit import doctor, models

K = 4  # classes


def images(n: int = 64, size: int = 16, k: int = K, seed: int = 0):
    """Colour-coded classes (a palette colour per class plus noise), shuffled and balanced.

    Some pixels are black, as in photos (the statistics checks rely on dark pixels existing).
    """
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    rng.shuffle(y)
    palette = rng.integers(30, 226, size=(k, 3))
    x = palette[y][:, None, None, :] + rng.normal(0, 25, size=(n, size, size, 3))
    x[:, :2, :2, :] = 0  # a dark corner
    x[:, -2:, -2:, :] = 255  # a bright one
    return np.clip(x, 0, 255).astype("uint8"), y.astype("int64")


X, Y = images()
XB, YB = images(32, 64, seed=1)  # for MiniVGG at 64x64
XS, YS = images(32, 32, seed=2)  # for MiniVGG at 32x32


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
            name: str = "minivgg", weights="default"):
    """MiniVGG (shipped weights) + a softmax head, compiled: ``(model, base, preprocess)``."""
    keras.utils.set_random_seed(0)
    base, preprocess = models.backbone(name, weights=weights, input_shape=(size, size, 3))
    models.freeze(base)
    if not frozen:
        base.trainable = True
    if top_blocks:
        models.unfreeze_top_blocks(base, top_blocks)
    model = models.compile_classifier(models.attach_head(base, K), lr=lr)
    return model, base, preprocess


def flagged(report, check: str, severity: str = "problem") -> doctor.Finding:
    """The finding of ``check``; asserts its severity, numbers in its evidence, a fix, a lesson."""
    hits = [f for f in report.findings if f.check == check]
    assert hits, f"{check} not flagged:\n{report}"
    finding = hits[0]
    assert finding.severity == severity, str(report)
    assert re.search(r"\d", finding.evidence), finding.evidence
    assert finding.fix and finding.notebook
    return finding


def snapshot(model) -> dict:
    """Everything diagnose must leave alone: weights, trainable flags, compile state."""
    opt = getattr(model, "optimizer", None)
    return {
        "weights": [np.array(v) for v in model.get_weights()],
        "trainable": [(layer.name, layer.trainable) for layer in models.walk_layers(model)],
        "model_trainable": model.trainable,
        "compiled": bool(getattr(model, "compiled", False)),
        "optimizer": id(opt) if opt is not None else None,
        "iterations": int(opt.iterations.numpy()) if opt is not None and opt.built else None,
        "opt_vars": ([np.array(v) for v in opt.variables] if opt is not None and opt.built
                     else None),
        "loss": repr(getattr(model, "loss", None)),
        "n_trainable_weights": len(model.trainable_weights),
    }


def assert_unchanged(before: dict, model) -> None:
    after = snapshot(model)
    for key in before:
        if key in ("weights", "opt_vars"):
            if before[key] is None:
                continue
            assert len(before[key]) == len(after[key]), key
            for a, b in zip(before[key], after[key], strict=True):
                np.testing.assert_array_equal(a, b, err_msg=key)
        else:
            assert before[key] == after[key], key
