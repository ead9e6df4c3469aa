"""labkit.plots: the one curve plotter the notebooks and the panels share."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from labkit import plots, train  # noqa: E402

A = train.Run("a", {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "accuracy": [0.3, 0.6],
                    "val_accuracy": [0.2, 0.5]})
B = train.Run("b", {"loss": [2.0, 1.5, 1.0], "accuracy": [0.1, 0.2, 0.4]})


def lines(ax):
    return {line.get_label(): (line.get_linestyle(), to_hex(line.get_color()))
            for line in ax.lines}


def test_draw_curves_train_solid_val_dashed_a_colour_per_run():
    fig = Figure()
    plots.draw_curves(fig, [A, B], ("loss", "accuracy"), title="t")
    loss, acc = fig.axes
    c0, c1 = to_hex("C0"), to_hex("C1")
    assert lines(loss) == {"a (train)": ("-", c0), "a (val)": ("--", c0), "b (train)": ("-", c1)}
    assert set(lines(acc)) == {"a (train)", "a (val)", "b (train)"}
    assert loss.get_ylabel() == "loss" and acc.get_ylabel() == "accuracy"
    assert fig._suptitle.get_text() == "t"


def test_draw_curves_colours_follow_the_index_passed():
    fig = Figure()
    plots.draw_curves(fig, [B], ("val_loss", "loss"), colours=[3])
    val, loss = fig.axes
    assert len(val.lines) == 0 and not val.get_legend()  # b logged no validation curves
    assert lines(loss) == {"b (train)": ("-", to_hex("C3"))}
    with pytest.raises(ValueError, match="2 colours for 1 runs"):
        plots.draw_curves(Figure(), [B], colours=[0, 1])


def test_plot_curves_returns_a_pyplot_figure_with_log_loss():
    fig = plots.plot_curves([A, B], metrics=("loss",), logy_loss=True, colours=[1, 0])
    (ax,) = fig.axes
    assert ax.get_yscale() == "log"
    assert lines(ax)["a (train)"][1] == to_hex("C1")
    import matplotlib.pyplot as plt

    plt.close(fig)
