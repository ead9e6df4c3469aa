"""RetrainPanel handlers, driven directly (no browser) on a model with ~50 parameters."""

from __future__ import annotations

import threading
import time

import ipywidgets as widgets
import numpy as np
import pytest

keras = pytest.importorskip("keras")

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
    real = lw._curves_png

    def counting(series, keys, title):
        if title.startswith("Run"):
            drawn.append(max(len(v) for v in series[0][1].values()))
        return real(series, keys, title)

    monkeypatch.setattr(lw, "_curves_png", counting)
    monkeypatch.setattr(lw, "LIVE_REDRAW_SECONDS", 3600.0)  # only the first and the final draw
    panel = lw.RetrainPanel(lambda s, cb: tiny_fit(s, cb), controls(epochs=6))
    panel.start()
    assert panel.wait(60)
    assert drawn == [1, 6]
