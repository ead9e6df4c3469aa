"""labkit.plots: the curve plotter the notebooks and the panels share, and the lessons'
side-by-side comparison of a failure and its fix."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
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


NAMES = ("cat", "dog", "ship")


def scores(accuracy, balanced, recall):
    return train.Scores(accuracy, balanced, 0.5, tuple(recall), np.zeros((3, 3), dtype=int))


RESULTS = {"raw 0-255, SGD": scores(0.30, 0.25, (0.1, 0.2, 0.45)),
           "scaled, Adam": scores(0.80, 0.78, (0.9, 0.7, 0.75))}


def hlines(ax):
    """label -> y of each horizontal line on ``ax``."""
    return {line.get_label(): line.get_ydata()[0] for line in ax.lines}


def test_plot_side_by_side_draws_scores_chance_and_reference():
    fig = plots.plot_side_by_side(RESULTS, NAMES, reference=("well trained", 0.882), title="t")
    left, right = fig.axes  # two panels (the chance/reference marks are a child axis)
    (edge,) = left.child_axes
    assert [t.get_text() for t in edge.get_yticklabels()] == ["chance", "88.2%"]
    assert [p.get_height() for p in left.patches] == pytest.approx([0.30, 0.80])
    assert [to_hex(p.get_facecolor()) for p in left.patches] == [to_hex("C0"), to_hex("C1")]
    assert {t.get_text() for t in left.texts} == {"30.0%", "80.0%"}
    assert left.get_ylim() == (0, 1)
    # right: one bar per (run, class), run i in C{i}, grouped by class
    heights = [p.get_height() for p in right.patches]
    assert heights == pytest.approx([0.1, 0.2, 0.45, 0.9, 0.7, 0.75])
    assert {to_hex(p.get_facecolor()) for p in right.patches[3:]} == {to_hex("C1")}
    assert [t.get_text() for t in right.get_xticklabels()] == list(NAMES)
    assert right.get_xticklabels()[0].get_rotation() == 45
    legend = [t.get_text() for t in right.get_legend().get_texts()]
    assert {"raw 0-255, SGD", "scaled, Adam"} <= set(legend)
    for ax in (left, right):
        lines = hlines(ax)
        assert lines["chance"] == pytest.approx(1 / 3)
        (ref,) = [label for label in lines if "88.2%" in label]
        assert ref.startswith("well trained") and lines[ref] == pytest.approx(0.882)
        dashed = {line.get_label(): line.get_linestyle() for line in ax.lines}
        assert dashed[ref] == "--" and dashed["chance"] == ":"
    assert fig._suptitle.get_text() == "t"
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_plot_side_by_side_balanced_accuracy_and_no_reference():
    fig = plots.plot_side_by_side(RESULTS, NAMES, metric="balanced_accuracy")
    left = fig.axes[0]
    assert [p.get_height() for p in left.patches] == pytest.approx([0.25, 0.78])
    assert set(hlines(left)) == {"chance"}
    import matplotlib.pyplot as plt

    plt.close(fig)


@pytest.mark.parametrize("kwargs, message", [
    ({"results": {}}, "results is empty"),
    ({"metric": "f1"}, r"metric must be one of \['accuracy', 'balanced_accuracy'\]"),
    ({"class_names": ()}, "class_names is empty"),
    ({"class_names": ("cat", "dog")}, "run 'raw 0-255, SGD' has 3 per-class recalls"),
    ({"reference": ("x", 88.2)}, "reference value must be between 0 and 1"),
    ({"reference": ("x", -0.1)}, "reference value must be between 0 and 1"),
])
def test_plot_side_by_side_rejects_bad_input(kwargs, message):
    args = {"results": RESULTS, "class_names": NAMES} | kwargs
    results, class_names = args.pop("results"), args.pop("class_names")
    with pytest.raises(ValueError, match=message):
        plots.plot_side_by_side(results, class_names, **args)
