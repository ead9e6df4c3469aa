"""Training runs and the metrics the lessons report.

``fit`` wraps ``model.fit`` with one readable progress line per epoch and returns a ``Run``;
``score`` computes accuracy, balanced accuracy, macro F1, per-class recall and the confusion
matrix with NumPy, so the numbers are the same on every backend.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field

import numpy as np

from labkit import config  # noqa: F401  (sets TF log level before TF is imported)


@dataclass
class Run:
    """One training run: its name, per-epoch history and wall time."""

    name: str
    history: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0

    def last(self, metric: str) -> float:
        """Final value of a metric (e.g. ``"val_accuracy"``)."""
        return float(self.history[metric][-1])

    def best(self, metric: str) -> float:
        """Best value of a metric (max for accuracies, min for losses)."""
        values = self.history[metric]
        return float(min(values) if "loss" in metric else max(values))

    def followed_by(self, other: Run) -> Run:
        """This run's history, then ``other``'s (a second stage of the same model)."""
        keys = list(self.history) + [k for k in other.history if k not in self.history]
        return Run(self.name, {k: self.history.get(k, []) + other.history.get(k, [])
                               for k in keys}, self.seconds + other.seconds)

    @property
    def epochs(self) -> int:
        """How many epochs were logged (early stopping or Stop can end a run early)."""
        return max((len(v) for v in self.history.values()), default=0)

    @property
    def diverged(self) -> bool:
        """True once the training loss became NaN or infinite."""
        return any(not math.isfinite(v) for v in self.history.get("loss", ()))


def check_lr(lr: float, name: str = "lr") -> float:
    """``lr`` as a float; a ``ValueError`` naming ``name`` unless it is finite and > 0."""
    try:
        value = float(lr)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number > 0, got {lr!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {lr!r}")
    return value


SCHEDULES = ("constant", "cosine")
FEEDS = ("arrays", "pipeline")


@dataclass(frozen=True)
class FitSettings:
    """How to fit a model: the settings every training entry point shares.

    The entry points (``scratch.train_scratch``, ``transfer.train_head``, ``transfer.finetune``,
    ``overfitting.train_overfit``, ...) take the lesson's own arguments plus one of these.
    ``seed`` seeds everything before the model is built; ``progress`` prints one line per epoch;
    ``callbacks`` are Keras callbacks added to the fit. ``optimizer`` is ``"adam"`` or ``"sgd"``
    (momentum 0.9). ``schedule``: ``"constant"`` (``lr`` throughout) or ``"cosine"`` (``lr``
    decaying to 0 over the run, ``optimizer_for``). ``feed``: ``"arrays"`` hands NumPy arrays to
    Keras as they are (the lessons' runs); ``"pipeline"`` feeds them through cached tf.data
    pipelines (``pipelines.make_pipeline``, shuffled with ``seed``): the same epochs and batch
    size in another shuffled order, with less overhead per epoch (a head on cached features
    trains about twice as fast; the panels use it). It needs integer class labels and no
    ``validation_split``; otherwise the arrays go to Keras as they are. Change a few settings
    with ``settings.replace(lr=0.01)``.
    """

    epochs: int = 5
    lr: float = 1e-3
    optimizer: str = "adam"
    batch_size: int = 64
    seed: int = 0
    progress: bool = True
    callbacks: tuple = ()
    schedule: str = "constant"
    feed: str = "arrays"

    def __post_init__(self):
        if int(self.epochs) != self.epochs or self.epochs < 1:
            raise ValueError(f"epochs must be an integer >= 1, got {self.epochs!r}")
        if int(self.batch_size) != self.batch_size or self.batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {self.batch_size!r}")
        check_lr(self.lr)
        from labkit.models import OPTIMIZERS

        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {list(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {list(SCHEDULES)}, got {self.schedule!r}")
        if self.feed not in FEEDS:
            raise ValueError(f"feed must be one of {list(FEEDS)}, got {self.feed!r}")
        object.__setattr__(self, "callbacks", tuple(self.callbacks or ()))

    def replace(self, **changes) -> FitSettings:
        """A copy with some settings changed, e.g. ``fit.replace(lr=0.01, optimizer="sgd")``."""
        return dataclasses.replace(self, **changes)

    def with_callbacks(self, *callbacks) -> FitSettings:
        """A copy with ``callbacks`` added after this one's."""
        return self.replace(callbacks=(*self.callbacks, *callbacks))


def optimizer_for(settings: FitSettings, n_examples: int):
    """The Keras optimizer ``settings`` describe, for a run over ``n_examples`` images: Adam or
    SGD (momentum 0.9) at ``settings.lr``, or with ``schedule="cosine"`` a ``CosineDecay`` from
    ``settings.lr`` to 0 over ``epochs * ceil(n_examples / batch_size)`` steps."""
    import keras

    lr = settings.lr
    if settings.schedule == "cosine":
        steps = settings.epochs * math.ceil(max(int(n_examples), 1) / settings.batch_size)
        lr = keras.optimizers.schedules.CosineDecay(settings.lr, steps)
    if settings.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=lr, momentum=0.9)
    return keras.optimizers.Adam(learning_rate=lr)


def _learning_rate_callback():
    import keras

    class LearningRateLog(keras.callbacks.Callback):
        """Logs the optimizer's learning rate at the end of each epoch (a schedule's current
        value), so ``Run.history["learning_rate"]`` shows what the optimizer really used."""

        def on_epoch_end(self, epoch, logs=None):
            if logs is not None:
                logs["learning_rate"] = float(keras.ops.convert_to_numpy(
                    self.model.optimizer.learning_rate))

    return LearningRateLog()


def _epoch_line_callback(name: str, epochs: int):
    import keras

    class EpochLine(keras.callbacks.Callback):
        """Prints one short line per epoch so a learner sees progress."""

        def on_epoch_begin(self, epoch, logs=None):
            self._t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            parts = [f"{k} {v:.3f}" for k, v in logs.items() if k != "learning_rate"]
            took = time.perf_counter() - self._t
            line = f"  [{name}] epoch {epoch + 1}/{epochs}: " + ", ".join(parts)
            print(f"{line} ({took:.1f} s)")

    return EpochLine()


def fit(
    model,
    x,
    y=None,
    *,
    name: str = "run",
    epochs: int = 5,
    batch_size: int = 64,
    validation_data=None,
    validation_split: float = 0.0,
    class_weight: dict[int, float] | None = None,
    callbacks: list | None = None,
    progress: bool = True,
    shuffle: bool = True,
    steps_per_epoch: int | None = None,
    validation_steps: int | None = None,
) -> Run:
    """Train a compiled model and return its ``Run`` (history with plain floats, seconds).

    ``steps_per_epoch``/``validation_steps``: for endless datasets
    (``make_pipeline(..., repeat=True)``), batches per epoch and per validation pass.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    extra = [*list(callbacks or []), _learning_rate_callback()]
    if progress:
        extra.append(_epoch_line_callback(name, epochs))
    started = time.perf_counter()
    history = model.fit(
        x, y, epochs=epochs, batch_size=None if y is None else batch_size,
        validation_data=validation_data, validation_split=validation_split,
        class_weight=class_weight, callbacks=extra, steps_per_epoch=steps_per_epoch,
        validation_steps=validation_steps, verbose=0,
        shuffle=shuffle and y is not None,  # a dataset shuffles itself
    )
    seconds = time.perf_counter() - started
    hist = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    return Run(name=name, history=hist, seconds=seconds)


def _class_labels(y) -> bool:
    """True for a 1-D array of integer class labels (what ``make_pipeline`` takes)."""
    y = np.asarray(y)
    return y.ndim == 1 and y.dtype.kind in "iu"


def fit_with(model, x, y, settings: FitSettings, *, name: str, **data) -> Run:
    """``fit`` with a ``FitSettings``' epochs, batch size, callbacks and progress.

    ``data``: ``fit``'s other arguments (``validation_data``, ``validation_split``,
    ``class_weight``, ``shuffle``). The model is compiled already (``settings.lr`` and
    ``settings.optimizer`` are used by whoever compiled it).
    """
    if settings.feed == "pipeline" and _class_labels(y) and not data.get("validation_split"):
        from labkit.pipelines import make_pipeline, steps_per_pass

        # Endless pipelines with steps per epoch: Keras keeps one iterator for the run instead
        # of building one (and instantiating the pipeline's functions) every epoch.
        data["steps_per_epoch"] = steps_per_pass(len(y), settings.batch_size)
        x = make_pipeline(x, y, settings.batch_size, shuffle=data.pop("shuffle", True),
                          seed=settings.seed, repeat=True)
        y = None
        validation = data.get("validation_data")
        if validation is not None and len(validation) == 2 and _class_labels(validation[1]):
            data["validation_steps"] = steps_per_pass(len(validation[1]), settings.batch_size)
            data["validation_data"] = make_pipeline(*validation, settings.batch_size,
                                                    shuffle=False, repeat=True)
    return fit(model, x, y, name=name, epochs=settings.epochs, batch_size=settings.batch_size,
               callbacks=list(settings.callbacks), progress=settings.progress, **data)


@dataclass(frozen=True)
class Scores:
    """Classification metrics of one model on one labelled set."""

    accuracy: float
    balanced_accuracy: float
    macro_f1: float
    per_class_recall: tuple[float, ...]
    confusion: np.ndarray  # rows: true class, columns: predicted class

    def __str__(self) -> str:
        return (f"accuracy {self.accuracy:.1%}, balanced accuracy {self.balanced_accuracy:.1%}, "
                f"macro F1 {self.macro_f1:.3f}")


def score(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int | None = None) -> Scores:
    """Metrics from integer labels and integer predictions."""
    y_true = np.asarray(y_true).astype(int).ravel()
    y_pred = np.asarray(y_pred).astype(int).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} labels but y_pred has {y_pred.size}")
    n = int(n_classes or max(y_true.max(initial=0), y_pred.max(initial=0)) + 1)
    cm = np.zeros((n, n), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    support, predicted, hits = cm.sum(1), cm.sum(0), np.diag(cm)
    recall = np.divide(hits, support, out=np.zeros(n), where=support > 0)
    precision = np.divide(hits, predicted, out=np.zeros(n), where=predicted > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(n), where=denom > 0)
    present = support > 0
    return Scores(
        accuracy=float(hits.sum() / max(cm.sum(), 1)),
        balanced_accuracy=float(recall[present].mean()),
        macro_f1=float(f1[present].mean()),
        per_class_recall=tuple(float(r) for r in recall),
        confusion=cm,
    )


def predict_classes(model, x, batch_size: int = 256) -> np.ndarray:
    """Arg-max class predictions."""
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0)).argmax(-1)


def evaluate(model, x, y, n_classes: int | None = None) -> Scores:
    """``score`` of a model's predictions on ``(x, y)``."""
    return score(y, predict_classes(model, x), n_classes)


def lr_range_test(model, x, y, min_lr: float = 1e-6, max_lr: float = 1.0, steps: int = 100,
                  batch_size: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Leslie Smith's LR range test: one pass with the LR growing exponentially per batch.

    Returns (learning rates, smoothed losses). Stops early once the loss explodes.
    The model must be compiled; its weights are restored afterwards.
    """
    if not 0 < min_lr < max_lr:
        raise ValueError(f"need 0 < min_lr < max_lr, got min_lr={min_lr}, max_lr={max_lr}")
    if not hasattr(model.optimizer.learning_rate, "assign"):
        raise ValueError("lr_range_test needs a model compiled with a constant learning rate, "
                         "not a schedule: it sets the rate batch by batch. Fix: compile with "
                         "FitSettings(schedule='constant') for the test")
    saved = model.get_weights()
    saved_lr = float(model.optimizer.learning_rate.numpy())
    rng = np.random.default_rng(seed)
    lrs = np.geomspace(min_lr, max_lr, steps)
    losses, smooth, best = [], 0.0, np.inf
    for i, lr in enumerate(lrs):
        idx = rng.integers(0, len(x), batch_size)
        model.optimizer.learning_rate.assign(lr)
        loss = float(np.ravel(model.train_on_batch(x[idx], y[idx]))[0])
        smooth = 0.8 * smooth + 0.2 * loss if i else loss
        losses.append(smooth)
        best = min(best, smooth)
        if not np.isfinite(smooth) or smooth > 4 * best:
            break
    model.set_weights(saved)
    model.optimizer.learning_rate.assign(saved_lr)
    return lrs[: len(losses)], np.asarray(losses)


def suggest_lr(lrs: np.ndarray, losses: np.ndarray) -> float:
    """A learning rate from a range test: a tenth of the LR where the smoothed loss is lowest."""
    if len(lrs) == 0:
        raise ValueError("empty LR range test")
    return float(lrs[int(np.argmin(losses))] / 10)
