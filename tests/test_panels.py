"""labkit.panels: the lessons' retrain panels, on tiny data (1 epoch)."""

from __future__ import annotations

import math

import pytest

keras = pytest.importorskip("keras")

from labkit import panels, scratch  # noqa: E402
from labkit.config import QUICK  # noqa: E402


def test_scratch_panel_controls_and_one_run(quick_lab, tiny_data, run_panel):
    panel = panels.scratch_panel(quick_lab, tiny_data, title="try it")
    assert list(panel.controls) == ["network", "optimizer", "inputs", "lr", "epochs"]
    assert panel.settings()["optimizer"] == "adam"
    assert panel.settings()["inputs"] == "0-1 (Rescaling layer)"
    assert panel.settings()["lr"] == pytest.approx(1e-3)
    assert panel.settings()["epochs"] == QUICK.epochs
    run = run_panel(panel, epochs=1)
    assert run.epochs == 1 and run.settings["epochs"] == 1 and not run.stopped
    assert run.name == "run 1" and run.best("val_accuracy") is not None


def test_scratch_panel_schedule_control(quick_lab, tiny_data):
    panel = panels.scratch_panel(quick_lab, tiny_data, title="lr", schedule=True, optimizer="sgd")
    assert list(panel.controls)[-1] == "schedule"
    assert panel.settings()["schedule"] == "constant"
    (plateau,) = panels._plateau_callbacks({"schedule": "ReduceLROnPlateau"})
    assert isinstance(plateau, keras.callbacks.ReduceLROnPlateau)
    assert panels._plateau_callbacks({"schedule": "constant"}) == []


def test_panel_fit_settings(quick_lab):
    fit = panels._fit(quick_lab, {"epochs": 3, "lr": 0.01}, ["cb"])
    assert (fit.epochs, fit.lr, fit.seed, fit.progress, fit.callbacks) == (3, 0.01, 0, False,
                                                                          ("cb",))
    assert panels._fit(quick_lab, {"epochs": 2}, [], batch_size=8).batch_size == 8
    assert panels._fit(quick_lab, {"epochs": 2}, []).lr == 1e-3  # no LR control: the default


@pytest.mark.parametrize("lr", [math.nan, math.inf, -1e-3, 0.0])
def test_panels_refuse_a_learning_rate_that_cannot_train(quick_lab, tiny_data, lr):
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        panels.scratch_panel(quick_lab, tiny_data, title="x", lr=lr)
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        panels.batchnorm_panel(quick_lab, tiny_data, images=None, head=None, lr=lr)


@pytest.mark.parametrize("strategy", panels.STRATEGIES)
def test_finetune_panel_trains_on_the_chosen_labels_per_class(quick_lab, tiny_data, run_panel,
                                                               strategy):
    import dataclasses

    from labkit import transfer

    lab = dataclasses.replace(quick_lab, profile=dataclasses.replace(QUICK, base_size=32,
                                                                     head_epochs=1))
    base, caffe = transfer.lesson_base(lab.profile)
    images = transfer.prepare(tiny_data, caffe, size=32)
    feats = transfer.features(base, tiny_data, caffe, size=32)
    panel = panels.finetune_panel(lab, tiny_data, images, feats)
    assert list(panel.controls) == ["per_class", "strategy", "blocks", "lr", "epochs"]
    run = run_panel(panel, per_class=1, strategy=strategy, blocks=1, epochs=1)
    assert run.epochs == 1 and math.isfinite(run.last("loss"))


def test_a_second_click_reuses_the_traced_model_and_repeats_the_numbers(quick_lab, tiny_data,
                                                                        run_panel):
    panel = panels.scratch_panel(quick_lab, tiny_data, title="twice")
    first, second = run_panel(panel, epochs=1), run_panel(panel, epochs=1)
    assert second.history == first.history  # same seed, same settings: the same run
    fit = panels._fit(quick_lab, panel.settings(), [], optimizer="adam")
    _, fresh = scratch.train_scratch(tiny_data, name="fresh", fit=fit, network=scratch.FORUM)
    assert fresh.history == first.history  # a click trains as a model built for it would
    panel.controls["lr"].value = 1e-2
    third = run_panel(panel, epochs=1)
    assert third.history["val_loss"] != first.history["val_loss"]  # the new rate took effect


def test_capstone_panel_switches_each_fault_and_notes_the_test_accuracy(quick_lab, tiny_data,
                                                                        run_panel):
    import dataclasses

    import numpy as np

    def up(x):  # 16x16 -> 32x32: the base's five poolings need 32 pixels
        return np.repeat(np.repeat(x, 2, axis=1), 2, axis=2)

    data = dataclasses.replace(tiny_data, x_train=up(tiny_data.x_train),
                               x_val=up(tiny_data.x_val), x_test=up(tiny_data.x_test))
    panel = panels.capstone_panel(quick_lab, data)
    assert list(panel.controls) == ["split", "inputs", "head", "plan", "size", "epochs"]
    assert panel.settings()["size"] == 32
    assert panel.controls["size"].options == (32, QUICK.base_size)
    as_found = run_panel(panel, epochs=1)
    assert as_found.note.startswith("test accuracy ") and as_found.note.endswith("%")
    assert as_found.epochs == 1
    fixed = run_panel(panel, split="stratified", inputs="caffe", head="softmax",
                      size=QUICK.base_size, plan="head first, then fine-tune", epochs=1)
    from labkit.lessons import capstone

    assert fixed.epochs == 1 + capstone.FINE_TUNE_EPOCHS  # both stages on one curve
    assert "test accuracy" in panel.status.value and "result" in panel.table.value


@pytest.mark.parametrize("fix", ["none", "class weights", "oversampling", "targeted augmentation"])
def test_imbalance_panel_trains_with_each_fix(quick_lab, tiny_data, run_panel, fix):
    import dataclasses

    from labkit import transfer
    from labkit.lessons import overfitting

    lab = dataclasses.replace(quick_lab, profile=dataclasses.replace(QUICK, base_size=32))
    base, caffe = transfer.lesson_base(lab.profile)
    panel = panels.imbalance_panel(lab, tiny_data, base, caffe, rare=[2, 3],
                                   augment=overfitting.augmentation_layers(0.1, seed=0))
    from labkit.lessons import imbalance

    assert panel.controls["fix"].options == imbalance.FIXES
    run = run_panel(panel, ratio=2, fix=fix, epochs=1)
    assert run.epochs == 1 and math.isfinite(run.last("loss"))
    without = panels.imbalance_panel(lab, tiny_data, base, caffe, rare=[2, 3])
    assert "targeted augmentation" not in without.controls["fix"].options


def test_batch_size_panel_trains_at_batch_one_and_states_its_cost(quick_lab, tiny_data, run_panel):
    from labkit.transfer import Features

    flat = {s: getattr(tiny_data, f"x_{s}").reshape(len(getattr(tiny_data, f"x_{s}")), -1)
            .astype("float32") / 255 for s in ("train", "val", "test")}
    panel = panels.batch_size_panel(quick_lab, tiny_data, Features(**flat))
    assert list(panel.controls) == ["batch_size", "batchnorm", "lr", "epochs"]
    assert panel.settings()["batch_size"] == 64 and panel.settings()["batchnorm"] == "yes"
    header = panel.widget.children[1].value
    assert "What a click costs" in header and "batch 1 is 24 steps per epoch" in header
    run = run_panel(panel, batch_size=1, batchnorm="no", epochs=1)
    assert run.epochs == 1 and math.isfinite(run.last("loss"))


def test_every_panel_states_what_a_click_costs(quick_lab, tiny_data):
    panel = panels.scratch_panel(quick_lab, tiny_data, title="x")
    header = panel.widget.children[1].value
    assert "What a click costs: the CNN trains from scratch on 24 images" in header
    assert "(1 step of batch 64 per epoch)" in header
    assert "a head trains on 24 images' cached frozen-base features" in panels.head_cost(24)
