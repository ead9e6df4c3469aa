"""``python -m labkit.dev.bench [--quick] [--json PATH]``: how fast the course runs on this machine.

Measures, each with a warm-up and the median of a few repeats:

- shapes: images per second that ``labkit.shapes.generate`` renders (no cache), 32x32 and 64x64;
- frozen base: one epoch of a head trained through the frozen MiniVGG base vs one epoch of the
  same head on cached features (``models.extract_features``), and the one-off extraction cost;
- scratch: seconds per epoch of ``models.scratch_cnn`` on 32x32 images;
- flops: the FLOP/s that scratch-CNN training achieves vs a float32 matmul (2048x2048) on the
  same machine (model FLOPs counted from its conv and dense layers; training = 3x forward);
- pipeline: training throughput of ``pipelines.make_pipeline`` (uint8 images, RandomFlip +
  RandomTranslation and 1/255 scaling in the pipeline) vs the legacy
  ``ImageDataGenerator(...).flow()`` doing the same work, feeding the same model; plus both
  pipelines alone (no model) and the model fed in-memory arrays (the ceiling for any pipeline);
- panel: seconds from ``RetrainPanel.start()`` (Train) to the first epoch drawn and to the run
  finished (final curves drawn), for the scratch panel at the quick profile's sizes and epochs;
- resolution panel: the same for the cached-features panel (``panels.resolution_panel``) with
  its defaults, after one warm-up run that fills the feature cache;
- the machine: CPU count, GPUs, TensorFlow and Keras versions.

It prints a table of figures and never asserts timings: they depend on the machine and its load.
Like a notebook, it seeds everything first (deterministic TF ops), so the figures are the ones a
learner sees. ``markdown_table(figures)`` renders the same table for the README.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from labkit import config  # noqa: F401  (sets TF log level before TF is imported)

Figures = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Settings:
    """How much work each measurement does."""

    repeats: int = 3  # timed repeats after the warm-up; the figure is their median
    shapes_images: int = 2048  # images per timed shapes.generate call
    head_images: int = 2000  # 64x64 images for the frozen-base head comparison
    scratch_images: int = 2000  # 32x32 images for the scratch CNN
    pipeline_images: int = 2000  # 32x32 images per epoch for the tf.data vs legacy comparison
    pipeline_repeats: int = 5  # epochs timed in turns (the overhead it measures is a few percent)
    panel_repeats: int = 5  # later clicks of each panel (a click's time varies run to run)
    autotune_blocks: int = 4  # turns of the autotuner comparison: a process per feed and turn
    autotune_epochs: int = 4  # epochs per turn (one fit: its pipeline keeps its iterator)
    matmul_size: int = 2048  # side of the float32 matmul that measures the peak
    matmul_repeats: int = 10
    # Panels run on the quick profile's lesson data; None: the profile's own sizes and epochs.
    panel_train: int | None = None
    panel_val: int | None = None
    panel_test: int | None = None
    panel_epochs: int | None = None  # scratch panel (default: QUICK.epochs)
    head_panel_epochs: int | None = None  # resolution panel (default: QUICK.head_epochs)


FULL_SETTINGS = Settings()
QUICK_SETTINGS = Settings(repeats=1, shapes_images=512, head_images=256, scratch_images=256,
                          pipeline_images=256, pipeline_repeats=1, panel_repeats=1,
                          autotune_blocks=1, autotune_epochs=2,
                          matmul_size=1024,
                          matmul_repeats=3,
                          panel_train=200, panel_val=50, panel_test=50, panel_epochs=2,
                          head_panel_epochs=3)


def _median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def _timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _log(text: str) -> None:
    print(f"[bench] {text}", file=sys.stderr, flush=True)


def _epoch_times_callback():
    import keras

    class EpochTimes(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self._t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._t)

    return EpochTimes()


def _epoch_seconds(model, x, y=None, repeats: int = 1, batch_size: int | None = 64) -> float:
    """Median wall time of one epoch, after one warm-up epoch (graph tracing).

    ``x`` may be arrays (with ``y``) or a dataset/generator that yields batches (``y=None``).
    """
    times = _epoch_times_callback()
    arrays = y is not None  # a pipeline shuffles itself (Keras would warn, or reorder batches)
    model.fit(x, y, epochs=1 + repeats, batch_size=batch_size if arrays else None,
              shuffle=arrays, callbacks=[times], verbose=0)
    return _median(times.seconds[1:])


# -- measurements ----------------------------------------------------------------------------
def machine() -> Figures:
    """CPU count, GPUs TensorFlow sees, library versions."""
    import keras
    import numpy as np
    import tensorflow as tf

    return {
        "cpu_count": os.cpu_count() or 1,
        "gpus": config.gpu_names(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def bench_shapes(s: Settings) -> Figures:
    """Images per second of ``shapes.generate`` (no cache) at 32x32 and 64x64."""
    from labkit import shapes

    out: Figures = {"images": s.shapes_images,
                    "threads": min(os.cpu_count() or 1, -(-s.shapes_images // shapes.CHUNK))}
    for size in (32, 64):
        shapes.generate(min(s.shapes_images, shapes.CHUNK), size, seed=1)  # warm-up
        seconds = [_timed(lambda size=size, r=r: shapes.generate(s.shapes_images, size, seed=2 + r))
                   for r in range(s.repeats)]
        out[f"images_per_s_{size}"] = s.shapes_images / _median(seconds)
    return out


def bench_frozen_head(s: Settings) -> Figures:
    """One head epoch through the frozen MiniVGG base vs on cached features, at 64x64."""
    from labkit import models, shapes

    n_classes = len(shapes.TARGET_CLASSES)
    x, y = shapes.generate(s.head_images, 64, seed=3)
    base, preprocess = models.backbone("minivgg", input_shape=(64, 64, 3))
    models.freeze(base)

    x_pre = preprocess(x).numpy()  # both paths get preprocessed pixels; only the base differs
    through = models.compile_classifier(models.attach_head(base, n_classes))
    through_s = _epoch_seconds(through, x_pre, y, s.repeats)

    def extract() -> None:
        models._FEATURE_CACHE.clear()  # measure the real work, not the memo
        models.extract_features(base, x, preprocess)

    models.extract_features(base, x[: min(len(x), 256)], preprocess)  # warm-up
    extraction_s = _median([_timed(extract) for _ in range(s.repeats)])
    feats = models.extract_features(base, x, preprocess)  # memoised now
    head = models.compile_classifier(models.classifier_head(feats.shape[1:], n_classes))
    cached_s = _epoch_seconds(head, feats, y, s.repeats)
    saved = through_s - cached_s
    return {
        "images": s.head_images,
        "size": 64,
        "feature_shape": "x".join(str(d) for d in feats.shape[1:]),
        "through_base_s_per_epoch": through_s,
        "cached_features_s_per_epoch": cached_s,
        "speedup": through_s / cached_s,
        "extraction_s": extraction_s,
        "break_even_epochs": extraction_s / saved if saved > 0 else None,  # None: never
    }


def bench_scratch(s: Settings) -> Figures:
    """Seconds per epoch of the lessons' from-scratch CNN on 32x32 images."""
    from labkit import models, shapes

    x, y = shapes.generate(s.scratch_images, 32, seed=4)
    model = models.compile_classifier(models.scratch_cnn((32, 32, 3), len(shapes.TARGET_CLASSES)))
    seconds = _epoch_seconds(model, x, y, s.repeats)
    return {"images": s.scratch_images, "size": 32, "s_per_epoch": seconds,
            "images_per_s": s.scratch_images / seconds}


STALL = 1.2  # an epoch this many times the autotuner-off median counts as stalled


def autotune_epochs(autotune: bool, images: int, epochs: int) -> list[float]:
    """Epoch seconds of the scratch CNN fed an endless uint8 pipeline for ``epochs`` epochs,
    after a tracing epoch: ``make_pipeline`` (fixed sizes, tf.data's autotuner off) or the same
    pipeline with the autotuner on (``prefetch(AUTOTUNE)``, as ``make_pipeline`` was)."""
    import tensorflow as tf

    from labkit import models, pipelines, shapes

    x, y = shapes.generate(images, 32, seed=4)
    if autotune:
        feed = (tf.data.Dataset.from_tensor_slices((x, y)).cache()
                .shuffle(len(y), seed=0).batch(64).repeat().prefetch(tf.data.AUTOTUNE))
    else:
        feed = pipelines.make_pipeline(x, y, 64, seed=0, repeat=True)
    config.seed_everything(config.DEFAULT_SEED)
    model = models.compile_classifier(models.scratch_cnn((32, 32, 3), len(shapes.TARGET_CLASSES)))
    times = _epoch_times_callback()
    model.fit(feed, steps_per_epoch=pipelines.steps_per_pass(len(x), 64), epochs=1 + epochs,
              callbacks=[times], verbose=0)
    return times.seconds[1:]


def bench_autotune(s: Settings) -> Figures:
    """``autotune_epochs`` with the autotuner off and on, each block in a process of its own
    (a live pipeline's autotuner threads would slow the other feed too), blocks in turns; how
    many epochs stall (``STALL`` x the off median)."""
    import subprocess

    seconds: dict[str, list[float]] = {"off": [], "on": []}
    for _ in range(s.autotune_blocks):
        for name in seconds:
            code = ("import json, sys; from labkit.dev.bench import autotune_epochs; "
                    f"print(json.dumps(autotune_epochs({name == 'on'}, {s.scratch_images}, "
                    f"{s.autotune_epochs})))")
            proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
            seconds[name] += json.loads(proc.stdout.strip().splitlines()[-1])
    off = _median(seconds["off"])
    out: Figures = {"images": s.scratch_images, "epochs_each": len(seconds["off"])}
    for name, values in seconds.items():
        out[f"{name}_s_per_epoch"] = _median(values)
        out[f"{name}_stalled_epochs"] = sum(value >= STALL * off for value in values)
    return out


def _forward_flops(model) -> int:
    """Multiply-adds x 2 of one image's forward pass through the conv and dense layers.

    Activations, pooling and rescaling are left out (a rounding error next to the convs).
    """
    import keras

    flops = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            kh, kw, c_in, c_out = layer.kernel.shape
            _, h, w, _ = layer.output.shape
            flops += 2 * h * w * kh * kw * c_in * c_out
        elif isinstance(layer, keras.layers.Dense):
            flops += 2 * layer.kernel.shape[0] * layer.kernel.shape[1]
    return int(flops)


def _matmul_flops_per_s(n: int, repeats: int) -> float:
    """float32 FLOP/s of ``tf.linalg.matmul`` on two n x n matrices (median, after a warm-up)."""
    import tensorflow as tf

    a = tf.random.stateless_uniform((n, n), seed=(1, 2), dtype=tf.float32)
    b = tf.random.stateless_uniform((n, n), seed=(3, 4), dtype=tf.float32)

    def once() -> None:
        float(tf.reduce_sum(tf.linalg.matmul(a, b)[:1, :1]))  # waits for the result (GPU too)

    once()
    return 2 * n**3 / _median([_timed(once) for _ in range(repeats)])


def bench_flops(s: Settings, scratch: Figures) -> Figures:
    """Achieved FLOP/s of scratch-CNN training (from ``bench_scratch``) vs a matmul's."""
    from labkit import models, shapes

    model = models.scratch_cnn((32, 32, 3), len(shapes.TARGET_CLASSES))
    forward = _forward_flops(model)
    train = 3 * forward  # forward + backward (gradients w.r.t. inputs and weights): ~3x
    achieved = scratch["images_per_s"] * train
    peak = _matmul_flops_per_s(s.matmul_size, s.matmul_repeats)
    return {"forward_flops_per_image": forward, "train_flops_per_image": train,
            "achieved_flops_per_s": achieved, "matmul_size": s.matmul_size,
            "matmul_flops_per_s": peak, "fraction_of_matmul": achieved / peak}


def _augmenter():
    """The pipeline's augmentation, matching ImageDataGenerator's flip and 10% shifts.

    ``fill_mode="nearest"`` and bilinear interpolation are ImageDataGenerator's defaults.
    """
    import keras

    return keras.Sequential([keras.layers.RandomFlip("horizontal"),
                             keras.layers.RandomTranslation(0.1, 0.1, fill_mode="nearest")],
                            name="augment")


def _scale(batch):
    return batch * (1.0 / 255.0)


def _legacy_flow(x, y, batch_size: int, seed: int):
    """The classic Keras 2 pipeline: rescale, flip and shift per image in NumPy/SciPy."""
    import tensorflow as tf

    datagen = tf.keras.preprocessing.image.ImageDataGenerator(
        rescale=1.0 / 255, horizontal_flip=True, width_shift_range=0.1, height_shift_range=0.1)
    return datagen.flow(x, y, batch_size=batch_size, seed=seed)


def _interleaved_epoch_seconds(runs: dict[str, tuple[Any, Any, Any, int | None]], repeats: int,
                               batch_size: int) -> dict[str, float]:
    """Median steady-state epoch seconds of each ``name: (model, x, y, steps_per_epoch)``,
    taken in turns.

    Every model first trains one untimed epoch (graph tracing); then each repeat fits two
    epochs of every model in turn, so a change in background load hits them all alike, and
    keeps the second: the epoch of a run under way (an endless pipeline with
    ``steps_per_epoch`` keeps its iterator; arrays get a new one every epoch in any case).
    """
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for repeat in range(1 + repeats):
        for name, (model, x, y, steps) in runs.items():
            times = _epoch_times_callback()
            arrays = y is not None  # a pipeline shuffles itself
            model.fit(x, y, epochs=1 if not repeat else 2,
                      batch_size=batch_size if arrays else None, steps_per_epoch=steps,
                      shuffle=arrays, callbacks=[times], verbose=0)
            if repeat:
                seconds[name].append(times.seconds[-1])
    return {name: _median(values) for name, values in seconds.items()}


def _iterate_seconds(epoch: Callable[[], None], repeats: int) -> float:
    """Median seconds of ``epoch()`` after one warm-up call."""
    epoch()
    return _median([_timed(epoch) for _ in range(repeats)])


def bench_pipeline(s: Settings) -> Figures:
    """tf.data ``make_pipeline`` vs legacy ``ImageDataGenerator.flow``, feeding the scratch CNN.

    Both start from the same uint8 32x32 images and do the same work per epoch: 1/255 scaling,
    a random horizontal flip and a random shift of up to 10% each way, batches of 64. Both feed
    the same model (``scratch_cnn`` without its Rescaling layer, same initial weights).
    """
    import importlib.util

    from labkit import models, pipelines, shapes

    batch = 64
    n_classes = len(shapes.TARGET_CLASSES)
    x, y = shapes.generate(s.pipeline_images, 32, seed=5)

    def model():
        config.seed_everything(config.DEFAULT_SEED)  # the same initial weights for every run
        return models.compile_classifier(models.scratch_cnn((32, 32, 3), n_classes,
                                                            rescale=None))

    def tf_data(repeat: bool = False):
        return pipelines.make_pipeline(x, y, batch_size=batch, augment=_augmenter(),
                                       preprocess=_scale, seed=0, repeat=repeat)

    out: Figures = {"images": s.pipeline_images, "size": 32, "batch_size": batch,
                    "epochs_timed": s.pipeline_repeats}
    have_scipy = importlib.util.find_spec("scipy") is not None  # the legacy shifts need it
    if not have_scipy:
        out["legacy_skipped"] = "ImageDataGenerator shifts need SciPy: pip install scipy"
    steps = pipelines.steps_per_pass(len(x), batch)
    feeds: dict[str, tuple[Any, Any, int | None]] = {
        "tf_data": (tf_data(repeat=True), None, steps),  # as train.fit_with feeds it
        "in_memory": (_scale(x.astype("float32")), y, None)}
    if have_scipy:
        feeds["legacy"] = (_legacy_flow(x, y, batch, seed=0), None, None)
    fitted = {name: (model(), *feed) for name, feed in feeds.items()}
    for name, seconds in _interleaved_epoch_seconds(fitted, s.pipeline_repeats, batch).items():
        out[f"{name}_s_per_epoch"] = seconds

    pipeline = tf_data()

    def drain_tf_data() -> None:
        for _ in pipeline:
            pass

    out["tf_data_alone_s_per_epoch"] = _iterate_seconds(drain_tf_data, s.repeats)
    out["parts_images_per_s"] = _pipeline_parts(x, y, batch, s.repeats)
    if have_scipy:
        flow = _legacy_flow(x, y, batch, seed=0)

        def drain_legacy() -> None:
            for i in range(len(flow)):
                flow[i]
            flow.on_epoch_end()

        out["legacy_alone_s_per_epoch"] = _iterate_seconds(drain_legacy, s.repeats)
    for key in [k for k in out if k.endswith("_s_per_epoch")]:
        out[key.replace("_s_per_epoch", "_images_per_s")] = s.pipeline_images / out[key]
    if "legacy_s_per_epoch" in out:
        out["speedup"] = out["legacy_s_per_epoch"] / out["tf_data_s_per_epoch"]
        out["alone_speedup"] = out["legacy_alone_s_per_epoch"] / out["tf_data_alone_s_per_epoch"]
        # No pipeline can beat the model fed from memory: the most any speed-up can be here.
        out["max_speedup"] = out["legacy_s_per_epoch"] / out["in_memory_s_per_epoch"]
    return out


PIPELINE_PARTS = ("uint8 batches", "+ cast and 1/255", "+ RandomFlip", "+ RandomTranslation")


def _pipeline_parts(x, y, batch: int, repeats: int) -> dict[str, float]:
    """Images per second of ``make_pipeline`` alone as its steps are added (``PIPELINE_PARTS``):
    which step costs what, and so how much of the augmented pipeline's overhead is the
    augmentation's own arithmetic, which no threading or caching can remove on busy cores."""
    import keras

    from labkit import pipelines

    flip = keras.layers.RandomFlip("horizontal")
    steps = ({}, {"preprocess": _scale}, {"augment": flip, "preprocess": _scale},
             {"augment": _augmenter(), "preprocess": _scale})
    out = {}
    for name, kwargs in zip(PIPELINE_PARTS, steps, strict=True):
        pipeline = pipelines.make_pipeline(x, y, batch_size=batch, seed=0, **kwargs)

        def drain(pipeline=pipeline) -> None:
            for _ in pipeline:
                pass

        out[name] = len(x) / _iterate_seconds(drain, repeats)
    return out


def _panel_click(panel, timeout: float = 600.0) -> tuple[float, float]:
    """Click Train once; seconds to the first epoch's curves drawn and to the run finished.

    The run is finished once its thread has drawn the last epoch's curves, the runs table and
    the comparison plot: that is the "final curve" a learner waits for.
    """
    first: list[float] = []
    lock = threading.Lock()

    def drawn(change) -> None:
        with lock:
            if change["new"] and not first:
                first.append(time.perf_counter())

    panel.live_out.observe(drawn, names="outputs")
    try:
        runs_before = len(panel.runs)
        started = time.perf_counter()
        if not panel.start():
            raise RuntimeError("RetrainPanel.start() refused: a run is already in progress")
        if not panel.wait(timeout):
            panel.stop()
            raise RuntimeError(f"panel run did not finish within {timeout:.0f} s")
        finished = time.perf_counter()
    finally:
        panel.live_out.unobserve(drawn, names="outputs")
    if len(panel.runs) != runs_before + 1 or not first:
        raise RuntimeError(f"panel run failed: {panel.status.value}")
    return first[0] - started, finished - started


def _panel_lab(s: Settings):
    """The quick profile's lab and lesson data (sizes shrunk only where ``s`` says so)."""
    from labkit import session
    from labkit.config import QUICK
    from labkit.lessondata import load_lesson_data

    lab = session.setup("quick", quiet=True)
    profile = dataclasses.replace(QUICK, n_train=s.panel_train or QUICK.n_train,
                                  n_val=s.panel_val or QUICK.n_val,
                                  n_test=s.panel_test or QUICK.n_test)
    return lab, load_lesson_data(profile, seed=lab.seed)


def _check_epochs(panel, epochs: int) -> None:
    trained = {run.epochs for run in panel.runs}
    if trained != {epochs}:
        raise RuntimeError(f"panel runs trained {sorted(trained)} epochs, not {epochs}")


def _click_breakdown(panel) -> Figures:
    """One more click of ``panel``, timed part by part: seconds before training starts (build
    the model, adopt a warm one), the first epoch's extra over a later one (kernel set-up),
    training steps, validation, live drawing (on its own thread, overlapping training) and the
    final figures after training (last live figure, runs table, comparison plot)."""
    import keras

    marks: dict[str, Any] = {"epochs": [], "validation": [], "drawing": []}

    class Marks(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            marks["train_begin"] = time.perf_counter()

        def on_epoch_begin(self, epoch, logs=None):
            marks["epoch"] = time.perf_counter()

        def on_test_begin(self, logs=None):
            marks["test"] = time.perf_counter()

        def on_test_end(self, logs=None):
            marks["validation"].append(time.perf_counter() - marks["test"])

        def on_epoch_end(self, epoch, logs=None):
            marks["epochs"].append(time.perf_counter() - marks["epoch"])

        def on_train_end(self, logs=None):
            marks["train_end"] = time.perf_counter()

    train_fn, draw_live = panel.train_fn, panel._draw_live

    def timed_draw(*args, **kwargs):
        started = time.perf_counter()
        draw_live(*args, **kwargs)
        marks["drawing"].append(time.perf_counter() - started)

    panel.train_fn = lambda settings, callbacks: train_fn(settings, [Marks(), *callbacks])
    panel._draw_live = timed_draw
    try:
        started = time.perf_counter()
        _panel_click(panel)
        finished = time.perf_counter()
    finally:
        panel.train_fn, panel._draw_live = train_fn, draw_live
    validation = marks["validation"] or [0.0] * len(marks["epochs"])
    steps = [epoch - val for epoch, val in zip(marks["epochs"], validation, strict=True)]

    def first_extra(parts: list[float]) -> float:  # the first epoch's tracing, if any
        return max(parts[0] - _median(parts[1:]), 0.0) if len(parts) > 1 else 0.0

    return {
        "total_s": finished - started,
        "before_training_s": marks["train_begin"] - started,
        "first_epoch_extra_s": first_extra(steps) + first_extra(validation),
        "training_steps_s": sum(steps) - first_extra(steps),
        "validation_s": sum(validation) - first_extra(validation),
        "live_drawing_s": sum(marks["drawing"]),
        "live_draws": len(marks["drawing"]),
        "after_training_s": finished - marks["train_end"],
    }


def bench_panel(s: Settings) -> Figures:
    """Latency of the lessons' scratch RetrainPanel: first click (cold) and later clicks, and
    where a later click's time goes (``_click_breakdown``)."""
    from labkit import panels

    lab, data = _panel_lab(s)
    panel = panels.scratch_panel(lab, data, title="bench")
    epochs = s.panel_epochs or lab.profile.epochs
    panel.controls["epochs"].value = epochs
    cold_first, cold_done = _panel_click(panel)
    warm = [_panel_click(panel) for _ in range(s.panel_repeats)]
    breakdown = _click_breakdown(panel)
    _check_epochs(panel, epochs)
    return {
        "train_images": len(data.x_train),
        "val_images": len(data.x_val),
        "epochs": epochs,
        "first_click_to_first_epoch_s": cold_first,
        "first_click_to_done_s": cold_done,
        "to_first_epoch_s": _median([w[0] for w in warm]),
        "to_done_s": _median([w[1] for w in warm]),
        "breakdown": breakdown,
    }


def bench_resolution_panel(s: Settings) -> Figures:
    """Latency of the cached-features panel (``resolution_panel``, default controls).

    The first click extracts the frozen-base features (warm-up); later clicks find them in the
    feature cache and only train the head.
    """
    from labkit import panels

    lab, data = _panel_lab(s)
    panel = panels.resolution_panel(lab, data)
    if s.head_panel_epochs:
        panel.controls["epochs"].value = s.head_panel_epochs
    settings = panel.settings()
    warm_up_first, warm_up_done = _panel_click(panel)
    clicks = [_panel_click(panel) for _ in range(s.panel_repeats)]
    _check_epochs(panel, settings["epochs"])
    return {
        "train_images": len(data.x_train),
        "val_images": len(data.x_val),
        "epochs": settings["epochs"],
        "size": settings["size"],
        "cut": settings["cut"],
        "warm_up_to_done_s": warm_up_done,
        "to_first_epoch_s": _median([c[0] for c in clicks]),
        "to_done_s": _median([c[1] for c in clicks]),
        "breakdown": _click_breakdown(panel),
    }


def run(settings: Settings = FULL_SETTINGS, quick: bool = False) -> Figures:
    """All measurements, as a JSON-ready dict of sections."""
    config.seed_everything(config.DEFAULT_SEED)  # as labkit.setup() does in every notebook
    config.quiet_tensorflow()
    figures: Figures = {"meta": {"quick": quick, "repeats": settings.repeats,
                                 "panel_repeats": settings.panel_repeats,
                                 "pipeline_repeats": settings.pipeline_repeats,
                                 "date": time.strftime("%Y-%m-%d")}}
    steps: tuple[tuple[str, Callable[[Settings], Figures]], ...] = (
        ("machine", lambda _: machine()), ("shapes", bench_shapes),
        ("frozen_head", bench_frozen_head), ("scratch", bench_scratch),
        ("flops", lambda s: bench_flops(s, figures["scratch"])),
        ("autotune", bench_autotune), ("pipeline", bench_pipeline), ("panel", bench_panel),
        ("resolution_panel", bench_resolution_panel))
    for name, step in steps:
        _log(f"measuring {name} ...")
        started = time.perf_counter()
        figures[name] = step(settings)
        _log(f"  {name} took {time.perf_counter() - started:.1f} s")
    return figures


# -- targets ---------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Target:
    """A speed target: a figure computed from the measurements, and its limit."""

    what: str
    figure: Callable[[Figures], float]
    limit: float
    unit: str  # "s", "x" or "%" (a fraction shown as a percentage)
    strict: bool = True  # below the limit (True) or at most the limit (False)

    def value(self, figures: Figures) -> float | None:
        """The figure, or None when its section was not measured."""
        try:
            return float(self.figure(figures))
        except (KeyError, TypeError, ZeroDivisionError):
            return None

    def met(self, figures: Figures) -> bool | None:
        value = self.value(figures)
        if value is None:
            return None
        return value < self.limit if self.strict else value <= self.limit

    def show(self, value: float) -> str:
        return f"{value:.0%}" if self.unit == "%" else f"{_n(value)} {self.unit}".replace(" x", "x")


def click_floor(figures: Figures) -> float | None:
    """Seconds a scratch-panel click's arithmetic takes at the float32 matmul's FLOP/s: every
    epoch's training (3x forward per image) and validation (1x forward per image) passes."""
    p, fl = figures.get("panel"), figures.get("flops")
    if not (p and fl):
        return None
    flops = p["epochs"] * (fl["train_flops_per_image"] * p["train_images"]
                           + fl["forward_flops_per_image"] * p["val_images"])
    return flops / fl["matmul_flops_per_s"]


def pipeline_overhead(figures: Figures) -> float:
    """How much longer an epoch takes fed by the augmented tf.data pipeline than by arrays."""
    p = figures["pipeline"]
    return p["tf_data_s_per_epoch"] / p["in_memory_s_per_epoch"] - 1


# The targets of issue 18, on an idle 2-core machine in the quick profile.
TARGETS = (
    Target("scratch panel: Train click to final curves (median of later clicks)",
           lambda f: f["panel"]["to_done_s"], 5.0, "s"),
    Target("scratch panel: Train click to first epoch drawn",
           lambda f: f["panel"]["to_first_epoch_s"], 1.5, "s"),
    Target("cached-features panel: Train click to final curves",
           lambda f: f["resolution_panel"]["to_done_s"], 2.0, "s"),
    Target("augmented tf.data pipeline: epoch time over in-memory arrays", pipeline_overhead,
           0.10, "%", strict=False),
    Target("scratch panel: first click (tracing) over a later click",
           lambda f: f["panel"]["first_click_to_done_s"] / f["panel"]["to_done_s"], 2.0, "x"),
)


def target_rows(figures: Figures) -> list[tuple[str, str, str, str]]:
    """(target, measured, limit, met) for every target whose figures were measured."""
    out = []
    for target in TARGETS:
        value = target.value(figures)
        if value is None:
            continue
        limit = ("< " if target.strict else "<= ") + target.show(target.limit)
        out.append((target.what, target.show(value), limit,
                    "met" if target.met(figures) else "**not met**"))
    return out


BREAKDOWN = (("before_training_s", "before training (build the model, adopt a warm one)"),
             ("first_epoch_extra_s", "first epoch over a later one (TF sets up the step's "
                                     "kernels again: seeding the build clears their cache)"),
             ("training_steps_s", "training steps"),
             ("validation_s", "validation after each epoch"),
             ("live_drawing_s", "live figure drawn (its own thread, overlaps training)"),
             ("after_training_s", "after training (last figure, runs table, comparison plot)"))


def breakdown_rows(figures: Figures) -> list[tuple[str, ...]]:
    """(part, scratch panel seconds, cached-features panel seconds) of one later click."""
    panels = [figures.get(name, {}).get("breakdown") for name in ("panel", "resolution_panel")]
    if not any(panels):
        return []
    out = [(label, *(f"{b[key]:.2f}" if b else "-" for b in panels)) for key, label in BREAKDOWN]
    out.append(("total, Train click to final curves",
                *(f"{b['total_s']:.2f}" if b else "-" for b in panels)))
    return out


# -- rendering -------------------------------------------------------------------------------
def _n(value: float, unit: str = "") -> str:
    text = f"{value:,.0f}" if value >= 100 else f"{value:.3g}" if value < 1 else f"{value:.1f}"
    return f"{text} {unit}".rstrip()


def rows(figures: Figures) -> list[tuple[str, str]]:
    """(measurement, value) pairs, in reading order; sections that are missing are skipped."""
    out: list[tuple[str, str]] = []
    if m := figures.get("machine"):
        out += [("machine", f"{m['cpu_count']} CPU cores, GPU: {', '.join(m['gpus']) or 'none'}"),
                ("versions", f"TensorFlow {m['tensorflow']}, Keras {m['keras']}, "
                             f"NumPy {m['numpy']}, Python {m['python']}")]
    if sh := figures.get("shapes"):
        threads = f"{sh['threads']} thread{'s' if sh['threads'] != 1 else ''}"
        for size in (32, 64):
            out.append((f"shapes generation, {size}x{size} (no cache, {threads})",
                        _n(sh[f"images_per_s_{size}"], "images/s")))
    if fh := figures.get("frozen_head"):
        where = f"{fh['images']} images at {fh['size']}x{fh['size']}"
        out += [
            (f"head epoch through frozen MiniVGG ({where})",
             _n(fh["through_base_s_per_epoch"], "s")),
            (f"head epoch on cached features ({fh['feature_shape']} per image)",
             _n(fh["cached_features_s_per_epoch"], "s")),
            ("cached-feature speed-up per head epoch", f"{_n(fh['speedup'])}x"),
            ("one-off feature extraction", f"{_n(fh['extraction_s'], 's')} " + (
                "(never pays off here)" if fh["break_even_epochs"] is None
                else f"(pays off after {fh['break_even_epochs']:.1f} head epochs)")),
        ]
    if sc := figures.get("scratch"):
        out.append((f"scratch CNN epoch ({sc['images']} images at {sc['size']}x{sc['size']})",
                    f"{_n(sc['s_per_epoch'], 's')} ({_n(sc['images_per_s'], 'images/s')})"))
    if fl := figures.get("flops"):
        n = fl["matmul_size"]
        out.append(("scratch CNN training, achieved float32 FLOP/s "
                    f"({fl['train_flops_per_image'] / 1e6:.0f} MFLOP per image: 3x forward)",
                    f"{_n(fl['achieved_flops_per_s'] / 1e9, 'GFLOP/s')} "
                    f"({fl['fraction_of_matmul']:.0%} of a {n}x{n} matmul's "
                    f"{_n(fl['matmul_flops_per_s'] / 1e9, 'GFLOP/s')})"))
    if at := figures.get("autotune"):
        out.append((f"scratch CNN epoch fed by tf.data, autotuner off (make_pipeline) vs on "
                    f"({at['epochs_each']} epochs each, a process per turn; stalled: over "
                    f"{STALL}x the off median)",
                    f"{_n(at['off_s_per_epoch'], 's')} vs {_n(at['on_s_per_epoch'], 's')} "
                    f"(stalled epochs: {at['off_stalled_epochs']} vs {at['on_stalled_epochs']})"))
    if pl := figures.get("pipeline"):
        what = (f"{pl['images']} uint8 {pl['size']}x{pl['size']} images, flip + 10% shift + "
                f"1/255, batch {pl['batch_size']}")
        out.append((f"training, tf.data make_pipeline into scratch CNN ({what})",
                    _n(pl["tf_data_images_per_s"], "images/s")))
        if "legacy_s_per_epoch" in pl:
            out += [
                ("training, legacy ImageDataGenerator.flow into scratch CNN (same work)",
                 _n(pl["legacy_images_per_s"], "images/s")),
                ("training speed-up, tf.data vs legacy",
                 f"{pl['speedup']:.2f}x (at most {pl['max_speedup']:.2f}x: the model fed "
                 f"in-memory arrays does {_n(pl['in_memory_images_per_s'], 'images/s')})"),
                ("pipelines alone (no model), tf.data vs legacy",
                 f"{_n(pl['tf_data_alone_images_per_s'], 'images/s')} vs "
                 f"{_n(pl['legacy_alone_images_per_s'], 'images/s')} "
                 f"({pl['alone_speedup']:.1f}x)"),
            ]
        else:
            out.append(("training, legacy ImageDataGenerator.flow", pl["legacy_skipped"]))
        if parts := pl.get("parts_images_per_s"):
            out.append(("tf.data pipeline alone, step by step (images/s)",
                        ", ".join(f"{name} {_n(value)}" for name, value in parts.items())))
    if p := figures.get("panel"):
        what = f"scratch panel, {p['epochs']} epochs, {p['train_images']} images"
        for label, warm, cold in (("first epoch drawn", "to_first_epoch_s",
                                   "first_click_to_first_epoch_s"),
                                  ("final curves", "to_done_s", "first_click_to_done_s")):
            out.append((f"panel: Train click to {label} ({what})",
                        f"{_n(p[warm], 's')} (first click: {_n(p[cold], 's')})"))
    if (floor := click_floor(figures)) is not None:
        p, fl = figures["panel"], figures["flops"]
        out.append((f"scratch panel click's arithmetic alone at the matmul's peak ({p['epochs']} "
                    f"epochs x {p['train_images']} images x "
                    f"{fl['train_flops_per_image'] / 1e6:.0f} MFLOP, + validation): a floor no "
                    "float32 run of this CNN can beat here", _n(floor, "s")))
    if r := figures.get("resolution_panel"):
        what = (f"cached-features panel, {r['size']}x{r['size']} cut after {r['cut']}, "
                f"{r['epochs']} head epochs, {r['train_images']} images")
        out += [(f"panel: Train click to first epoch drawn ({what})",
                 _n(r["to_first_epoch_s"], "s")),
                (f"panel: Train click to final curves ({what})",
                 f"{_n(r['to_done_s'], 's')} (warm-up click, filling the feature cache: "
                 f"{_n(r['warm_up_to_done_s'], 's')})")]
    return out


def markdown_table(figures: Figures) -> str:
    """The figures as a two-column markdown table (for README), then the targets and where a
    panel click's time goes."""
    lines = ["| measurement | value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows(figures)]
    if targets := target_rows(figures):
        lines += ["", "| target | measured | limit | |", "|---|---|---|---|"]
        lines += [f"| {' | '.join(row)} |" for row in targets]
    if parts := breakdown_rows(figures):
        lines += ["", "| one later click, seconds | scratch panel | cached-features panel |",
                  "|---|---|---|"]
        lines += [f"| {' | '.join(row)} |" for row in parts]
    meta = figures.get("meta", {})
    if meta:
        lines.append("")
        command = f"python -m labkit.dev.bench{' --quick' if meta.get('quick') else ''} --markdown"
        lines.append(f"Median of {meta.get('repeats')} repeat(s) after a warm-up ("
                     f"{meta.get('panel_repeats')} later clicks of each panel, "
                     f"{meta.get('pipeline_repeats')} turns of two epochs of each feed, the "
                     f"second one timed; the first, tracing epoch or click is kept out of the "
                     f"medians); measured "
                     f"{meta.get('date', '')} "
                     f"with `{command}`.")
    return "\n".join(lines)


def text_table(figures: Figures) -> str:
    """The figures as an aligned plain-text table (for the terminal)."""
    pairs = rows(figures)
    pairs += [(f"target: {what}", f"{value} ({limit}): {met.strip('*')}")
              for what, value, limit, met in target_rows(figures)]
    pairs += [(f"click breakdown: {part}", f"{scratch} s (scratch panel), {cached} s (cached)")
              for part, scratch, cached in breakdown_rows(figures)]
    width = max((len(name) for name, _ in pairs), default=0)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in pairs)


def _unwritable(path: Path) -> str | None:
    """Why ``path`` cannot be written (creating its folder if need be), or None; leaves no file
    behind that was not there."""
    if path.is_dir():
        return "is a folder, not a file"
    existed = path.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a"):
            pass
    except OSError as err:
        return f"cannot be written ({err.strerror or err})"
    if not existed:
        path.unlink()
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labkit.dev.bench",
                                     description="How fast the course runs on this machine.")
    parser.add_argument("--quick", action="store_true",
                        help="fewer images and repeats (seconds, not minutes; for tests)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    parser.add_argument("--markdown", action="store_true",
                        help="print the table as markdown (for README) instead of plain text")
    args = parser.parse_args(argv)
    if args.json is not None:  # fail now, not after minutes of measuring
        problem = _unwritable(args.json)
        if problem:
            parser.error(f"--json {args.json}: {problem}. Fix: pass a file path in a folder "
                         "you can write, e.g. --json figures/bench.json")
    figures = run(QUICK_SETTINGS if args.quick else FULL_SETTINGS, quick=args.quick)
    print(markdown_table(figures) if args.markdown else text_table(figures))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
