"""RetrainPanel handlers, driven directly (no browser) on a model with ~50 parameters."""

from __future__ import annotations

import threading
import time

import ipywidgets as widgets
import numpy as np
import pytest

keras = pytest.importorskip("keras")

from labkit import train  # noqa: E402
from labkit import widgets as lw  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 4)).astype("float32")
Y = (X[:, 0] > 0).astype("int64")


def tiny_fit(settings, callbacks, batch_size=8):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.Adam(settings["lr"]), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model.fit(X, Y, validation_split=0.25, epochs=settings["epochs"],
                     batch_size=batch_size, callbacks=callbacks, verbose=0)


def controls(epochs=2):
    return {"lr": lw.lr_slider(1e-2), "epochs": lw.epochs_slider(epochs, 2000)}


def test_start_trains_records_run_and_toggles_buttons():
    go = threading.Event()

    def train_fn(settings, callbacks):
        assert go.wait(30)
        return tiny_fit(settings, callbacks)

    panel = lw.RetrainPanel(train_fn, controls(), title="tiny")
    assert not panel.train_button.disabled and panel.stop_button.disabled
    assert panel.start()
    assert panel.train_button.disabled and not panel.stop_button.disabled
    assert not panel.start()  # a second click while running does nothing
    go.set()
    assert panel.wait(60)
    assert not panel.train_button.disabled and panel.stop_button.disabled
    (run,) = panel.runs
    assert run.number == 1 and run.epochs == 2 and not run.stopped
    assert run.settings == {"lr": pytest.approx(1e-2), "epochs": 2}
    assert run.best("val_accuracy") is not None and run.seconds > 0
    assert "Run 1 done" in panel.status.value
    # each redraw replaces the figure (one live plot, one overlay), never piles them up
    assert len(panel.live_out.outputs) == 1 and len(panel.compare_out.outputs) == 1
    assert "image/png" in panel.compare_out.outputs[-1]["data"]
    svg = panel.live_out.outputs[0]["data"]["image/svg+xml"]  # the live figure: an SVG
    assert svg.startswith("<svg") and svg.count("<polyline") == 4  # train and val, 2 metrics


def test_live_svg_leaves_out_values_that_are_not_finite():
    from labkit import live_svg

    svg = live_svg.curves_svg({"loss": [2.3, float("nan"), 1.0], "val_loss": [float("inf")]},
                              ["loss"], "Run <1>")
    assert "nan" not in svg and "inf" not in svg and "Run &lt;1&gt;" in svg
    assert svg.count("<circle") == 2  # two finite points; the empty val curve draws nothing


def test_stop_ends_run_early():
    epoch_done = threading.Event()

    class Slow(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            time.sleep(0.005)

        def on_epoch_end(self, epoch, logs=None):
            epoch_done.set()

    def train_fn(settings, callbacks):
        return tiny_fit(settings, [Slow(), *callbacks])

    panel = lw.RetrainPanel(train_fn, controls(epochs=2000))
    panel.start()
    assert epoch_done.wait(60)
    panel.stop()
    assert panel.wait(60)
    (run,) = panel.runs
    assert run.stopped and 1 <= run.epochs < 2000
    assert "stopped" in panel.status.value and "(stopped)" in panel.table.value
    assert not panel.train_button.disabled and panel.stop_button.disabled


def test_error_in_train_fn_is_shown_and_train_reenabled():
    def train_fn(settings, callbacks):
        raise ValueError("learning rate must be positive (try 1e-3)")

    panel = lw.RetrainPanel(train_fn, controls())
    panel.start()
    assert panel.wait(30)
    assert "ValueError" in panel.status.value and "try 1e-3" in panel.status.value
    assert any("try 1e-3" in o.get("text", "") for o in panel.live_out.outputs)
    assert not panel.train_button.disabled and panel.stop_button.disabled
    assert panel.runs == []


def test_controls_report_on_release_and_lr_is_log_scale():
    lr = lw.lr_slider(1e-3, min_exp=-5, max_exp=0)
    assert isinstance(lr, widgets.FloatLogSlider) and lr.base == 10
    assert (lr.min, lr.max, lr.value) == (-5, 0, pytest.approx(1e-3))
    sliders = [lr, lw.epochs_slider(5, 30), lw.int_slider("batch", 32, 8, 256),
               lw.float_slider("dropout", 0.2, 0.0, 0.8)]
    assert all(s.continuous_update is False for s in sliders)
    assert lw.epochs_slider(5, 30).max == 30
    dd = lw.dropdown("optimizer", ["adam", "sgd"])
    assert dd.value == "adam" and lw.dropdown("optimizer", ["adam", "sgd"], "sgd").value == "sgd"


def test_runs_table_lists_each_runs_settings():
    def train_fn(settings, callbacks):
        return tiny_fit(settings, callbacks)

    ctl = {"lr": lw.lr_slider(1e-2), "epochs": lw.epochs_slider(1, 5),
           "optimizer": lw.dropdown("optimizer", ["adam", "sgd"])}
    panel = lw.RetrainPanel(train_fn, ctl)
    for lr, opt in ((1e-2, "adam"), (1e-3, "sgd")):
        ctl["lr"].value, ctl["optimizer"].value = lr, opt
        panel.start()
        assert panel.wait(60)
    assert [r.number for r in panel.runs] == [1, 2]
    html = panel.table.value
    for r in panel.runs:
        assert lw.settings_text(r.settings) in html
    assert "lr=0.01, epochs=1, optimizer=adam" in html and "optimizer=sgd" in html
    assert html.count("<tr>") == 3  # header + 2 runs


def test_overlay_compares_the_runs_picked():
    panel = lw.RetrainPanel(lambda s, cb: tiny_fit(s, cb), controls(epochs=1))
    for _ in range(2):
        panel.start()
        assert panel.wait(60)
    assert [value for _, value in panel.overlay.options] == [1, 2]
    all_runs = panel.compare_out.outputs
    panel.overlay.value = (1,)
    assert len(panel.compare_out.outputs) == 1  # one overlay figure, redrawn
    assert panel.compare_out.outputs != all_runs  # now only run 1
    panel.overlay.value = ()
    assert panel.compare_out.outputs == all_runs  # none picked: all runs again


def test_live_figure_is_throttled_but_shows_the_last_epoch(monkeypatch):
    drawn = []
    real = lw._svg_output

    def counting(history, metrics, title, colour):
        drawn.append(len(history["loss"]))
        return real(history, metrics, title, colour)

    monkeypatch.setattr(lw, "_svg_output", counting)
    monkeypatch.setattr(lw, "LIVE_REDRAW_SECONDS", 3600.0)  # only the first and the final draw
    panel = lw.RetrainPanel(lambda s, cb: tiny_fit(s, cb), controls(epochs=6))
    panel.start()
    assert panel.wait(60)
    assert drawn == [1, 6]


def test_panel_runs_are_train_runs_with_their_settings(run_panel):
    panel = lw.RetrainPanel(lambda s, cb: tiny_fit(s, cb), controls(epochs=2))
    run = run_panel(panel)
    assert isinstance(run, train.Run) and isinstance(run, lw.PanelRun)
    assert (run.name, run.number, run.epochs, run.outcome) == ("run 1", 1, 2, "done")
    assert run.last("loss") == run.history["loss"][-1]
    assert run.best("no_such_metric") is None


def test_live_figure_and_overlay_keep_each_runs_colour(monkeypatch, run_panel):
    colours = []
    real, real_live = lw._curves_png, lw._svg_output

    def recording(runs, metrics, title, run_colours):
        colours.append((title, [r.name for r in runs], list(run_colours)))
        return real(runs, metrics, title, run_colours)

    def recording_live(history, metrics, title, colour):
        colours.append((title, [f"run {title.split()[-1]}"], [colour]))
        return real_live(history, metrics, title, colour)

    monkeypatch.setattr(lw, "_curves_png", recording)
    monkeypatch.setattr(lw, "_svg_output", recording_live)
    panel = lw.RetrainPanel(lambda s, cb: tiny_fit(s, cb), controls(epochs=1))
    run_panel(panel)
    run_panel(panel)
    assert ("Run 2", ["run 2"], [1]) in colours  # live: run 2's colour
    assert colours[-1] == ("Validation curves", ["run 1", "run 2"], [0, 1])
    panel.overlay.value = (2,)
    assert colours[-1] == ("Validation curves", ["run 2"], [1])  # the same colour alone


def test_a_run_whose_loss_became_nan_is_reported_as_diverged(run_panel):
    x_bad = X.copy()
    x_bad[0, 0] = np.nan  # one NaN input: the loss turns NaN in the first epoch

    def train_fn(settings, callbacks):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model.fit(x_bad, Y, validation_split=0.25, epochs=settings["epochs"], batch_size=8,
                         callbacks=callbacks, verbose=0)

    panel = lw.RetrainPanel(train_fn, controls(epochs=2))
    run = run_panel(panel)
    assert run.diverged and run.outcome == "diverged (loss NaN)"
    assert "Run 1 diverged (loss NaN): 2 epochs" in panel.status.value
    assert "(diverged (loss NaN))" in panel.table.value


def test_base_exception_in_the_thread_restores_status_and_buttons():
    def train_fn(settings, callbacks):
        raise KeyboardInterrupt

    panel = lw.RetrainPanel(train_fn, controls())
    assert panel.start()
    assert panel.wait(30)
    assert panel.status.value == "Run 1 interrupted: KeyboardInterrupt"
    assert "training" not in panel.status.value
    assert not panel.train_button.disabled and panel.stop_button.disabled
    assert panel.runs == []


@pytest.mark.parametrize("lr", [float("nan"), float("inf"), -1e-3, 0.0, "fast"])
def test_lr_slider_refuses_learning_rates_that_cannot_train(lr):
    with pytest.raises(ValueError, match="^lr must be a"):
        lw.lr_slider(lr)
    with pytest.raises(ValueError, match="^learning_rate must be a"):
        lw.lr_slider(lr, name="learning_rate")


def test_a_panel_displays_as_a_widget_with_a_picture_for_readers_without_a_kernel(monkeypatch):
    """JupyterLab shows the widget view; stored notebooks and HTML keep the PNG of the panel."""
    import base64

    shown = []
    monkeypatch.setattr(lw, "display", lambda obj, raw=False: shown.append((obj, raw)))
    controls = {"lr": lw.lr_slider(), "opt": lw.dropdown("optimizer", ["adam", "sgd"])}
    panel = lw.RetrainPanel(lambda settings, callbacks: None, controls, title="Try it")
    panel._ipython_display_()
    (bundle, raw), = shown
    assert raw and "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG")
    assert panel.control_lines() == ["learning rate: 0.001   (range 1e-05 to 1e+00, log scale)",
                                     "optimizer: adam   (choices: adam, sgd)"]


def test_control_lines_list_every_control_and_its_range():
    from labkit import widgets as lw

    controls = {"lr": lw.lr_slider(1e-3), "epochs": lw.epochs_slider(5, max=30),
                "fraction": lw.float_slider("validation fraction", 0.2, 0.1, 0.5),
                "optimizer": lw.dropdown("optimizer", ["adam", "sgd"])}
    assert lw.control_lines(controls) == [
        "learning rate: 1e-05 to 1 (log scale)", "epochs: 1-30",
        "validation fraction: 0.1-0.5", "optimizer: adam | sgd"]
    panel = lw.RetrainPanel(lambda settings, callbacks: None, controls, title="t")
    header = panel.widget.children[1].value
    assert "learning rate: 1e-05 to 1 (log scale); epochs: 1-30" in header
