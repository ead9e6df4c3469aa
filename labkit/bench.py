"""``python -m labkit.bench [--quick] [--json PATH]``: how fast the course runs on this machine.

Measures, each with a warm-up and the median of a few repeats:

- shapes: images per second that ``labkit.shapes.generate`` renders (no cache), 32x32 and 64x64;
- frozen base: one epoch of a head trained through the frozen MiniVGG base vs one epoch of the
  same head on cached features (``models.extract_features``), and the one-off extraction cost;
- scratch: seconds per epoch of ``models.scratch_cnn`` on 32x32 images;
- panel: seconds from ``RetrainPanel.start()`` to the first epoch drawn and to the run finished;
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
    panel_train: int = 500  # lesson-data sizes for the panel run
    panel_val: int = 100
    panel_test: int = 100
    panel_epochs: int = 2


FULL_SETTINGS = Settings()
QUICK_SETTINGS = Settings(repeats=1, shapes_images=512, head_images=256, scratch_images=256,
                          panel_train=200, panel_val=50, panel_test=50)


def _median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def _timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _log(text: str) -> None:
    print(f"[bench] {text}", file=sys.stderr, flush=True)


def _epoch_seconds(model, x, y, repeats: int, batch_size: int = 64) -> float:
    """Median wall time of one epoch, after one warm-up epoch (graph tracing)."""
    import keras

    class EpochTimes(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self._t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._t)

    times = EpochTimes()
    model.fit(x, y, epochs=1 + repeats, batch_size=batch_size, callbacks=[times], verbose=0)
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
    through = models.compile_classifier(models.attach_head(base, n_classes, base_training=False))
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


def _panel_click(panel, timeout: float = 600.0) -> tuple[float, float]:
    """Click Train once; seconds to the first epoch's curves drawn and to the run finished."""
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


def bench_panel(s: Settings) -> Figures:
    """Latency of the lessons' scratch RetrainPanel: first click (cold) and later clicks."""
    from labkit import panels, session
    from labkit.config import QUICK
    from labkit.lessondata import load_lesson_data

    lab = session.setup("quick", quiet=True)
    profile = dataclasses.replace(QUICK, n_train=s.panel_train, n_val=s.panel_val,
                                  n_test=s.panel_test)
    data = load_lesson_data(profile, seed=lab.seed)
    panel = panels.scratch_panel(lab, data, title="bench")
    panel.controls["epochs"].value = s.panel_epochs
    cold_first, cold_done = _panel_click(panel)
    warm = [_panel_click(panel) for _ in range(s.repeats)]
    epochs = {run.epochs for run in panel.runs}
    if epochs != {s.panel_epochs}:
        raise RuntimeError(f"panel runs trained {sorted(epochs)} epochs, not {s.panel_epochs}")
    return {
        "train_images": s.panel_train,
        "epochs": s.panel_epochs,
        "first_click_to_first_epoch_s": cold_first,
        "first_click_to_done_s": cold_done,
        "to_first_epoch_s": _median([w[0] for w in warm]),
        "to_done_s": _median([w[1] for w in warm]),
    }


def run(settings: Settings = FULL_SETTINGS, quick: bool = False) -> Figures:
    """All measurements, as a JSON-ready dict of sections."""
    config.seed_everything(config.DEFAULT_SEED)  # as labkit.setup() does in every notebook
    config.quiet_tensorflow()
    figures: Figures = {"meta": {"quick": quick, "repeats": settings.repeats,
                                 "date": time.strftime("%Y-%m-%d")}}
    steps = (("machine", lambda _: machine()), ("shapes", bench_shapes),
             ("frozen_head", bench_frozen_head), ("scratch", bench_scratch),
             ("panel", bench_panel))
    for name, step in steps:
        _log(f"measuring {name} ...")
        started = time.perf_counter()
        figures[name] = step(settings)
        _log(f"  {name} took {time.perf_counter() - started:.1f} s")
    return figures


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
    if p := figures.get("panel"):
        what = f"{p['epochs']}-epoch scratch run, {p['train_images']} images"
        for label, warm, cold in (("first epoch drawn", "to_first_epoch_s",
                                   "first_click_to_first_epoch_s"),
                                  ("run finished", "to_done_s", "first_click_to_done_s")):
            out.append((f"panel: Train click to {label} ({what})",
                        f"{_n(p[warm], 's')} (first click: {_n(p[cold], 's')})"))
    return out


def markdown_table(figures: Figures) -> str:
    """The figures as a two-column markdown table (for README)."""
    lines = ["| measurement | value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows(figures)]
    meta = figures.get("meta", {})
    if meta:
        lines.append("")
        lines.append(f"Median of {meta.get('repeats')} repeat(s) after a warm-up"
                     f"{' (--quick)' if meta.get('quick') else ''}; measured "
                     f"{meta.get('date', '')} with `python -m labkit.bench`.")
    return "\n".join(lines)


def text_table(figures: Figures) -> str:
    """The figures as an aligned plain-text table (for the terminal)."""
    pairs = rows(figures)
    width = max((len(name) for name, _ in pairs), default=0)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in pairs)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labkit.bench",
                                     description="How fast the course runs on this machine.")
    parser.add_argument("--quick", action="store_true",
                        help="fewer images and repeats (seconds, not minutes; for tests)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    parser.add_argument("--markdown", action="store_true",
                        help="print the table as markdown (for README) instead of plain text")
    args = parser.parse_args(argv)
    figures = run(QUICK_SETTINGS if args.quick else FULL_SETTINGS, quick=args.quick)
    print(markdown_table(figures) if args.markdown else text_table(figures))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
