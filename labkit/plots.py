"""Plots the lessons show: training curves side by side, image grids, confusion matrices, bars."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


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
