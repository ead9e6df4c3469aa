"""Checks of what the model receives: preprocessing, scaling, channel order, colour."""

from __future__ import annotations

import numpy as np

from labkit.doctor.context import Context, _channel_means, _fmt, _numpy
from labkit.doctor.report import INFO, NOTEBOOKS, PROBLEM, WARNING, Finding
from labkit.models import IMAGENET_BGR_MEANS

SMALL_SCALE = 0.01  # a Rescaling layer with |scale| at most this divides pixels by >= 100
RAW_RANGE_SLACK = 2.0  # caffe inputs + the means must land in [0, 255] within this slack
GRAY_FRACTION = 0.01  # channels "equal" when they differ by less than this share of the spread
CAFFE_FIX = ("Feed the base `keras.applications.vgg16.preprocess_input` (labkit.models."
             "caffe_preprocess) of 0-255 RGB images, at training and at prediction time: "
             "diagnose(model, x_raw, y, preprocess=keras.applications.vgg16.preprocess_input).")


def _rescalings(ctx: Context) -> list:
    import keras

    return [layer for layer in ctx.leaves if isinstance(layer, keras.layers.Rescaling)
            and np.all(np.abs(np.asarray(layer.scale, dtype=float)) <= SMALL_SCALE)]


def _first_weighted(ctx: Context):
    return next((layer for layer in ctx.leaves if getattr(layer, "kernel", None) is not None),
                None)


def _double_scaling(ctx: Context) -> list[Finding]:
    nb = NOTEBOOKS["preprocessing"]
    rescaling = _rescalings(ctx)
    fix = ("Scale once: feed 0-255 images to a model with one `keras.layers.Rescaling(1/255)`, "
           "or drop the Rescaling layer (or the /255 in your preprocessing).")
    if len(rescaling) >= 2:
        names = ", ".join(repr(layer.name) for layer in rescaling)
        first = _first_weighted(ctx)
        seen = ctx.received_by(first) if first is not None else None
        measured = ("" if seen is None else
                    f"; the first weighted layer {first.name!r} receives values in "
                    f"[{float(seen.min()):.4f}, {float(seen.max()):.4f}]")
        return [Finding(
            "double_scaling", WARNING,
            f"The model divides the pixels twice: {len(rescaling)} Rescaling layers ({names}) "
            f"each scale by at most {SMALL_SCALE}{measured}, so the first layers see values "
            "hundreds of times smaller than intended.", fix, nb)]
    received = ctx.model_inputs
    if rescaling and float(np.abs(received).max()) <= 1.5:
        return [Finding(
            "double_scaling", WARNING,
            f"The model's {rescaling[0].name} layer divides by "
            f"{1 / float(np.max(np.abs(rescaling[0].scale))):.0f}, but its inputs are already "
            f"in [{float(received.min()):.2f}, {float(received.max()):.2f}], so the first "
            f"layers see values below {float(np.abs(received).max()) * SMALL_SCALE:.3f}.",
            fix, nb)]
    return []


def check_input_range(ctx: Context) -> list[Finding]:
    """Raw 0-255 inputs to a scratch model; double scaling; a caffe base fed anything but caffe
    preprocessing."""
    import keras

    nb = NOTEBOOKS["preprocessing"]
    found = _double_scaling(ctx)
    if ctx.caffe_base:
        z = ctx.base_inputs
        first = ctx.base.first.name
        seen = (f"the base's first conv {first} receives values in [{float(z.min()):.2f}, "
                f"{float(z.max()):.2f}] (std {float(z.std()):.2f}) with per-channel means "
                f"{_fmt(_channel_means(z))}")
        ref = ctx.caffe_reference
        expect = ("caffe preprocessing (0-255 BGR minus the ImageNet means: about -124..152, "
                  "std about 60)" if ref is None else
                  f"caffe preprocessing of these images: [{float(ref.min()):.1f}, "
                  f"{float(ref.max()):.1f}], means {_fmt(_channel_means(ref))}")
        bad = ctx.caffe_mismatch
        if bad:
            found.append(Finding("base_preprocessing", PROBLEM,
                                 f"A caffe/VGG-style base was pretrained on {expect}, but "
                                 f"{seen}: {bad}.", CAFFE_FIX, nb))
        return found
    if found:
        return found
    if ctx.preprocess is not None or not ctx.x_is_raw:
        return []
    scaling = (keras.layers.Rescaling, keras.layers.Normalization)
    if any(isinstance(layer, scaling) for layer in ctx.leaves):
        return []
    first = _first_weighted(ctx)
    if first is not None:  # a Lambda, custom layer or call() may scale: what does it receive?
        seen_by_first = ctx.received_by(first)
        if seen_by_first is not None and float(np.abs(seen_by_first).max()) <= 1.5:
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


def _fits_pixels(z: np.ndarray, means) -> bool:
    """Would ``z + means`` be 0-255 pixels? (caffe inputs of real images always are)."""
    raw = z.reshape(-1, 3).astype(np.float64) + np.asarray(means, dtype=np.float64)
    return bool(raw.min() >= -RAW_RANGE_SLACK and raw.max() <= 255 + RAW_RANGE_SLACK)


def _channel_order_from_statistics(ctx: Context) -> list[Finding]:
    """x was preprocessed before the call: which mean vector makes it 0-255 pixels again?"""
    z = ctx.base_inputs
    bgr, rgb = IMAGENET_BGR_MEANS, IMAGENET_BGR_MEANS[::-1]
    if _fits_pixels(z, bgr) or not _fits_pixels(z, rgb):
        return []
    lo = z.reshape(-1, 3).min(0)
    hi = z.reshape(-1, 3).max(0)
    return [Finding(
        "channel_order", PROBLEM,
        f"The base receives values whose channel ranges {_fmt(lo)} to {_fmt(hi)} (means "
        f"{_fmt(_channel_means(z))}) only come from 0-255 pixels if the means were subtracted "
        f"in RGB order {_fmt(rgb)}: caffe's BGR order {_fmt(bgr)} would need pixels outside "
        "0-255. The base was trained on BGR: red and blue are swapped.",
        "Use `keras.applications.vgg16.preprocess_input` (labkit.models.caffe_preprocess), which "
        "flips RGB to BGR before subtracting the ImageNet means; better, pass the 0-255 images "
        "and preprocess= to the doctor.", NOTEBOOKS["channel_order"])]


def check_channel_order(ctx: Context) -> list[Finding]:
    """A caffe base fed RGB-order mean subtraction instead of BGR.

    With raw x: two votes, per-channel means (do they match caffe_rgb(x) rather than caffe(x)?)
    and, when the base sees the images at their own size, which of x's red/blue channels each of
    the base's first and last channels follows pixel by pixel. With x preprocessed before the
    call: which mean vector turns the base's inputs back into 0-255 pixels.
    """
    from labkit.lessons.preprocessing import caffe_rgb

    if not ctx.caffe_base or ctx.caffe_mismatch or ctx.base_inputs.shape[-1] != 3:
        return []  # a wrong range is base_preprocessing's finding, with the same fix
    if ctx.caffe_reference is None:
        return _channel_order_from_statistics(ctx)
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


def _gray_share(a: np.ndarray) -> float:
    """How much the channels of ``a`` differ per pixel, as a share of the overall spread
    (0: the three channels are the same image, up to a constant offset per channel)."""
    a = a.reshape(-1, a.shape[-1]).astype(np.float64)
    a = a - a.mean(0)
    spread = float(np.abs(a - a.mean()).mean())
    if spread < 1e-9:
        return 0.0
    return float(np.abs(a - a.mean(-1, keepdims=True)).mean()) / spread


def check_colour(ctx: Context) -> list[Finding]:
    """Grayscale images: x itself (loaded as grayscale and repeated to 3 channels), or colour
    images turned gray on the way into a pretrained colour base."""
    x = ctx.x_float
    if x.shape[-1] != 3:
        return []
    nb = NOTEBOOKS["channel_order"]
    share = _gray_share(x)
    if share < GRAY_FRACTION:
        pretrained = ctx.base is not None
        return [Finding(
            "grayscale_images", WARNING if pretrained else INFO,
            f"In all {len(x)} sampled images the three channels of x are the same image "
            f"(they differ by {share:.2%} of the pixel spread): the images were loaded as "
            "grayscale and repeated to 3 channels"
            + (", so the colour the pretrained base relies on is missing." if pretrained
               else "; fine if the images really are grayscale."),
            "If the files are colour, load them in colour: `keras.utils."
            "image_dataset_from_directory(..., color_mode='rgb')` (the default), "
            "`keras.utils.load_img(path)` without color_mode='grayscale', or cv2.imread without "
            "IMREAD_GRAYSCALE (then cv2.cvtColor(img, cv2.COLOR_BGR2RGB)).", nb)]
    if not ctx.caffe_base or not ctx.x_is_raw or ctx.base_inputs.shape[-1] != 3 \
            or ctx.caffe_mismatch:
        return []
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
        "without converting them to grayscale first.", nb)]


CHECKS = [check_input_range, check_channel_order, check_colour]
