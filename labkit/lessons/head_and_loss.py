"""Heads and losses that do (or do not) match a multi-class task: lesson 08.

A ``HeadVariant`` is the last layer (units, activation), the loss (and its ``from_logits``), the
label format fed to ``fit`` and the metric passed to ``compile``: the four things that must agree.
``train_variant`` trains one on cached frozen-base features (``transfer.features``) and returns
what Keras *reported* next to the *true* arg-max accuracy, or the error Keras raised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labkit import train
from labkit.config import seed_everything
from labkit.lessondata import LessonData
from labkit.report import error_line
from labkit.train import FitSettings, Run, Scores

SPARSE_CE = "sparse_categorical_crossentropy"
CATEGORICAL_CE = "categorical_crossentropy"
BINARY_CE = "binary_crossentropy"
LABEL_FORMATS = ("int", "one-hot")


@dataclass(frozen=True)
class HeadVariant:
    """Last layer + loss + label format + metric, as one ``compile``/``fit`` call would use them.

    ``units``: ``None`` = one per class; an int fixes it (e.g. 1 for a binary head, 9 for one
    class too few). ``activation``: ``"softmax"``, ``"sigmoid"`` or ``None`` (linear: logits).
    ``hide_logits``: add a no-op layer (``Rescaling(1.0)``) after the activation. Keras 3 on
    TensorFlow keeps the logits under a softmax/sigmoid output and its cross-entropies use them,
    which silently repairs some mismatches; the extra layer hands the loss plain probabilities,
    as Keras' JAX and PyTorch backends always do.
    """

    activation: str | None
    loss: str
    labels: str = "int"
    from_logits: bool = False
    units: int | None = None
    metric: str = "accuracy"
    hide_logits: bool = False
    matches: bool = False  # True for the correct pairings (the fixes)
    what: str = ""  # one line: what is wrong (or right) with it

    def code(self, n_classes: int = 10) -> str:
        """The two lines of Keras code this variant stands for."""
        units = self.units or n_classes
        act = f', activation="{self.activation}"' if self.activation else ""
        after = " -> any layer" if self.hide_logits else ""
        loss = (f"keras.losses.{_LOSS_CLASSES[self.loss]}(from_logits=True)" if self.from_logits
                else f'"{self.loss}"')
        labels = "one-hot labels" if self.labels == "one-hot" else "integer labels"
        return (f"Dense({units}{act}){after}; compile(loss={loss}, metrics=[\"{self.metric}\"]); "
                f"fit on {labels}")


_LOSS_CLASSES = {SPARSE_CE: "SparseCategoricalCrossentropy",
                 CATEGORICAL_CE: "CategoricalCrossentropy", BINARY_CE: "BinaryCrossentropy"}

HEAD_VARIANTS: dict[str, HeadVariant] = {
    # The two right pairings (the fixes).
    "softmax + sparse CE": HeadVariant(
        "softmax", SPARSE_CE, matches=True,
        what="the fix: one probability per class, summing to 1; integer labels"),
    "linear + sparse CE(from_logits=True)": HeadVariant(
        None, SPARSE_CE, from_logits=True, matches=True,
        what="the other fix: raw logits, the loss applies the softmax itself"),
    # Mismatches that train.
    "sigmoid + sparse CE": HeadVariant(
        "sigmoid", SPARSE_CE,
        what="10 independent yes/no outputs used as one distribution"),
    "sigmoid + binary CE": HeadVariant(
        "sigmoid", BINARY_CE, labels="one-hot", metric="binary_accuracy",
        what="a multi-label setup; old Keras' 'accuracy' meant binary accuracy here"),
    "softmax + binary CE": HeadVariant(
        "softmax", BINARY_CE, labels="one-hot", metric="binary_accuracy",
        what="a softmax trained as 10 yes/no problems"),
    "linear + sparse CE(from_logits=False)": HeadVariant(
        None, SPARSE_CE,
        what="raw logits clipped to [1e-7, 1] as if they were probabilities"),
    "softmax + sparse CE(from_logits=True)": HeadVariant(
        "softmax", SPARSE_CE, from_logits=True,
        what="softmax applied twice (Keras 3 on TF repairs this one and warns)"),
    "softmax + sparse CE(from_logits=True), no rescue": HeadVariant(
        "softmax", SPARSE_CE, from_logits=True, hide_logits=True,
        what="softmax applied twice, with a layer after it (or on JAX/PyTorch)"),
    "Dense(1, sigmoid) + binary CE": HeadVariant(
        "sigmoid", BINARY_CE, units=1,
        what="a cats-vs-dogs head copied to a 10-class task"),
    # Mismatches Keras refuses (or, for a label without a unit, TF on a GPU lets through).
    "one-hot labels + sparse CE": HeadVariant(
        "softmax", SPARSE_CE, labels="one-hot",
        what="sparse CE wants one integer per image"),
    "int labels + categorical CE": HeadVariant(
        "softmax", CATEGORICAL_CE,
        what="categorical CE wants one one-hot row per image"),
    "Dense(9) for 10 classes": HeadVariant(
        "softmax", SPARSE_CE, units=9,
        what="one unit short: label 9 has no output"),
}
FIXES = tuple(k for k, v in HEAD_VARIANTS.items() if v.matches)


def labels_as(y: np.ndarray, labels: str, n_classes: int) -> np.ndarray:
    """Integer labels as ``"int"`` (unchanged) or ``"one-hot"`` (float32 rows)."""
    if labels not in LABEL_FORMATS:
        raise ValueError(f"unknown label format {labels!r}; use one of {list(LABEL_FORMATS)}")
    y = np.asarray(y).astype(int).ravel()
    return y if labels == "int" else np.eye(n_classes, dtype="float32")[y]


def build_head(n_features: int, n_classes: int, variant: HeadVariant, lr: float = 1e-3,
               optimizer: str = "adam"):
    """Dense(units, activation) on flat features, compiled with the variant's loss and metric.

    ``optimizer``: ``"adam"`` or ``"sgd"`` (momentum 0.9), as ``models.compile_classifier``.
    """
    import keras

    losses = {SPARSE_CE: keras.losses.SparseCategoricalCrossentropy,
              CATEGORICAL_CE: keras.losses.CategoricalCrossentropy,
              BINARY_CE: keras.losses.BinaryCrossentropy}
    inputs = keras.Input((n_features,), name="features")
    outputs = keras.layers.Dense(variant.units or n_classes, activation=variant.activation,
                                 name="head_output")(inputs)
    if variant.hide_logits:
        outputs = keras.layers.Rescaling(1.0, name="hide_logits")(outputs)
    head = keras.Model(inputs, outputs, name="head")
    opt = (keras.optimizers.Adam(learning_rate=lr) if optimizer == "adam"
           else keras.optimizers.SGD(learning_rate=lr, momentum=0.9))
    head.compile(optimizer=opt,
                 loss=losses[variant.loss](from_logits=variant.from_logits),
                 metrics=[variant.metric])
    return head


@dataclass
class VariantResult:
    """One variant trained and tested: Keras' own metric next to the arg-max truth."""

    name: str
    variant: HeadVariant
    metric: str  # the name Keras logged, e.g. "accuracy" or "binary_accuracy"
    reported: float | None = None  # Keras' metric on the test set (model.evaluate)
    test_loss: float | None = None
    scores: Scores | None = None  # arg-max predictions against the integer test labels
    run: Run | None = None
    head: object = None
    error: str | None = None  # "ErrorType: first line" when compile/fit raised

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def true_accuracy(self) -> float | None:
        return None if self.scores is None else self.scores.accuracy

    def line(self) -> str:
        """One table row a learner can read."""
        if self.failed:
            return f"{self.name:<50} raised {self.error}"
        return (f"{self.name:<50} Keras {self.metric} {self.reported:6.1%} | "
                f"true (arg-max) accuracy {self.true_accuracy:6.1%}")


def argmax_accuracy_callback(x_train, y_train, x_val, y_val):
    """A Keras callback adding ``true_accuracy``/``val_true_accuracy`` (arg-max vs integer labels)
    to each epoch's logs, next to whatever metric Keras was compiled with."""
    import keras

    class _ArgmaxAccuracy(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if logs is None:
                return
            for key, x, y in (("true_accuracy", x_train, y_train),
                              ("val_true_accuracy", x_val, y_val)):
                pred = keras.ops.convert_to_numpy(self.model(x, training=False)).argmax(-1)
                logs[key] = float(np.mean(pred == y))

    return _ArgmaxAccuracy()


def train_variant(feats, data: LessonData, variant: str | HeadVariant, *, fit: FitSettings,
                  raise_errors: bool = False) -> VariantResult:
    """Train a head variant on frozen features (``transfer.Features``) with ``fit`` and test it.

    The run's history also holds ``true_accuracy``/``val_true_accuracy`` (arg-max), whatever
    metric the variant compiles with. Errors Keras raises (wrong label shape, a label without an
    output unit) are caught and kept as ``result.error`` unless ``raise_errors``; NaN losses are
    kept as they come.
    """
    name = variant if isinstance(variant, str) else "custom"
    if isinstance(variant, str):
        if variant not in HEAD_VARIANTS:
            raise ValueError(f"unknown head variant {variant!r}; known: {list(HEAD_VARIANTS)}")
        variant = HEAD_VARIANTS[variant]
    n = data.n_classes
    result = VariantResult(name, variant, metric=variant.metric)
    seed_everything(fit.seed)
    head = build_head(feats.train.shape[1], n, variant, lr=fit.lr, optimizer=fit.optimizer)
    y_train, y_val, y_test = (labels_as(y, variant.labels, n)
                              for y in (data.y_train, data.y_val, data.y_test))
    truth = argmax_accuracy_callback(feats.train, np.asarray(data.y_train).ravel(), feats.val,
                                     np.asarray(data.y_val).ravel())
    try:
        result.run = train.fit_with(head, feats.train, y_train,
                                    fit.replace(callbacks=(truth, *fit.callbacks)), name=name,
                                    validation_data=(feats.val, y_val))
        logged = head.evaluate(feats.test, y_test, verbose=0, return_dict=True)
    except Exception as error:  # Keras/TF raise ValueError or InvalidArgumentError here
        if raise_errors:
            raise
        result.error = error_line(error)
        return result
    result.head = head
    result.test_loss = float(logged["loss"])
    result.reported = float(logged[variant.metric])
    result.scores = train.evaluate(head, feats.test, data.y_test, max(n, variant.units or n))
    return result


def train_variants(feats, data: LessonData, names, *, fit: FitSettings,
                   raise_errors: bool = False) -> dict[str, VariantResult]:
    """``train_variant`` for each name, printing one table row per variant as it finishes."""
    results = {}
    for name in names:
        results[name] = train_variant(feats, data, name, fit=fit, raise_errors=raise_errors)
        print(results[name].line())
    return results


def binary_accuracy(y_onehot: np.ndarray, outputs: np.ndarray, threshold: float = 0.5) -> float:
    """What Keras' ``binary_accuracy`` counts: every one of the n yes/no outputs of every image."""
    return float(np.mean((np.asarray(outputs) > threshold) == (np.asarray(y_onehot) > 0.5)))


def argmax_accuracy(y: np.ndarray, outputs: np.ndarray) -> float:
    """The accuracy a classifier is judged by: the top output against the integer label."""
    return float(np.mean(np.asarray(outputs).argmax(-1) == np.asarray(y).ravel()))


def output_summary(outputs: np.ndarray, eps: float = 1e-7) -> dict[str, float]:
    """Row sums of a head's outputs and the share of outputs a probability loss would clip."""
    outputs = np.asarray(outputs, dtype=np.float64)
    sums = outputs.sum(-1)
    clipped = (outputs <= eps) | (outputs >= 1 - eps)
    return {"sum min": float(sums.min()), "sum mean": float(sums.mean()),
            "sum max": float(sums.max()), "outside (0, 1)": float(clipped.mean())}


def plot_reported_vs_true(results: dict[str, VariantResult], title: str = "", ax=None):
    """Paired horizontal bars per variant: Keras' reported metric and the true arg-max accuracy
    on the test set. Variants that raised get the error type instead of bars."""
    import matplotlib.pyplot as plt

    names = list(results)
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 0.42 * len(names) + 1.2))
    ys = np.arange(len(names))[::-1]  # first variant on top
    for offset, label, colour, get in (
            (0.2, "Keras' metric (what it reported)", "C1", lambda r: r.reported),
            (-0.2, "true arg-max accuracy", "C0", lambda r: r.true_accuracy)):
        values = [0.0 if results[n].failed else get(results[n]) for n in names]
        bars = ax.barh(ys + offset, values, height=0.4, label=label, color=colour)
        for bar, name, value in zip(bars, names, values, strict=True):
            if not results[name].failed:
                ax.text(value + 0.01, bar.get_y() + bar.get_height() / 2, f"{value:.0%}",
                        va="center", fontsize=7)
    for y, name in zip(ys, names, strict=True):
        if results[name].failed:
            ax.text(0.01, y, f"raised {results[name].error.split(':')[0]}", va="center",
                    fontsize=8, color="C3")
    ax.set_yticks(ys, names, fontsize=8)
    ax.set_xlim(0, 1.08)
    ax.set_xlabel("test set")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(title)
    ax.figure.tight_layout()
    return ax
