"""BatchNorm when fine-tuning (lesson 10): what updates, what stays frozen, and how to freeze it.

In Keras 3 a BatchNormalization layer with ``trainable=False`` runs in inference mode: it
normalises with its stored (moving) statistics and never updates them, in every Keras 3
version. The Keras transfer-learning guide's idiom of calling the base with
``base(x, training=False)`` inside a functional model is *not* enough in Keras 3.0-3.15:
``fit`` passes ``training=True`` to every layer of a functional model that accepts it, nested
bases included, so their BatchNorm layers still normalise with batch statistics and overwrite
the pretrained moving statistics (keras-team/keras#20285; upstream honours ``training=False``
again from 3.16, keras-team/keras#23364). ``training_false_is_ignored`` asks the installed
Keras which world it is.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from labkit import models, train
from labkit.config import seed_everything
from labkit.lessondata import LessonData
from labkit.models import batchnorm_layers
from labkit.train import FitSettings
from labkit.transfer import Prepared, tuned_model

BN_MODES = ("updating", "frozen")  # BatchNorm during fine-tuning: the default, and the fix


def freeze_batchnorm(model) -> int:
    """Set ``trainable=False`` on every BatchNorm layer (Keras 3: inference mode, stats frozen).

    The convolutions stay trainable. Returns how many layers were frozen; call it *before*
    ``compile``, like any change to ``trainable``.
    """
    layers = batchnorm_layers(model)
    if not layers:
        raise ValueError(f"model {model.name!r} has no BatchNormalization layers to freeze")
    for layer in layers:
        layer.trainable = False
    return len(layers)


def moving_statistics(model) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """A copy of each BatchNorm layer's (moving_mean, moving_variance), by layer name."""
    return {layer.name: (layer.moving_mean.numpy().copy(), layer.moving_variance.numpy().copy())
            for layer in batchnorm_layers(model)}


def statistics_drift(before: dict, after: dict) -> dict[str, float]:
    """Per BatchNorm layer: median relative change of its moving variances (0.1 = 10%)."""
    if before.keys() != after.keys():
        raise ValueError("before and after come from different models (other BatchNorm layers)")
    return {k: float(np.median(np.abs(after[k][1] - before[k][1]) / (before[k][1] + 1e-6)))
            for k in before}


@dataclass(frozen=True)
class FinetuneResult:
    """One fine-tuning run of lesson 10: the model, its curves, and how far the BN stats moved."""

    model: object
    run: train.Run
    drift_by_layer: dict[str, float]

    @property
    def drift(self) -> float:
        """Median over the BatchNorm layers of ``drift_by_layer``."""
        return float(np.median(list(self.drift_by_layer.values()))) if self.drift_by_layer else 0.0


def finetune_with_batchnorm(
    base,
    head,
    images: Prepared,
    data: LessonData,
    *,
    bn: str,
    name: str,
    fit: FitSettings,
) -> FinetuneResult:
    """Fine-tune the whole ``base`` + a trained ``head`` the way the Keras guide says.

    ``bn="updating"`` leaves the BatchNorm layers trainable: the code as found. In a Keras
    whose ``fit`` ignores ``base(x, training=False)`` (3.0-3.15) the base is called that way,
    the guide's idiom; in one that honours it, the base is called plainly (``base(x)``, as in
    ``Sequential([base, head])``), the form in which the failure remains. ``bn="frozen"`` sets
    the BatchNorm layers ``trainable=False`` first and calls ``base(x, training=False)``: the
    fix, the same in both worlds. ``base`` and ``head`` are trained in place: pass fresh copies
    for each run. ``fit.batch_size`` matters here: BatchNorm's batch statistics come from it.
    """
    if bn not in BN_MODES:
        raise ValueError(f"bn must be one of {BN_MODES}, got {bn!r}")
    base_training = wild_base_training() if bn == "updating" else False  # before seeding: the
    seed_everything(fit.seed)  # probe trains a model once per session
    base.trainable = True
    if bn == "frozen":
        freeze_batchnorm(base)
    model = tuned_model(base, images, data.n_classes, head=head,
                        base_training=base_training)
    models.compile_classifier(model, lr=fit.lr, optimizer=fit.optimizer)
    before = moving_statistics(base)
    run = train.fit_with(model, images.train, data.y_train, fit, name=name,
                         validation_data=(images.val, data.y_val))
    return FinetuneResult(model, run, statistics_drift(before, moving_statistics(base)))


def wild_base_training() -> bool | None:
    """How the code as found calls the base in this Keras: ``False`` (the guide's
    ``base(x, training=False)``) where ``fit`` ignores it, else ``None`` (``base(x)``)."""
    return False if training_false_is_ignored() else None


def wild_call() -> str:
    """The line of the code as found that calls the base, in this Keras."""
    return ("x = base(inputs, training=False)" if wild_base_training() is False
            else "x = base(inputs)")


@functools.cache
def training_false_is_ignored() -> bool:
    """Does ``fit`` override ``base(x, training=False)`` in this Keras? (a two-second probe,
    run once per session)

    Builds a one-layer BatchNorm base, calls it with ``training=False`` inside a functional
    model, fits one epoch on shifted data and reports whether the moving mean moved.
    True in Keras 3.0-3.15 (keras-team/keras#20285), unless the layer is ``trainable=False``.
    """
    import keras

    base = keras.Sequential([keras.Input((4,)), keras.layers.BatchNormalization()], name="probe")
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(1)(base(inputs, training=False)))
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).normal(5.0, 1.0, (32, 4)).astype("float32")
    model.fit(x, np.zeros(32), epochs=1, batch_size=16, verbose=0)
    return bool(np.abs(base.layers[0].moving_mean.numpy()).max() > 1e-3)
