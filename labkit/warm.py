"""Compiled models kept warm between a panel's runs: the same traced graph, fresh weights.

Keras traces a model's training step the first time ``fit`` runs it (about 1-2 s on 2 cores
for the course's CNNs). A panel builds a new model on every click, so every click paid that
again. ``WarmModels.adopt(fresh)`` returns the model trained by an earlier click of the same
architecture and compilation, given ``fresh``'s initial weights and a zeroed optimizer at
``fresh``'s learning rate: training it gives the same numbers as training ``fresh`` (the
tests check this), without tracing again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from typing import Any


def _layer_config(layer) -> dict[str, Any]:
    config = layer.get_config()
    config.pop("name", None)
    return config


def signature(model) -> str:
    """What must match for one compiled model to stand in for another: each layer's type and
    configuration (names aside), each weight's shape, and the compile arguments (optimizer,
    loss, metrics), the learning rate aside."""
    compiled = model._compile_config.serialize()
    compiled["optimizer"]["config"].pop("learning_rate", None)
    compiled["optimizer"]["config"].pop("name", None)
    layers = [[type(layer).__name__, _layer_config(layer), [list(w.shape) for w in layer.weights]]
              for layer in model.layers]
    return json.dumps({"layers": layers, "compiled": compiled}, sort_keys=True, default=repr)


class WarmModels:
    """Compiled models by ``signature``; ``adopt`` hands back a warm one when there is one."""

    def __init__(self) -> None:
        self._models: dict[str, Any] = {}
        self._initial: dict[Hashable, tuple[Any, list, float]] = {}  # reuse(): by build key
        self.hits = 0

    def __len__(self) -> int:
        return len(self._models)

    def adopt(self, fresh):
        """The model to train in place of the compiled ``fresh``: a kept one with ``fresh``'s
        weights, its optimizer state zeroed and ``fresh``'s learning rate; or ``fresh`` itself
        (kept for the next run) when none matches or the learning rate is a schedule."""
        if _scheduled(fresh):
            return fresh  # a schedule is traced into the step: never reuse across schedules
        key = signature(fresh)
        kept = self._models.get(key)
        if kept is None:
            self._models[key] = fresh
            return fresh
        _reset(kept, fresh.get_weights(), _rate(fresh))
        self.hits += 1
        return kept

    def reuse(self, key: Hashable, build: Callable[[], Any]):
        """``adopt(build())``, and the weights ``build()`` gave kept under ``key``: a later call
        with the same ``key`` resets the kept model to them and does not call ``build``.

        For builds whose only random draws are their initial weights; ``key`` names all that
        the build depends on (input shape, classes, seed, optimizer, rate, ...). Not building
        means not seeding, and seeding TensorFlow clears its kernel cache: the next training
        step would set up its kernels again (0.25-0.35 s on 2 cores).
        """
        if key in self._initial:
            model, weights, rate = self._initial[key]
            _reset(model, weights, rate)
            self.hits += 1
            return model
        fresh = build()
        model = self.adopt(fresh)
        if not _scheduled(fresh):  # adopt() keeps no scheduled model
            self._initial[key] = (model, fresh.get_weights(), _rate(fresh))
        return model


def _scheduled(model) -> bool:
    import keras

    return isinstance(model.optimizer._learning_rate,
                      keras.optimizers.schedules.LearningRateSchedule)


def _rate(model) -> float:
    """The constant learning rate of ``model``'s optimizer, as a float."""
    import keras

    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


def _reset(model, weights: list, rate: float) -> None:
    """``weights`` into ``model``, its optimizer's state zeroed and its rate set to ``rate``."""
    import keras

    model.set_weights(weights)
    for variable in model.optimizer.variables:
        variable.assign(keras.ops.zeros(variable.shape, variable.dtype))
    model.optimizer.learning_rate.assign(rate)
