"""The doctor: inspect a learner's model and data and name every failure mode of this course.

    report = labkit.doctor.diagnose(model, x_train, y_train, preprocess=preprocess)
    report = labkit.doctor.diagnose(model, train_ds)   # a tf.data.Dataset of (images, labels)
    print(report)          # or just `report` as the last line of a notebook cell

Modules: ``report`` (Finding, Report), ``context`` (what the doctor looks at: the data sample,
the layers, the pretrained base, what each receives), and the checks grouped by what they
inspect: ``checks_inputs`` (preprocessing, scaling, channel order, colour), ``checks_model``
(head and loss, trainable base, BatchNorm, feature map) and ``checks_training`` (learning-rate
probe, class balance, validation split). Each finding carries the measured evidence, a Keras 3
fix and the lesson notebook that shows the failure. docs/doctor.md lists them all.
"""

from __future__ import annotations

from collections.abc import Callable

from labkit.doctor import checks_inputs, checks_model, checks_training
from labkit.doctor.checks_training import LR_TEST_STEPS
from labkit.doctor.context import MAX_SAMPLES, Context, load_data, model_inputs_of, why
from labkit.doctor.report import (
    INFO,
    NOTEBOOKS,
    PROBLEM,
    SEVERITIES,
    WARNING,
    Finding,
    Report,
    sort_findings,
)

__all__ = ["CHECKS", "INFO", "MAX_SAMPLES", "NOTEBOOKS", "PROBLEM", "SEVERITIES", "WARNING",
           "Finding", "Report", "diagnose"]

CHECKS = [*checks_inputs.CHECKS, *checks_model.CHECKS, *checks_training.CHECKS]


def _build(model, x) -> None:
    """Build an unbuilt model the way fit would: on the first images."""
    import keras

    if model.built:
        return
    try:
        if isinstance(model, keras.Sequential):
            model.build((None, *x.shape[1:]))
        else:
            model(x[:1], training=False)
    except Exception as error:
        shape = ", ".join(map(str, x.shape[1:]))
        raise ValueError(f"the model cannot be built on images of shape (N, {shape}) "
                         f"({why(error, 200)}"
                         f"). Fix: pass the "
                         "images as fit receives them (or the raw images with preprocess=)"
                         ) from error


def _check_shape(model, x) -> None:
    inputs = model_inputs_of(model)
    if len(inputs) != 1:
        return
    want = tuple(inputs[0].shape[1:])
    got = tuple(x.shape[1:])
    if len(want) != len(got) or any(w is not None and w != g for w, g in zip(want, got,
                                                                             strict=False)):
        shown = "x".join("?" if w is None else str(w) for w in want)
        raise ValueError(f"the model takes inputs of shape ({shown}) but the images are "
                         f"{'x'.join(map(str, got))}. Fix: pass the images you pass to fit "
                         "(resize them, or add keras.layers.Resizing to the model)")


def diagnose(model, x, y=None, *, preprocess: Callable | None = None, base=None,
             validation_split: float | None = None, lr: float | None = None, loss=None,
             run_lr_test: bool = True, lr_test_steps: int = LR_TEST_STEPS) -> Report:
    """Inspect a model and its training data; report every failure mode of the course found.

    - ``x``: images (N, H, W, 3), uint8 0-255 or float, as you pass them to ``preprocess``
      (or straight to ``fit`` when ``preprocess`` is None); ``y``: int labels or one-hot rows.
      Or ``x`` a ``tf.data.Dataset`` of (images, labels) as for ``fit`` and ``y=None``: the
      doctor reads its first ``MAX_SAMPLES`` images.
    - ``preprocess``: the function applied to ``x`` before the model, e.g.
      ``keras.applications.vgg16.preprocess_input``. Best: raw x and ``preprocess=``.
    - ``base``: the pretrained base (found by itself when nested or flat, by its layer names).
    - ``validation_split``, ``lr``, ``loss``: what you pass (or will pass) to fit/compile; the
      compiled model's own optimizer and loss win.
    - ``run_lr_test``: train the model briefly with its own optimizer (compiled models only) and
      restore every variable: 15 steps at the current learning rate and 30x lower, and an LR
      range test of ``lr_test_steps`` steps.

    The model is not changed (weights, trainable flags, compile state). Problems make
    ``report.ok`` False; warnings and infos do not. Bad arguments raise a ValueError or
    TypeError saying what to pass; a check that cannot run on a model adds a note instead.
    """
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}. Fix: pass the "
                        "model you call fit on")
    data = load_data(x, y)
    if validation_split is not None:
        if data.source == "dataset":
            raise ValueError("validation_split does not work with a tf.data.Dataset (Keras "
                             "fit refuses it too). Fix: split the data first and pass "
                             "validation_data=, or pass arrays x, y")
        if not 0 < validation_split < 1:
            raise ValueError(f"validation_split must be in (0, 1), got {validation_split!r}. "
                             "Fix: e.g. validation_split=0.2")
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
    if base is not None and not isinstance(base, keras.Model):
        raise TypeError(f"base must be the pretrained keras.Model, got {type(base).__name__}")
    ctx = Context(model=model, data=data, preprocess=preprocess, base_arg=base,
                  validation_split=validation_split, lr_arg=lr, loss_arg=loss,
                  run_lr_test=run_lr_test, lr_test_steps=lr_test_steps)
    try:
        received = ctx.model_inputs
    except Exception as error:
        raise ValueError(f"preprocess(x) failed ({why(error, 200)}). Fix: preprocess must take a "
                         "float32 batch of images (N, H, W, 3) and return the model's inputs, "
                         "e.g. keras.applications.vgg16.preprocess_input") from error
    if received.ndim != 4 or len(received) != len(ctx.x):
        raise ValueError(f"preprocess(x) returned shape {received.shape} for x of shape "
                         f"{ctx.x.shape}. Fix: return one image per input image, (N, H, W, C)")
    _build(model, received)
    _check_shape(model, received)
    findings: list[Finding] = []
    for check in CHECKS:
        try:
            findings.extend(check(ctx))
        except Exception as error:  # a model this check does not understand: say so, go on
            ctx.notes.append(f"{check.__name__} could not run on this model "
                             f"({why(error, 160)}"
                             f").")
    return Report(findings=sort_findings(findings), notes=ctx.notes)
