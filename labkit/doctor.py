"""The doctor: inspect a learner's model and data and name every failure mode of this course.

    report = labkit.doctor.diagnose(model, x_train, y_train, preprocess=preprocess)
    print(report)          # or just `report` as the last line of a notebook cell

Each check is a small function in ``CHECKS``; it reads a ``Context`` (the model, a sample of the
data, what the model and its pretrained base receive) and returns ``Finding`` objects, each with
the measured numbers, a one-sentence Keras 3 fix and the lesson that shows the failure.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from labkit import config, models  # noqa: F401  (config sets TF log level before TF import)
from labkit.splits import _labels, _same_length, validate_images

PROBLEM, WARNING = "problem", "warning"
NOTEBOOKS = {
    "preprocessing": "notebooks/01_preprocessing.ipynb",
    "unfrozen_base": "notebooks/02_unfrozen_base.ipynb",
    "learning_rate": "notebooks/03_learning_rate.ipynb",
    "small_images": "notebooks/04_small_images.ipynb",
    "imbalance": "notebooks/05_class_imbalance.ipynb",
    "validation_split": "notebooks/06_validation_split.ipynb",
    "head_loss": "notebooks/08_wrong_head_or_loss.ipynb",
    "channel_order": "notebooks/09_channel_order.ipynb",
    "batchnorm": "notebooks/10_batchnorm_finetuning.ipynb",
}
MAX_SAMPLES = 512  # statistics and the LR range test use at most this many images
LR_TEST_STEPS = 30
LR_TEST_RANGE = (1e-6, 1.0)
LR_TOO_HIGH = 10.0  # flag a learning rate this many times above the range test's suggestion
LR_TOO_LOW = 100.0  # ... or this many times below it
IMBALANCE_RATIO = 5.0
HIGH_FINETUNE_LR = 1e-4
CAFFE_MEAN_TOLERANCE = 30.0  # how far (in 0-255 units) base inputs may sit from caffe's mean


@dataclass(frozen=True)
class Finding:
    """One thing the doctor found: which check, how bad, the numbers, the fix, the lesson."""

    check: str
    severity: str  # "problem" or "warning"
    evidence: str
    fix: str
    notebook: str | None = None  # the lesson that shows this failure, where there is one

    def __str__(self) -> str:
        lines = [f"{self.severity.upper()} [{self.check}] {self.evidence}", f"    fix: {self.fix}"]
        if self.notebook:
            lines.append(f"    see: {self.notebook}")
        return "\n".join(lines)


@dataclass
class Report:
    """What ``diagnose`` found: ``findings`` (problems first), ``notes`` (skipped checks)."""

    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no finding is a problem (warnings allowed)."""
        return not self.problems

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == PROBLEM]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    @property
    def checks(self) -> list[str]:
        """The ids of the checks that found something, in report order."""
        return [f.check for f in self.findings]

    def __contains__(self, check: str) -> bool:
        return check in self.checks

    def _headline(self) -> str:
        if not self.findings:
            return "No problems found."
        n_p, n_w = len(self.problems), len(self.warnings)
        if not n_p:
            return f"No problems found, but {n_w} warning{'s' * (n_w != 1)}:"
        return (f"{n_p} problem{'s' * (n_p != 1)}, {n_w} warning{'s' * (n_w != 1)} "
                "(problems first):")

    def __str__(self) -> str:
        parts = [self._headline()] + [str(f) for f in self.findings]
        parts += [f"note: {n}" for n in self.notes]
        return "\n".join(parts)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        e = html.escape
        out = [f"<p><b>{e(self._headline())}</b></p>"]
        if self.findings:
            out.append("<table><tr><th>severity</th><th>check</th><th>evidence</th>"
                       "<th>fix</th><th>lesson</th></tr>")
            for f in self.findings:
                colour = "#c62828" if f.severity == PROBLEM else "#ef6c00"
                out.append(
                    f"<tr><td style='color:{colour}'><b>{e(f.severity)}</b></td>"
                    f"<td><code>{e(f.check)}</code></td><td>{e(f.evidence)}</td>"
                    f"<td>{e(f.fix)}</td><td>{e(f.notebook or '')}</td></tr>")
            out.append("</table>")
        if self.notes:
            out.append("<ul>" + "".join(f"<li>{e(n)}</li>" for n in self.notes) + "</ul>")
        return "".join(out)


# ---- what the doctor looks at ----------------------------------------------------------------
def _numpy(t) -> np.ndarray:
    import keras

    if hasattr(t, "numpy"):  # eager tensors and Keras variables
        return np.asarray(t.numpy())
    return np.asarray(keras.ops.convert_to_numpy(t))


def _act_name(layer) -> str | None:
    """The activation a layer applies, or None for layers that do not decide the output."""
    import keras

    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    act = getattr(layer, "activation", None)
    if act is None:
        return None
    return getattr(act, "__name__", type(act).__name__).lower()


def _loss_info(loss) -> tuple[str | None, bool, str]:
    """``(kind, from_logits, name)``; kind is ``"sparse"``, ``"categorical"``, ``"binary"``."""
    if loss is None or isinstance(loss, dict | list | tuple):
        return None, False, repr(loss)
    if isinstance(loss, str):
        name, from_logits = loss, False
    elif callable(loss) and hasattr(loss, "get_config") and not isinstance(loss, type):
        name = type(loss).__name__
        try:
            from_logits = bool(loss.get_config().get("from_logits", False))
        except Exception:  # a custom Loss without a config
            from_logits = False
    else:
        name, from_logits = getattr(loss, "__name__", repr(loss)), False
    key = name.lower().replace("_", "")
    if "sparsecategorical" in key:
        kind = "sparse"
    elif "categorical" in key:
        kind = "categorical"
    elif "binary" in key:
        kind = "binary"
    else:
        kind = None
    return kind, from_logits, name


def _fmt(values) -> str:
    return "[" + ", ".join(f"{v:.1f}" for v in values) + "]"


@dataclass
class Context:
    """Everything a check reads. Arrays are a seeded sample of at most ``MAX_SAMPLES`` images."""

    model: Any
    x: np.ndarray  # sample of the learner's images, as given
    y: np.ndarray  # sample of the learner's labels, as given (int or one-hot)
    y_int: np.ndarray  # all labels as class indices
    onehot: bool
    preprocess: Callable | None
    base_arg: Any
    validation_split: float | None
    lr_arg: float | None
    loss_arg: Any
    run_lr_test: bool
    lr_test_steps: int = LR_TEST_STEPS
    notes: list[str] = field(default_factory=list)

    # -- model facts --
    @cached_property
    def layers(self) -> list:
        return models.walk_layers(self.model)

    @property
    def compiled(self) -> bool:
        return bool(getattr(self.model, "compiled", False)) and \
            getattr(self.model, "optimizer", None) is not None

    @cached_property
    def lr(self) -> float | None:
        """The optimizer's learning rate if compiled, else the ``lr`` argument."""
        if self.compiled:
            try:
                return float(_numpy(self.model.optimizer.learning_rate))
            except Exception:
                return self.lr_arg
        return self.lr_arg

    @property
    def optimizer_name(self) -> str:
        return type(self.model.optimizer).__name__ if self.compiled else "the optimizer"

    @property
    def loss(self):
        return getattr(self.model, "loss", None) if self.compiled else self.loss_arg

    @cached_property
    def base(self):
        """The caffe/VGG-style base: ``base`` if given, else the (sub)model with block1_conv1."""
        if self.base_arg is not None:
            return self.base_arg
        if any(layer.name == "block1_conv1" for layer in self.model.layers):
            return self.model
        for layer in self.layers:
            if hasattr(layer, "layers") and any(s.name == "block1_conv1" for s in layer.layers):
                return layer
        return None

    @property
    def caffe_base(self) -> bool:
        base = self.base
        return base is not None and any(layer.name == "block1_conv1"
                                        for layer in models.walk_layers(base))

    @cached_property
    def n_classes(self) -> int:
        return int(self.y.shape[1]) if self.onehot else int(self.y_int.max()) + 1

    @cached_property
    def output_activation(self) -> str | None:
        for layer in reversed(self.layers):
            if hasattr(layer, "layers"):
                continue
            act = _act_name(layer)
            if act is not None:
                return act
        return None

    @cached_property
    def units(self) -> int | None:
        try:
            return int(self.model.outputs[0].shape[-1])
        except Exception:
            return None

    # -- what the layers receive --
    @cached_property
    def x_float(self) -> np.ndarray:
        return np.asarray(self.x, dtype=np.float32)

    @property
    def x_is_raw(self) -> bool:
        """0-255 pixels (not yet scaled or mean-subtracted)."""
        return float(self.x_float.min()) >= 0 and float(self.x_float.max()) > 1.5

    @cached_property
    def model_inputs(self) -> np.ndarray:
        """What the model's input layer receives: ``preprocess(x)`` or ``x``."""
        if self.preprocess is None:
            return self.x_float
        return _numpy(self.preprocess(self.x_float.copy())).astype(np.float32)

    @cached_property
    def caffe_reference(self) -> np.ndarray | None:
        """``caffe_preprocess(x)`` when ``x`` holds raw pixels: what a caffe base expects."""
        from labkit.models import caffe_preprocess

        return _numpy(caffe_preprocess(self.x_float.copy())) if self.x_is_raw else None

    def _probe(self, tensor) -> np.ndarray | None:
        import keras

        if len(self.model.inputs) != 1:
            return None
        try:
            probe = keras.Model(self.model.inputs[0], tensor)
            z = self.model_inputs  # eager calls: no tf.function retracing per diagnose()
            return np.concatenate([_numpy(probe(z[i : i + 128], training=False))
                                   for i in range(0, len(z), 128)])
        except Exception:
            return None

    def _input_of(self, layer) -> np.ndarray | None:
        """What a top-level layer (or a model nested one level down) receives, if computable."""
        nodes = getattr(layer, "_inbound_nodes", [])
        for node in nodes:
            tensors = getattr(node, "input_tensors", None)
            if tensors:
                out = self._probe(tensors[0])
                if out is not None:
                    return out
        return None

    @cached_property
    def base_inputs(self) -> np.ndarray:
        """What the caffe base's first conv receives (falls back to the model's inputs)."""
        base = self.base
        if base is self.model:
            got = self._input_of(self.model.get_layer("block1_conv1"))
        elif base is not None and any(layer is base for layer in self.model.layers):
            got = self._input_of(base)
        else:
            got = None
        return self.model_inputs if got is None else got

    @cached_property
    def caffe_mismatch(self) -> str | None:
        """How the base's inputs differ from caffe preprocessing in range (None: they match)."""
        z, ref = self.base_inputs, self.caffe_reference
        zmin, zmax, zmean = float(z.min()), float(z.max()), float(z.mean())
        if zmax - zmin <= 3.0:
            return "scaled to a unit range (0-1 or -1..1)"
        if zmin >= 0 and zmean > 50:
            return "raw pixels without the mean subtraction"
        if ref is not None:
            gap = abs(zmean - float(ref.mean()))
            spread = float(z.std()) / max(float(ref.std()), 1e-6)
            if gap > CAFFE_MEAN_TOLERANCE or not 1 / 3 <= spread <= 3:
                return f"off by {gap:.1f} in mean and x{spread:.2f} in spread from caffe"
            return None
        if np.abs(_channel_means(z)).max() > 80:
            return "far from zero-centred"
        return None

def _channel_means(a: np.ndarray) -> np.ndarray:
    return a.reshape(-1, a.shape[-1]).astype(np.float64).mean(0)


# ---- the checks ------------------------------------------------------------------------------
def check_input_range(ctx: Context) -> list[Finding]:
    """Raw 0-255 inputs to a scratch model; a caffe base fed anything but caffe preprocessing."""
    import keras

    nb = NOTEBOOKS["preprocessing"]
    if ctx.caffe_base:
        z = ctx.base_inputs
        seen = (f"the base's first conv block1_conv1 receives values in [{float(z.min()):.2f}, "
                f"{float(z.max()):.2f}] with per-channel means {_fmt(_channel_means(z))}")
        fix = ("Feed the base `keras.applications.vgg16.preprocess_input` (labkit.models."
               "caffe_preprocess) of 0-255 RGB images, at training and at prediction time.")
        ref = ctx.caffe_reference
        expect = ("caffe preprocessing (0-255 BGR minus the ImageNet means)" if ref is None else
                  f"caffe preprocessing of these images: [{float(ref.min()):.1f}, "
                  f"{float(ref.max()):.1f}], means {_fmt(_channel_means(ref))}")
        bad = ctx.caffe_mismatch
        if bad:
            return [Finding("base_preprocessing", PROBLEM,
                            f"A caffe/VGG-style base was pretrained on {expect}, but {seen}: "
                            f"{bad}.", fix, nb)]
        return []

    rescaling = [layer for layer in ctx.layers if isinstance(layer, keras.layers.Rescaling)
                 and np.all(np.abs(np.asarray(layer.scale, dtype=float)) <= 0.01)]
    received = ctx.model_inputs
    if rescaling and float(np.abs(received).max()) <= 1.5:
        return [Finding(
            "double_scaling", WARNING,
            f"The model's {rescaling[0].name} layer divides by "
            f"{1 / float(np.max(np.abs(rescaling[0].scale))):.0f}, but its inputs are already "
            f"in [{float(received.min()):.2f}, {float(received.max()):.2f}], so the first "
            f"layers see values below {float(np.abs(received).max()) * 0.01:.3f}.",
            "Scale once: feed 0-255 images to the model with the Rescaling layer, or drop the "
            "Rescaling layer (or the /255 in your preprocessing).", nb)]
    if ctx.preprocess is not None or not ctx.x_is_raw:
        return []
    scaling = (keras.layers.Rescaling, keras.layers.Normalization)
    if any(isinstance(layer, scaling) for layer in ctx.layers):
        return []
    first = next((layer for layer in ctx.model.layers if hasattr(layer, "kernel")), None)
    if first is not None:  # a Lambda or custom layer may scale: look at what the first conv gets
        seen = ctx._input_of(first)
        if seen is not None and float(np.abs(seen).max()) <= 1.5:
            return []
    xmax = float(ctx.x_float.max())
    return [Finding(
        "raw_inputs", WARNING,
        f"The model has no Rescaling or Normalization layer and x holds raw pixels in "
        f"[{float(ctx.x_float.min()):.0f}, {xmax:.0f}] (mean {float(ctx.x_float.mean()):.1f}); "
        f"Adam often copes with that, SGD usually stalls (this model: {ctx.optimizer_name}).",
        "Make `keras.layers.Rescaling(1/255)` the model's first layer, so training and "
        "prediction scale the pixels the same way.", nb)]


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    if a.std() < 1e-9 or b.std() < 1e-9:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def check_channel_order(ctx: Context) -> list[Finding]:
    """A caffe base fed RGB-order mean subtraction instead of BGR.

    Two votes: per-channel means (do they match caffe_rgb(x) rather than caffe(x)?) and, when
    the base sees the images at their own size, which of x's red/blue channels each of the
    base's first and last channels follows pixel by pixel. The pixel vote wins when it is clear.
    """
    from labkit.lessons.preprocessing import caffe_rgb

    if not ctx.caffe_base or ctx.caffe_reference is None:
        return []
    if ctx.caffe_mismatch:
        return []  # the range is wrong too: base_preprocessing says so, with the same fix
    z = ctx.base_inputs
    got = _channel_means(z)
    bgr = _channel_means(ctx.caffe_reference)
    rgb = _channel_means(_numpy(caffe_rgb(ctx.x_float.copy())))
    d_bgr, d_rgb = float(np.abs(got - bgr).max()), float(np.abs(got - rgb).max())
    means_say_rgb = float(np.abs(bgr - rgb).max()) >= 2.0 and d_rgb < min(0.5 * d_bgr, 10.0)
    evidence = (f"The base receives per-channel means {_fmt(got)}, which match mean subtraction "
                f"in RGB order {_fmt(rgb)} (off by {d_rgb:.1f}), not the BGR order the base was "
                f"trained on {_fmt(bgr)} (off by {d_bgr:.1f})")
    if z.shape == ctx.x_float.shape:
        x = ctx.x_float
        red_first = _corr(z[..., 0], x[..., 0]) - _corr(z[..., 0], x[..., 2])
        blue_last = _corr(z[..., 2], x[..., 2]) - _corr(z[..., 2], x[..., 0])
        if min(abs(red_first), abs(blue_last)) >= 0.1 and red_first * blue_last > 0:
            if red_first < 0:  # first channel follows blue: BGR, as trained
                return []
            means_say_rgb = True
            evidence = (f"Pixel by pixel, the base's first input channel follows x's red "
                        f"channel (correlation {red_first:.2f} higher than with blue) and its "
                        f"last follows blue ({blue_last:.2f} higher than with red), although "
                        f"the base was trained on BGR; means {_fmt(got)}, caffe {_fmt(bgr)}, "
                        f"RGB-order {_fmt(rgb)}")
    if not means_say_rgb:
        return []
    return [Finding(
        "channel_order", PROBLEM, evidence + ": red and blue are swapped.",
        "Use `keras.applications.vgg16.preprocess_input` (labkit.models.caffe_preprocess), which "
        "flips RGB to BGR before subtracting the ImageNet means.", NOTEBOOKS["channel_order"])]


def check_colour(ctx: Context) -> list[Finding]:
    """A caffe base fed grayscale copies of colour images."""
    from labkit.models import IMAGENET_BGR_MEANS

    if (not ctx.caffe_base or not ctx.x_is_raw or ctx.base_inputs.shape[-1] != 3
            or ctx.caffe_mismatch):
        return []
    x = ctx.x_float
    colour = float(np.abs(x - x.mean(-1, keepdims=True)).mean())
    pixels = ctx.base_inputs + np.asarray(IMAGENET_BGR_MEANS, np.float32)  # undo the means
    left = float(np.abs(pixels - pixels.mean(-1, keepdims=True)).mean())
    if colour < 5.0 or left > 0.05 * colour:
        return []
    return [Finding(
        "grayscale_inputs", PROBLEM,
        f"x has colour (pixels differ from their gray value by {colour:.1f} on average) but the "
        f"three channels the base receives differ by only {left:.2f}: the colour the base was "
        "trained on is gone.",
        "Feed the colour images straight to `keras.applications.vgg16.preprocess_input`, "
        "without converting them to grayscale first.", NOTEBOOKS["channel_order"])]


def _base_weights(ctx: Context) -> tuple[int, int]:
    """(trainable, total) parameters of the base, as the model will train them."""
    base = ctx.base
    if base is ctx.model:  # a flat VGG with the head's layers added after block5
        weights = [w for layer in base.layers if layer.name.startswith("block")
                   for w in layer.weights]
    else:
        weights = base.weights
    total = sum(int(np.prod(w.shape)) for w in weights)
    in_model = any(base is layer for layer in ctx.layers) or base is ctx.model
    trainable_ids = {id(w) for w in (ctx.model.trainable_weights if in_model
                                     else base.trainable_weights)}
    trainable = sum(int(np.prod(w.shape)) for w in weights if id(w) in trainable_ids)
    return trainable, total


def check_unfrozen_base(ctx: Context) -> list[Finding]:
    """A pretrained base left trainable at a learning rate meant for a fresh head."""
    if ctx.base is None:
        return []
    trainable, total = _base_weights(ctx)
    if not trainable:
        return []
    if ctx.lr is None:
        ctx.notes.append("unfrozen_base: the base is trainable, but the learning rate is unknown "
                         "(compile the model or pass lr=) so its size was not checked.")
        return []
    if ctx.lr < HIGH_FINETUNE_LR:
        return []
    return [Finding(
        "unfrozen_base", WARNING,
        f"{trainable:,} of the pretrained base's {total:,} parameters "
        f"({trainable / max(total, 1):.0%}) are trainable at learning rate {ctx.lr:.0e} "
        f"(>= {HIGH_FINETUNE_LR:.0e}); a fresh head's large early gradients will rewrite the "
        "pretrained features.",
        "Freeze the base (`base.trainable = False`) and train the head first, then unfreeze the "
        "top blocks (labkit.models.unfreeze_top_blocks(base, 2)) and recompile at a 100x lower "
        "learning rate such as 1e-5.", NOTEBOOKS["unfrozen_base"])]


def check_batchnorm(ctx: Context) -> list[Finding]:
    """A pretrained base (``base=`` or a nested model) whose BatchNorm layers will train."""
    from labkit.models import batchnorm_layers

    nested = [layer for layer in ctx.layers if hasattr(layer, "layers")]  # outermost first
    for sub in ([ctx.base_arg] if ctx.base_arg is not None else []) + nested:
        bns = batchnorm_layers(sub)
        trainable = [layer for layer in bns if layer.trainable]
        if not trainable:
            continue
        return [Finding(
            "batchnorm_updating", WARNING,
            f"{len(trainable)} of the {len(bns)} BatchNormalization layers inside the base "
            f"{sub.name!r} are trainable: during fit they normalise with each batch's statistics "
            "and overwrite the pretrained moving statistics (Keras 3's fit overrides "
            "base(x, training=False)).",
            "When fine-tuning, keep the BatchNorm layers frozen: after `base.trainable = True`, "
            "set `layer.trainable = False` on every BatchNormalization layer "
            "(labkit.lessons.batchnorm.freeze_batchnorm(base)), then recompile.",
            NOTEBOOKS["batchnorm"])]
    return []


def _clone_compiled(model):
    """A copy of a compiled model with the same weights, optimizer settings and loss."""
    from labkit.models import copy_model

    clone = copy_model(model)
    opt_config = model.optimizer.get_config()
    opt_config["learning_rate"] = float(_numpy(model.optimizer.learning_rate))  # no schedule
    optimizer = type(model.optimizer).from_config(opt_config)
    clone.compile(optimizer=optimizer, loss=model.loss, jit_compile=False)
    return clone


def check_learning_rate(ctx: Context) -> list[Finding]:
    """A short LR range test on a clone: is the current LR far from the suggestion?"""
    from labkit.train import lr_range_test, suggest_lr

    if not ctx.run_lr_test:
        return []
    if not ctx.compiled:
        ctx.notes.append("learning rate: the LR range test needs a compiled model; compile it "
                         "(model.compile(optimizer=..., loss=...)) and run diagnose again.")
        return []
    try:
        clone = _clone_compiled(ctx.model)
        lrs, losses = lr_range_test(clone, ctx.model_inputs, ctx.y, min_lr=LR_TEST_RANGE[0],
                                    max_lr=LR_TEST_RANGE[1], steps=ctx.lr_test_steps,
                                    batch_size=min(64, len(ctx.y)))
    except Exception as error:
        ctx.notes.append(f"learning rate: the LR range test could not run ({type(error).__name__}:"
                         f" {(str(error) or '').strip().partition(chr(10))[0][:160]}).")
        return []
    current = ctx.lr
    if current is None or len(losses) < 3:
        ctx.notes.append("learning rate: the LR range test stopped too early to judge.")
        return []
    start = float(losses[0])
    finite = np.where(np.isfinite(losses), losses, np.inf)
    rising = np.flatnonzero(finite > 1.3 * start)
    explode_lr = float(lrs[rising[0]]) if len(rising) else None
    best = int(np.argmin(finite))
    drop = 1 - float(finite[best]) / start if start > 0 else 0.0
    suggestion = suggest_lr(lrs, finite)
    test = (f"A {ctx.lr_test_steps}-step LR range test ({LR_TEST_RANGE[0]:.0e} to "
            f"{LR_TEST_RANGE[1]:.0e}, {len(ctx.y)} samples, on a copy of the model)")
    opt = ctx.optimizer_name
    if drop >= 0.05 and best >= 3:  # the loss really fell: compare with the suggestion
        test += (f" finds the loss lowest at {lrs[best]:.1e} ({start:.3f} -> "
                 f"{finite[best]:.3f}), so it suggests {suggestion:.1e}")
        if current > LR_TOO_HIGH * suggestion:
            return [_lr_too_high(f"{test}; the current learning rate {current:.1e} is "
                                 f"{current / suggestion:.0f}x higher",
                                 f"keras.optimizers.{opt}(learning_rate={suggestion:.0e})")]
        if current >= suggestion / LR_TOO_LOW:
            return []
        if ctx.base is not None and _base_weights(ctx)[0]:
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
    ctx.notes.append(f"learning rate: inconclusive; in the {ctx.lr_test_steps}-step range test "
                     f"the loss fell only {max(drop, 0):.0%} (too short for this model and data: "
                     "try lr_test_steps=100; or already trained) and did not blow up at "
                     f"{current:.1e}.")
    return []


def _lr_too_high(evidence: str, optimizer: str) -> Finding:
    return Finding(
        "lr_too_high", PROBLEM,
        f"{evidence}: the loss climbs or the ReLUs die and accuracy sticks near chance.",
        f"Recompile with `{optimizer}` and add `keras.callbacks.ReduceLROnPlateau()`.",
        NOTEBOOKS["learning_rate"])


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


def _spatial(shape) -> tuple[int, int] | None:
    if shape is None or len(shape) != 4 or shape[1] is None or shape[2] is None:
        return None
    return int(shape[1]), int(shape[2])


def check_feature_map(ctx: Context) -> list[Finding]:
    """Downsampled to a 1x1 feature map while the images are small."""
    import keras

    in_hw = _spatial(tuple(ctx.model.inputs[0].shape)) if ctx.model.inputs else None
    in_hw = in_hw or (int(ctx.x.shape[1]), int(ctx.x.shape[2]))
    maps = []
    for layer in ctx.layers:
        if isinstance(layer, keras.layers.InputLayer) or hasattr(layer, "layers"):
            continue
        try:
            hw = _spatial(tuple(layer.output.shape))
        except Exception:  # a layer used twice has no single output
            hw = None
        if hw:
            maps.append((layer.name, hw))
    if not maps or maps[-1][1] != (1, 1) or min(in_hw) > 64:
        return []
    sizes = [in_hw] + [hw for _, hw in maps]
    halvings = sum(1 for a, b in zip(sizes, sizes[1:], strict=False) if b[0] < a[0])
    return [Finding(
        "feature_map_1x1", PROBLEM,
        f"{in_hw[0]}x{in_hw[1]} inputs are downsampled {halvings} times to a 1x1 feature map "
        f"(after {maps[-1][0]}): the features keep no spatial layout and the deep blocks see "
        "mostly padding.",
        "Upsample the images inside the model (`keras.layers.Resizing(64, 64)` before the base) "
        "or cut the base earlier (labkit.models.cut_after(base, 'block3')).",
        NOTEBOOKS["small_images"])]


def check_head_loss_labels(ctx: Context) -> list[Finding]:
    """Output activation, loss, label format and number of units must agree."""
    act, units, n = ctx.output_activation, ctx.units, ctx.n_classes
    kind, from_logits, name = _loss_info(ctx.loss)
    found: list[Finding] = []

    def add(check: str, evidence: str, fix: str, severity: str = PROBLEM) -> None:
        found.append(Finding(check, severity, evidence, fix, NOTEBOOKS["head_loss"]))

    labels = (f"one-hot labels of width {n}" if ctx.onehot
              else f"integer labels 0..{int(ctx.y_int.max())}")
    if ctx.loss is None:
        ctx.notes.append("head/loss: the model is not compiled and no loss= was given, so only "
                         "the number of output units was checked.")
    elif kind is None:
        ctx.notes.append(f"head/loss: unknown loss {name!r}; activation/loss checks skipped.")
    if kind in ("sparse", "categorical") and act == "sigmoid" and n > 2:
        add("head_activation_loss",
            f"The output layer uses sigmoid but the loss is {name} over {n} classes: sigmoid "
            "scores each class on its own, so the outputs do not form one distribution (they "
            "do not sum to 1). Keras 3 on TensorFlow computes the loss from the logits behind "
            "the sigmoid, so training can look fine while probabilities and thresholds are "
            "wrong.",
            "Use `Dense(n_classes, activation='softmax')` for single-label classes.")
    if kind == "binary" and act == "softmax":
        add("head_activation_loss",
            f"The output layer uses softmax ({units} units) but the loss is {name}: "
            + ("a 1-unit softmax always outputs 1.0, so nothing is learned."
               if units == 1 else "Keras then reports binary accuracy per unit, not accuracy."),
            "Use softmax with sparse_categorical_crossentropy for one label per image, or "
            "`Dense(1, activation='sigmoid')` with binary_crossentropy for two classes.")
    if kind is not None and from_logits and act in ("softmax", "sigmoid"):
        add("from_logits",
            f"The loss {name} is configured with from_logits=True but the {units}-unit output "
            f"layer already applies {act}, so the loss applies it a second time.",
            f"Drop from_logits=True, or make the last layer linear (`Dense({units})`).")
    if kind is not None and not from_logits and act == "linear":
        add("from_logits",
            f"The {units}-unit output layer is linear (logits) but the loss {name} has "
            "from_logits=False, so it treats the logits as probabilities.",
            f"Use `keras.losses.{_loss_class(kind)}(from_logits=True)` or add "
            "activation='softmax' to the last layer.")
    if kind == "sparse" and ctx.onehot:
        add("label_format",
            f"The loss is {name} but y is one-hot ({n} columns); it expects integer "
            "class indices.",
            "Use loss='categorical_crossentropy', or pass y.argmax(axis=1).")
    if kind == "categorical" and not ctx.onehot:
        add("label_format",
            f"The loss is {name} but y holds {labels}; it expects one-hot rows.",
            "Use loss='sparse_categorical_crossentropy', or pass "
            "keras.utils.to_categorical(y).")
    if kind == "binary" and not ctx.onehot and n > 2:
        add("label_format",
            f"The loss is {name} but y holds {labels}: {n} classes, not 0/1.",
            "Use softmax with loss='sparse_categorical_crossentropy' for more than two classes.")
    if units is not None:
        binary_head = units == 1 and n <= 2 and act != "softmax" and kind in (None, "binary")
        if units < n and not binary_head:
            add("head_units",
                f"The output layer has {units} unit{'s' * (units != 1)} but y has {n} classes "
                f"({labels}).",
                f"End the model with `keras.layers.Dense({n}, activation='softmax')`.")
        elif units > n and not ctx.onehot:
            add("head_units",
                f"The output layer has {units} units but y holds only {n} classes ({labels}); "
                "fine if this y is a subset, otherwise the head is the wrong size.",
                f"End the model with `keras.layers.Dense({n}, activation='softmax')` unless the "
                "missing classes exist elsewhere.", WARNING)
    return found


def _loss_class(kind: str) -> str:
    return {"sparse": "SparseCategoricalCrossentropy", "categorical": "CategoricalCrossentropy",
            "binary": "BinaryCrossentropy"}[kind]


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


CHECKS: list[Callable[[Context], list[Finding]]] = [
    check_input_range,
    check_channel_order,
    check_colour,
    check_unfrozen_base,
    check_batchnorm,
    check_learning_rate,
    check_class_balance,
    check_feature_map,
    check_head_loss_labels,
    check_validation_split,
]


# ---- entry point -----------------------------------------------------------------------------
def _check_y(x: np.ndarray, y: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    """``(y as given, y as class indices, onehot)``, or a ValueError naming y and the fix."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()  # Keras accepts (N, 1) integer labels
    if y.ndim == 2:
        _same_length(x, y)
        if y.dtype.kind not in "uifb" or not np.isfinite(y).all() or (y < 0).any():
            raise ValueError(f"y has shape {y.shape} (one-hot?) but holds negative, NaN or "
                             "non-numeric values; one-hot rows must be 0/1 (or probabilities)")
        return y, y.argmax(axis=1).astype(np.int64), True
    y_int = _labels(y, "y")
    _same_length(x, y_int)
    return y_int, y_int, False


def diagnose(model, x, y, *, preprocess: Callable | None = None, base=None,
             validation_split: float | None = None, lr: float | None = None, loss=None,
             run_lr_test: bool = True, lr_test_steps: int = LR_TEST_STEPS) -> Report:
    """Inspect a model and its training data; report every failure mode of the course found.

    - ``x``: images (N, H, W, 3), uint8 0-255 or float, as you pass them to ``preprocess``
      (or straight to ``fit`` when ``preprocess`` is None); ``y``: int labels or one-hot rows.
    - ``preprocess``: the function applied to ``x`` before the model, e.g.
      ``keras.applications.vgg16.preprocess_input``.
    - ``base``: the pretrained base (found inside ``model`` when it has ``block1_conv1``; pass it
      for a flat model built from a base's layers, so its BatchNorm layers are checked too).
    - ``validation_split``, ``lr``, ``loss``: what you pass (or will pass) to fit/compile; the
      compiled model's own optimizer and loss win.
    - ``run_lr_test``: an LR range test of ``lr_test_steps`` batches on a copy of the model
      (compiled models only). 30 steps catch a learning rate where the loss blows up; a slowly
      learning model needs about 100 to show where its loss falls fastest.

    The model is not changed. Problems make ``report.ok`` False; warnings do not.
    """
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}. Fix: pass the "
                        "model you call fit on")
    validate_images(x, name="x")
    x = np.asarray(x)
    y_given, y_int, onehot = _check_y(x, y)
    if validation_split is not None and not 0 < validation_split < 1:
        raise ValueError(f"validation_split must be in (0, 1), got {validation_split!r}. Fix: "
                         "e.g. validation_split=0.2")
    if isinstance(lr_test_steps, bool) or not isinstance(lr_test_steps, int) \
            or lr_test_steps < 5:
        raise ValueError(f"lr_test_steps must be an int >= 5, got {lr_test_steps!r}. Fix: e.g. "
                         "lr_test_steps=100")
    if lr is not None and not lr > 0:
        raise ValueError(f"lr must be a positive learning rate, got {lr!r}. Fix: e.g. lr=1e-3")
    if preprocess is not None and not callable(preprocess):
        raise ValueError(f"preprocess must be a function on a batch of images, got "
                         f"{preprocess!r}. Fix: e.g. preprocess=keras.applications.vgg16."
                         "preprocess_input")
    try:
        model.inputs  # noqa: B018  (an unbuilt Sequential raises here)
    except (AttributeError, ValueError):
        model.build((None, *x.shape[1:]))  # what fit would do on the first batch
    if len(x) > MAX_SAMPLES:
        idx = np.sort(np.random.default_rng(0).choice(len(x), MAX_SAMPLES, replace=False))
        x_s, y_s = x[idx], y_given[idx]
    else:
        x_s, y_s = x, y_given
    ctx = Context(model=model, x=x_s, y=y_s, y_int=y_int, onehot=onehot, preprocess=preprocess,
                  base_arg=base, validation_split=validation_split, lr_arg=lr, loss_arg=loss,
                  run_lr_test=run_lr_test, lr_test_steps=lr_test_steps)
    findings: list[Finding] = []
    for check in CHECKS:
        findings.extend(check(ctx))
    findings.sort(key=lambda f: f.severity != PROBLEM)  # stable: problems first
    return Report(findings=findings, notes=ctx.notes)
