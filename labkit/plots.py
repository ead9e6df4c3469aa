"""Plots the lessons show: training curves side by side, image grids, confusion matrices, bars,
and the failure-vs-fix comparison (``plot_side_by_side``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from labkit.train import Scores

SIDE_BY_SIDE_METRICS = ("accuracy", "balanced_accuracy")


def _pyplot():
    import matplotlib.pyplot as plt

    return plt


def run_colour(index: int) -> str:
    """Matplotlib's ``"C0"`` ... ``"C9"``: the colour of the run with that index."""
    return f"C{int(index) % 10}"


def draw_curves(fig, runs: Sequence, metrics: Sequence[str] = ("loss", "accuracy"), *,
                colours: Sequence[int] | None = None, title: str = "",
                logy_loss: bool = False) -> None:
    """Curves of ``runs`` (anything with ``.name`` and ``.history``) on ``fig``, one panel per
    metric: training solid, validation dashed, each run in its own colour.

    A metric named ``val_...`` draws only that curve. ``colours``: one colour index per run
    (``run_colour``), so a run keeps its colour from one figure to the next (the panels pass
    each run's number); the default is the run's position in ``runs``. Draws on a
    ``matplotlib.figure.Figure`` without pyplot, so a panel's training thread may call it.
    """
    from matplotlib.ticker import MaxNLocator

    runs = list(runs)
    colours = list(range(len(runs))) if colours is None else list(colours)
    if len(colours) != len(runs):
        raise ValueError(f"got {len(colours)} colours for {len(runs)} runs")
    for j, metric in enumerate(metrics):
        ax = fig.add_subplot(1, len(metrics), j + 1)
        keys = [(metric, "-")] if metric.startswith("val_") else [(metric, "-"),
                                                                  (f"val_{metric}", "--")]
        for run, colour in zip(runs, colours, strict=True):
            for key, style in keys:
                values = run.history.get(key)
                if values:
                    label = f"{run.name} ({'val' if key.startswith('val_') else 'train'})"
                    ax.plot(np.arange(1, len(values) + 1), values, style,
                            color=run_colour(colour), label=label, marker=".")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(metric)
        if metric.endswith("loss") and logy_loss:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    if fig.get_layout_engine() is None:  # a figure with its own engine lays itself out
        fig.tight_layout()


def plot_curves(runs: Sequence, metrics: Sequence[str] = ("loss", "accuracy"), title: str = "",
                logy_loss: bool = False, colours: Sequence[int] | None = None):
    """Train (solid) and validation (dashed) curves of several ``Run``s, one panel per metric
    (``draw_curves`` on a new pyplot figure)."""
    plt = _pyplot()
    fig = plt.figure(figsize=(5.5 * len(metrics), 3.6))
    draw_curves(fig, runs, metrics, colours=colours, title=title, logy_loss=logy_loss)
    return fig


def image_grid(x: np.ndarray, y: np.ndarray, class_names: Sequence[str], per_class: int = 6,
               title: str = ""):
    """A grid with one row per class and ``per_class`` example images."""
    plt = _pyplot()
    n = len(class_names)
    fig, axes = plt.subplots(n, per_class, figsize=(per_class * 0.9 + 1.6, n * 0.9))
    for c, name in enumerate(class_names):
        idx = np.flatnonzero(np.asarray(y) == c)[:per_class]
        for j in range(per_class):
            ax = axes[c, j]
            ax.axis("off")
            if j < len(idx):
                img = x[idx[j]]
                ax.imshow(img if img.dtype == np.uint8 else np.clip(img, 0, 1))
        axes[c, 0].text(-0.1, 0.5, name, transform=axes[c, 0].transAxes, ha="right",
                        va="center", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.subplots_adjust(left=0.25, wspace=0.05, hspace=0.05)
    return fig


def plot_confusion(confusion: np.ndarray, class_names: Sequence[str], title: str = "", ax=None):
    """Row-normalised confusion matrix (rows: true class) with counts written in."""
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4.8))
    cm = np.asarray(confusion)
    rates = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for (i, j), count in np.ndenumerate(cm):
        if count:
            ax.text(j, i, str(count), ha="center", va="center", fontsize=6,
                    color="white" if rates[i, j] > 0.5 else "black")
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=90, fontsize=7)
    ax.set_yticks(ticks, class_names, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    return ax


def plot_bars(values: Mapping[str, float], title: str = "", ylabel: str = "", ax=None,
              fmt: str = "{:.1%}"):
    """One labelled bar per entry (e.g. test accuracy per setup)."""
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(1.4 * len(values) + 2, 3.2))
    names, heights = list(values), [float(v) for v in values.values()]
    bars = ax.bar(names, heights, color=plt.rcParams["axes.prop_cycle"].by_key()["color"])
    for bar, h in zip(bars, heights, strict=True):
        ax.text(bar.get_x() + bar.get_width() / 2, h, fmt.format(h), ha="center", va="bottom",
                fontsize=8)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.tick_params(axis="x", labelsize=8, rotation=15)
    return ax


def plot_lr_range(lrs: np.ndarray, losses: np.ndarray, suggested: float | None = None, ax=None):
    """Loss against learning rate (log x) from an LR range test."""
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.4))
    ax.plot(lrs, losses)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("smoothed training loss")
    if suggested:
        ax.axvline(suggested, color="green", ls="--", label=f"picked {suggested:.0e}")
        ax.legend()
    ax.grid(alpha=0.3)
    return ax


def plot_side_by_side(results: Mapping[str, Scores], class_names: Sequence[str], *,
                      reference: tuple[str, float] | None = None, metric: str = "accuracy",
                      title: str = "") -> Figure:
    """The failure and the fix side by side: ``metric`` per run (left) and recall per class
    (right), each run in its ``run_colour``.

    ``results``: run name -> ``Scores``, in display order. Both panels show a dashed line at
    ``reference = (label, value)`` when given (e.g. what a well-trained model reaches); the
    left one also a dotted line at chance, ``1 / len(class_names)``.
    """
    from matplotlib.ticker import PercentFormatter

    if metric not in SIDE_BY_SIDE_METRICS:
        raise ValueError(f"metric must be one of {list(SIDE_BY_SIDE_METRICS)}, got {metric!r}")
    if not results:
        raise ValueError("results is empty: pass at least one run name -> Scores")
    class_names = [str(c) for c in class_names]
    n_classes = len(class_names)
    if not n_classes:
        raise ValueError("class_names is empty")
    for name, scores in results.items():
        if len(scores.per_class_recall) != n_classes:
            raise ValueError(f"run {name!r} has {len(scores.per_class_recall)} per-class recalls "
                             f"but there are {n_classes} class names")
    if reference is not None:
        ref_label, ref_value = reference
        ref_value = float(ref_value)
        if not 0.0 <= ref_value <= 1.0:
            raise ValueError(f"reference value must be between 0 and 1, got {ref_value!r}")
        ref_text = f"{ref_label}: {ref_value:.1%}"

    plt = _pyplot()
    names = list(results)
    n_runs = len(names)
    left_w = 0.8 + 0.7 * n_runs
    right_w = max(6.0, 0.15 * n_classes * (n_runs + 1))
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(left_w + right_w + 2.6, 4.2), layout="constrained",
        gridspec_kw={"width_ratios": [left_w, right_w]})

    heights = [float(getattr(results[name], metric)) for name in names]
    bars = left.bar(range(n_runs), heights, color=[run_colour(i) for i in range(n_runs)])
    for bar, h in zip(bars, heights, strict=True):
        inside = h > 0.9  # keep the label inside the axes
        left.text(bar.get_x() + bar.get_width() / 2, h, f"{h:.1%}", ha="center",
                  va="top" if inside else "bottom", fontsize=8,
                  color="white" if inside else "black")
    left.set_xticks(range(n_runs), names, rotation=20, ha="right", fontsize=8)
    left.set_title(metric.replace("_", " "), fontsize=10)

    width = 0.8 / n_runs
    x = np.arange(n_classes)
    for i, name in enumerate(names):
        right.bar(x + (i - (n_runs - 1) / 2) * width, results[name].per_class_recall, width,
                  color=run_colour(i), label=name)
    right.set_xticks(x, class_names, rotation=45, ha="right", fontsize=8)
    right.set_ylabel("recall")
    right.set_title("recall per class", fontsize=10)

    chance = 1 / n_classes
    for ax in (left, right):
        ax.axhline(chance, color="grey", ls=":", lw=1, label="chance")
        if reference is not None:
            ax.axhline(ref_value, color="black", ls="--", lw=1, label=ref_text)
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1))
        ax.grid(axis="y", alpha=0.3)
    # the narrow panel names its lines on its right edge; the wide panel's legend spells them out
    marks = {chance: "chance"} | ({} if reference is None else {ref_value: f"{ref_value:.1%}"})
    edge = left.secondary_yaxis("right")
    edge.set_yticks(list(marks), list(marks.values()), fontsize=7)
    edge.tick_params(length=0)
    right.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if title:
        fig.suptitle(title)
    return fig
