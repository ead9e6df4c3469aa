"""Discriminative learning rates: a fresh head at a high LR, the pretrained base at a low one.

Keras 3 has no per-layer learning rate. Its way is a custom ``train_step`` (the Keras guide
"Customizing what happens in fit()"): one gradient tape, two optimizers, each applied to its own
variables. ``TwoRates`` does that for a model made of a base and a head; ``finetune_two_rates``
trains one like ``transfer.finetune`` does.
"""

from __future__ import annotations

from labkit import models, train, transfer
from labkit.config import seed_everything
from labkit.lessondata import LessonData
from labkit.train import FitSettings

_TWO_RATES = None


def two_rates_class():
    """The ``TwoRates`` Keras model class (defined on first use, so importing labkit stays
    free of TensorFlow)."""
    global _TWO_RATES
    if _TWO_RATES is None:
        import keras
        import tensorflow as tf

        class TwoRates(keras.Model):
            """``model`` trained with ``head_optimizer`` on ``head``'s weights and the compiled
            optimizer on every other trainable weight (the base's)."""

            def __init__(self, model, head, head_optimizer, **kwargs):
                super().__init__(name=f"{model.name}_two_rates", **kwargs)
                self.model, self.head, self.head_optimizer = model, head, head_optimizer

            def call(self, inputs, training=None):
                return self.model(inputs, training=training)

            def _split(self, values):
                head_ids = {id(v) for v in self.head.trainable_variables}
                head = [i for i, v in enumerate(self.trainable_variables) if id(v) in head_ids]
                rest = [i for i in range(len(self.trainable_variables)) if i not in set(head)]
                return [values[i] for i in head], [values[i] for i in rest]

            def train_step(self, data):
                x, y = data[:2]
                with tf.GradientTape() as tape:
                    y_pred = self(x, training=True)
                    loss = self.compute_loss(x=x, y=y, y_pred=y_pred)
                grads = tape.gradient(loss, self.trainable_variables)
                (head_grads, base_grads) = self._split(grads)
                (head_vars, base_vars) = self._split(self.trainable_variables)
                self.head_optimizer.apply(head_grads, head_vars)
                if base_vars:
                    self.optimizer.apply(base_grads, base_vars)
                for metric in self.metrics:
                    if metric.name == "loss":
                        metric.update_state(loss)
                    else:
                        metric.update_state(y, y_pred)
                return {m.name: m.result() for m in self.metrics}

        _TWO_RATES = TwoRates
    return _TWO_RATES


def finetune_two_rates(base, images: transfer.Prepared, data: LessonData, *, name: str,
                       fit: FitSettings, base_lr: float, hidden: int = 0):
    """A fresh head (``hidden`` units, as ``transfer.tuned_model``) on ``base`` with every block
    trainable, trained end to end with Adam at ``fit.lr`` for the head and at ``base_lr`` for
    the base. Returns ``(model, run)``."""
    import keras

    train.check_lr(base_lr, "base_lr")
    seed_everything(fit.seed)
    base.trainable = True
    inner = transfer.tuned_model(base, images, data.n_classes, hidden=hidden)
    head = inner.layers[-1]
    model = two_rates_class()(inner, head, keras.optimizers.Adam(learning_rate=fit.lr))
    model.head_optimizer.build(head.trainable_variables)
    models.compile_classifier(model, optimizer=keras.optimizers.Adam(learning_rate=base_lr))
    run = train.fit_with(model, images.train, data.y_train, fit, name=name,
                         validation_data=(images.val, data.y_val))
    return model, run
