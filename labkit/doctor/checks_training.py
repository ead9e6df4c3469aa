"""Checks of how the model will train: a learning-rate probe on the learner's own optimizer,
class balance, and ``validation_split`` on class-sorted data."""

from __future__ import annotations

import math

import numpy as np

from labkit.doctor.context import Context, _numpy, why
from labkit.doctor.report import NOTEBOOKS, PROBLEM, WARNING, Finding

LR_TEST_STEPS = 30
LR_TEST_RANGE = (1e-6, 1.0)
LR_TOO_HIGH = 10.0  # flag a learning rate this many times above the range test's suggestion
LR_TOO_LOW = 100.0  # ... or this many times below it
PROBE_BATCH = 32  # images per probe step
PROBE_STEPS = 15  # steps at the current learning rate, and at LOWER_BY times less, from the start
LOWER_BY = 30.0
STUCK = 0.9  # a loss that stays above this share of ln(K) after the probe has learned nothing
BETTER = 0.8  # the lower rate must end at most this share of the current rate's loss
SPIKE = 3.0  # a loss above this multiple of max(start, ln K) during the probe has exploded
COLLAPSED = 0.1  # outputs varying this much less across images than before: the model collapsed
FINE_TUNING_LR = 1e-4  # below this, a trainable pretrained base is being fine-tuned
LEARNS = 0.7  # a loss down to this share of its start within the probe: the rate works
IMBALANCE_RATIO = 5.0


def _loss_fn(loss):
    import keras

    if loss is None or isinstance(loss, dict | list | tuple):
        return None
    fn = keras.losses.get(loss) if isinstance(loss, str) else loss
    if not callable(fn):
        return None

    def loss_fn(y, pred):
        if len(y.shape) == len(pred.shape) - 1 and pred.shape[-1] == 1:  # (N,) labels, 1 unit
            y = keras.ops.cast(keras.ops.expand_dims(y, -1), pred.dtype)
        return fn(y, pred)

    return loss_fn


class _Trainer:
    """Trains the learner's own model in place with a fresh copy of its optimizer, and puts every
    variable back afterwards (weights, BatchNorm statistics, random-layer seeds).

    No clone: models with Lambda layers, random augmentation layers or a subclassed ``call`` are
    probed as they are. The model's compiled optimizer, loss and trainable flags are not touched.
    """

    def __init__(self, ctx: Context, loss_fn):
        import keras
        import tensorflow as tf

        model = ctx.model
        self.model = model
        config = model.optimizer.get_config()
        config["learning_rate"] = float(ctx.lr)  # a schedule's current value
        self.optimizer = type(model.optimizer).from_config(config)
        self.variables = list(model.trainable_variables)
        self.optimizer.build(self.variables)
        self.opt_start = [np.array(_numpy(v)) for v in self.optimizer.variables]
        self.saved = [np.array(_numpy(v)) for v in model.variables]
        self.x, self.y = ctx.model_inputs, np.asarray(ctx.y)
        self.batch = min(PROBE_BATCH, len(self.x))
        variables, optimizer = self.variables, self.optimizer

        @tf.function(reduce_retracing=True)
        def step(xb, yb):
            with tf.GradientTape() as tape:
                loss = keras.ops.mean(loss_fn(yb, model(xb, training=True)))
            grads = tape.gradient(loss, variables)
            optimizer.apply_gradients([(g, v) for g, v in zip(grads, variables, strict=True)
                                       if g is not None])
            return loss

        self.step = step

    def reset(self) -> None:
        for v, value in zip(self.model.variables, self.saved, strict=True):
            v.assign(value)
        for v, value in zip(self.optimizer.variables, self.opt_start, strict=True):
            v.assign(value)

    def run(self, lrs, seed: int = 0, stop_on_blowup: bool = False) -> np.ndarray:
        """Raw losses of one step per learning rate, from the starting weights."""
        self.reset()
        rng = np.random.default_rng(seed)
        losses, best = [], np.inf
        for lr in lrs:
            self.optimizer.learning_rate = float(lr)
            idx = rng.integers(0, len(self.x), self.batch)
            loss = float(_numpy(self.step(self.x[idx], self.y[idx])))
            losses.append(loss)
            best = min(best, loss)
            if not np.isfinite(loss) or (stop_on_blowup and loss > 4 * best):
                break
        return np.asarray(losses)

    def spread(self) -> float:
        """How much the outputs vary from image to image (0: the model ignores its input)."""
        out = _numpy(self.model(self.x[:64], training=False)).astype(np.float64)
        if not np.isfinite(out).all():
            return 0.0
        return float(out.reshape(len(out), -1).std(axis=0).mean())


def _base_trainable(ctx: Context) -> bool:
    from labkit.doctor.checks_model import _base_weights

    return ctx.base is not None and _base_weights(ctx)[0] > 0


def _smooth(losses: np.ndarray) -> np.ndarray:
    out, s = [], 0.0
    for i, v in enumerate(losses):
        s = 0.8 * s + 0.2 * v if i else v
        out.append(s)
    return np.asarray(out)


def _tail(losses: np.ndarray) -> float:
    if len(losses) == 0 or not np.isfinite(losses).all():
        return math.inf
    return float(np.mean(losses[-3:]))


def _lr_too_high(evidence: str, optimizer: str) -> Finding:
    return Finding(
        "lr_too_high", PROBLEM,
        f"{evidence}: the loss climbs or the ReLUs die and accuracy sticks near chance.",
        f"Recompile with `{optimizer}` and add `keras.callbacks.ReduceLROnPlateau()`.",
        NOTEBOOKS["learning_rate"])


def check_learning_rate(ctx: Context) -> list[Finding]:
    """Is the learning rate too high (the loss rises, or stays stuck at chance, ln K) or too low?

    Two measurements on the learner's model and optimizer, restored afterwards: ``PROBE_STEPS``
    steps at the current rate and at ``LOWER_BY`` times less from the same start (stuck at ln K
    or rising while the lower rate learns: too high); then, unless the loss already falls fast at
    the current rate, an LR range test of ``lr_test_steps`` steps from 1e-6 to 1 (far from where
    the loss falls fastest: too high or too low).
    """
    if not ctx.run_lr_test:
        return []
    if not ctx.compiled:
        ctx.notes.append("learning rate: the probe trains with the model's own optimizer and "
                         "loss; compile it (model.compile(optimizer=..., loss=...)) and run "
                         "diagnose again.")
        return []
    if not ctx.model.trainable_weights:
        return []  # nothing to train: checks_model's nothing_trainable says so
    loss_fn = _loss_fn(ctx.model.loss)
    current = ctx.lr
    if loss_fn is None or current is None or not current > 0:
        ctx.notes.append(f"learning rate: not probed (loss {ctx.model.loss!r}, learning rate "
                         f"{current!r}): the probe needs one loss and a numeric learning rate.")
        return []
    trainer = None
    try:
        trainer = _Trainer(ctx, loss_fn)
        return _probe(ctx, trainer)
    except Exception as error:
        ctx.notes.append(f"learning rate: the probe could not train this model "
                         f"({why(error, 160)}"
                         f"); the "
                         "learning rate was not checked.")
        return []
    finally:
        if trainer is not None:
            trainer.reset()


def _probe(ctx: Context, trainer: _Trainer) -> list[Finding]:
    current = ctx.lr
    trainer.reset()
    spread_start = trainer.spread()
    at_current = trainer.run([current] * PROBE_STEPS, seed=1)
    spread_current = trainer.spread()
    lower = current / LOWER_BY
    at_lower = trainer.run([lower] * PROBE_STEPS, seed=1)
    spread_lower = trainer.spread()
    opt = ctx.optimizer_name
    k = max(ctx.n_classes, 2)
    chance = math.log(k)
    start = float(at_current[0]) if np.isfinite(at_current[0]) else math.inf
    cur, low = _tail(at_current), _tail(at_lower)
    scale = max(start, chance)
    peak = float(np.max(np.where(np.isfinite(at_current), at_current, np.inf)))
    spiked = peak > SPIKE * scale  # the loss exploded at some step
    rising = cur > 1.5 * scale
    stuck = cur >= STUCK * chance  # ... and then learned nothing
    collapsed = spread_current < COLLAPSED * max(spread_start, spread_lower)
    lower_fine = (math.isfinite(low) and low <= cur
                  and float(np.max(at_lower)) <= 1.5 * max(float(at_lower[0]), chance))
    learns_lower = low < BETTER * cur and low < STUCK * chance
    signs = []
    if not math.isfinite(cur):
        signs.append("the loss becomes non-finite (NaN/inf)")
    else:
        if spiked:
            signs.append(f"the loss jumps to {peak:.3g} (from {start:.3f})")
        if rising:
            signs.append(f"it ends at {cur:.3f}, above where it started")
        elif stuck:
            signs.append(f"it ends at {cur:.3f}, stuck near chance level ln({k}) = {chance:.3f}")
        if stuck and collapsed:
            signs.append(f"the outputs barely depend on the image any more (spread across "
                         f"images {spread_current:.1e}, vs {max(spread_start, spread_lower):.1e}"
                         " before / at the lower rate: dead ReLUs or saturated units)")
    too_high = lower_fine and (not math.isfinite(cur) or rising or (stuck and (
        spiked or collapsed or learns_lower)))
    if too_high:
        return [_lr_too_high(
            f"{PROBE_STEPS} training steps of {opt} at your learning rate {current:.1e} (on "
            f"the model's own weights, restored afterwards): {'; '.join(signs)}. The same "
            f"{PROBE_STEPS} steps at {lower:.1e} end at {low:.3f}",
            f"keras.optimizers.{opt}(learning_rate={lower:.0e})")]
    if math.isfinite(cur) and not spiked and cur <= LEARNS * start and cur < STUCK * chance:
        return []  # the loss falls fast at this rate: neither too high nor too low
    if current < FINE_TUNING_LR and _base_trainable(ctx):
        ctx.notes.append(f"learning rate: {current:.1e} is a fine-tuning rate for the trainable "
                         f"pretrained base; {PROBE_STEPS} steps at it end at {cur:.3f} "
                         f"(chance ln({k}) = {chance:.3f}), no sign that it is too high.")
        return []  # a range test would only say that it is low, as fine-tuning rates are
    lrs = np.geomspace(*LR_TEST_RANGE, ctx.lr_test_steps)
    raw = trainer.run(lrs, stop_on_blowup=True)
    lrs = lrs[: len(raw)]
    if len(raw) < 3:
        ctx.notes.append("learning rate: the LR range test stopped too early to judge.")
        return []
    losses = _smooth(raw)
    start = float(losses[0])
    finite = np.where(np.isfinite(losses), losses, np.inf)
    up = np.flatnonzero(finite > 1.3 * start)
    explode_lr = float(lrs[up[0]]) if len(up) else None
    best = int(np.argmin(finite))
    drop = 1 - float(finite[best]) / start if start > 0 else 0.0
    suggestion = float(lrs[best] / 10)
    test = (f"A {len(lrs)}-step LR range test ({LR_TEST_RANGE[0]:.0e} to "
            f"{LR_TEST_RANGE[1]:.0e}, {len(ctx.y)} samples, weights restored afterwards)")
    if drop >= 0.05 and best >= 3:  # the loss really fell: compare with the suggestion
        test += (f" finds the loss lowest at {lrs[best]:.1e} ({start:.3f} -> "
                 f"{finite[best]:.3f}), so it suggests {suggestion:.1e}")
        if current > LR_TOO_HIGH * suggestion:
            return [_lr_too_high(f"{test}; the current learning rate {current:.1e} is "
                                 f"{current / suggestion:.0f}x higher",
                                 f"keras.optimizers.{opt}(learning_rate={suggestion:.0e})")]
        if current >= suggestion / LR_TOO_LOW:
            return []
        if _base_trainable(ctx):
            ctx.notes.append(f"learning rate: {current:.1e} is far below the range test's "
                             f"{suggestion:.1e}, as expected when fine-tuning a pretrained base.")
            return []
        return [Finding(
            "lr_too_low", WARNING,
            f"{test}; the current learning rate {current:.1e} is {suggestion / current:.0f}x "
            "lower, so training crawls and plateaus early.",
            f"Recompile with `keras.optimizers.{opt}(learning_rate={suggestion:.0e})` and let "
            "`keras.callbacks.ReduceLROnPlateau()` lower it later.", NOTEBOOKS["learning_rate"])]
    if explode_lr is not None and current >= explode_lr:  # no descent, but a clear blow-up
        return [_lr_too_high(
            f"{test}: the loss rises from {start:.3f} to over {1.3 * start:.3f} by learning rate "
            f"{explode_lr:.1e}, and the current learning rate {current:.1e} is at or above that",
            f"keras.optimizers.{opt}(learning_rate={explode_lr / 100:.0e})")]
    stopped = (f" (stopped after {len(lrs)} steps, at {lrs[-1]:.1e}, where the loss blew up)"
               if len(lrs) < ctx.lr_test_steps else "")
    longer = (f" (try lr_test_steps={max(100, 3 * ctx.lr_test_steps)})"
              if ctx.lr_test_steps < 100 else "")
    ctx.notes.append(f"learning rate: inconclusive; in the {ctx.lr_test_steps}-step range test"
                     f"{stopped} the loss fell only {max(drop, 0):.0%}{longer}, and "
                     f"{PROBE_STEPS} steps at {current:.1e} ended at {cur:.3f} (chance "
                     f"ln({k}) = {chance:.3f}) vs {low:.3f} at {lower:.1e}: no sign that "
                     f"{current:.1e} is too high.")
    return []


def check_class_balance(ctx: Context) -> list[Finding]:
    """Max/min class count ratio of the labels."""
    counts = np.bincount(ctx.y_int, minlength=ctx.n_classes)
    present = counts[counts > 0]
    if len(present) < 2:
        return []
    missing = np.flatnonzero(counts == 0)
    ratio = float(present.max() / present.min())
    if ratio < IMBALANCE_RATIO and not len(missing):
        return []
    shown = ", ".join(f"{c}: {n}" for c, n in enumerate(counts[:20]))
    more = f" ... ({len(counts)} classes)" if len(counts) > 20 else ""
    lacking = (f"; classes {missing.tolist()} have no samples" if len(missing) else "")
    return [Finding(
        "class_imbalance", WARNING,
        f"Class counts {{{shown}{more}}}: the largest class has {ratio:.1f}x the samples of the "
        f"smallest{lacking}, so plain accuracy can look fine while rare classes are never "
        "predicted.",
        "Pass `class_weight=labkit.splits.class_weights(y)` to `model.fit` (or oversample the rare "
        "classes) and judge by balanced accuracy or macro F1, not accuracy.",
        NOTEBOOKS["imbalance"])]


def check_validation_split(ctx: Context) -> list[Finding]:
    """``fit(validation_split=...)`` on data grouped by class."""
    split = ctx.validation_split
    if split is None:
        return []
    y = ctx.y_int
    split_at = int(np.floor(len(y) * (1.0 - split)))
    train_cls, val_cls = np.unique(y[:split_at]), np.unique(y[split_at:])
    runs = 1 + int(np.count_nonzero(np.diff(y)))
    grouped = len(np.unique(y)) > 1 and runs == len(np.unique(y))
    unseen = np.setdiff1d(val_cls, train_cls)
    if not grouped and not len(unseen):
        return []
    tail = (f"validation_split={split} takes the last {len(y) - split_at} of {len(y)} samples "
            "before any shuffling")
    missing = len(np.unique(y)) - len(train_cls)
    if grouped:
        evidence = (f"y is grouped by class, and {tail}: they hold only class(es) "
                    f"{val_cls.tolist()[:10]}, and {missing} class(es) never reach training.")
    else:
        evidence = (f"{tail}, and they hold class(es) {unseen.tolist()[:10]} that never occur in "
                    "the training part.")
    return [Finding(
        "validation_split_order", PROBLEM, evidence,
        "Shuffle x and y together before fit (`idx = np.random.permutation(len(y))`) or split "
        "with labkit.splits.stratified_split(x, y, 0.2) and pass `validation_data=`.",
        NOTEBOOKS["validation_split"])]


CHECKS = [check_learning_rate, check_class_balance, check_validation_split]
