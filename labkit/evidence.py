"""Evidence for the diagnosis cells: input statistics, weight drift per block, feature-map sizes."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def input_stats(batches: Mapping[str, np.ndarray]) -> str:
    """A table of per-channel mean and the min/max of each named batch of model inputs."""
    rows = [f"{'input':<28} {'min':>8} {'max':>8}   per-channel mean (channels as stored)"]
    for name, x in batches.items():
        x = np.asarray(x, dtype=np.float64)
        means = ", ".join(f"{m:8.2f}" for m in x.reshape(-1, x.shape[-1]).mean(0))
        rows.append(f"{name:<28} {x.min():8.2f} {x.max():8.2f}   [{means}]")
    return "\n".join(rows)


def block_weights(base) -> dict[str, list[np.ndarray]]:
    """Copies of the kernels of each conv block (``block1`` ... ``block5``), for drift checks."""
    blocks: dict[str, list[np.ndarray]] = {}
    for layer in base.layers:
        if layer.weights and layer.name.startswith("block"):
            blocks.setdefault(layer.name.split("_")[0], []).append(
                np.array(layer.weights[0].numpy() if hasattr(layer.weights[0], "numpy")
                         else layer.weights[0])
            )
    return blocks


def weight_drift(before: Mapping[str, list[np.ndarray]], base) -> dict[str, float]:
    """Relative change ``|W_after - W_before| / |W_before|`` of each block's kernels."""
    after = block_weights(base)
    drift = {}
    for block, kernels in before.items():
        num = sum(float(np.sum((a - b) ** 2)) for a, b in zip(after[block], kernels, strict=True))
        den = sum(float(np.sum(b**2)) for b in kernels)
        drift[block] = float(np.sqrt(num / den)) if den else 0.0
    return drift


def feature_map_sizes(base) -> list[tuple[str, tuple[int, ...]]]:
    """Output shape (H, W, C) after each pooling layer of a VGG-shaped base."""
    return [(layer.name, tuple(layer.output.shape[1:])) for layer in base.layers
            if layer.name.endswith("_pool")]


def prediction_spread(model, x: np.ndarray, n_classes: int) -> np.ndarray:
    """How many images the model assigns to each class (a dead network predicts one class)."""
    pred = np.asarray(model.predict(x, batch_size=256, verbose=0)).argmax(-1)
    return np.bincount(pred, minlength=n_classes)


def _relu_convs(model) -> list:
    """The model's Conv2D layers with a ReLU activation, in order."""
    import keras

    return [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)
            and getattr(layer.activation, "__name__", "") == "relu"]


def dead_relu_fraction(model, x: np.ndarray) -> dict[str, float]:
    """Per ReLU conv layer: the fraction of channels that output zero for every image in ``x``."""
    import keras

    convs = _relu_convs(model)
    probe = keras.Model(model.inputs, [layer.output for layer in convs])
    outputs = probe.predict(x, batch_size=256, verbose=0)
    outputs = outputs if isinstance(outputs, list) else [outputs]
    return {layer.name: float((out.reshape(-1, out.shape[-1]).max(0) <= 0).mean())
            for layer, out in zip(convs, outputs, strict=True)}


def image_signal(base, x: np.ndarray, preprocess=None, size: int | None = None
                 ) -> dict[str, tuple[float, float]]:
    """Per block of ``base`` (the output of its last ReLU conv), fed images ``x`` resized to
    ``size`` and then ``preprocess``-ed (as ``models.base_batches``): ``(mean activation, mean
    spread across images)``, the spread being each unit's standard deviation over the images,
    averaged over positions and channels. A spread near zero means every image gets almost the
    same activations: the image no longer reaches that block."""
    import keras

    from labkit.models import base_batches

    last = {layer.name.split("_")[0]: layer for layer in _relu_convs(base)}  # a block: its last
    if not last:
        raise ValueError(f"{base.name} has no Conv2D layer with a ReLU activation to probe")
    if len(x) < 2:
        raise ValueError(f"x holds {len(x)} image(s); a spread across images needs at least 2")
    probe = keras.Model(base.inputs, [layer.output for layer in last.values()])
    outputs = probe.predict(base_batches(x, preprocess, size), verbose=0)
    outputs = outputs if isinstance(outputs, list) else [outputs]
    return {block: (float(out.mean()), float(out.std(0).mean()))
            for block, out in zip(last, outputs, strict=True)}


def feature_similarity(before: np.ndarray, after: np.ndarray) -> float:
    """Mean cosine similarity between two feature sets of the same images (1.0 = unchanged)."""
    a = np.asarray(before, np.float64).reshape(len(before), -1)
    b = np.asarray(after, np.float64).reshape(len(after), -1)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return float(np.mean(np.sum(a * b, axis=1) / np.maximum(norms, 1e-12)))
