"""The "try it yourself" panels of the lessons: a RetrainPanel wired to each lesson's training."""

from __future__ import annotations

from typing import Any

from labkit import scratch, widgets
from labkit.lessondata import LessonData
from labkit.session import Lab

INPUTS = {"0-1 (Rescaling layer)": True, "raw 0-255": False}


def _plateau_callbacks(settings: dict[str, Any]) -> list:
    import keras

    if settings.get("schedule") == "ReduceLROnPlateau":
        return [keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.3, patience=1)]
    return []


def scratch_panel(lab: Lab, data: LessonData, *, title: str, lr: float = 1e-3,
                  optimizer: str = "adam", inputs: str = "0-1 (Rescaling layer)",
                  schedule: bool = False) -> widgets.RetrainPanel:
    """Retrain the lessons' from-scratch CNN with a chosen optimizer, input scale and LR."""
    controls = {
        "optimizer": widgets.dropdown("optimizer", ["adam", "sgd"], optimizer),
        "inputs": widgets.dropdown("inputs", list(INPUTS), inputs),
        "lr": widgets.lr_slider(lr),
        "epochs": widgets.epochs_slider(lab.profile.epochs, max=30),
    }
    if schedule:
        controls["schedule"] = widgets.dropdown("schedule", ["constant", "ReduceLROnPlateau"])

    def train_fn(settings: dict[str, Any], callbacks: list):
        _, run = scratch.train_scratch(
            data, name="panel", epochs=settings["epochs"], lr=settings["lr"],
            optimizer=settings["optimizer"], rescale=INPUTS[settings["inputs"]],
            callbacks=_plateau_callbacks(settings) + callbacks, seed=lab.seed, progress=False)
        return run

    return widgets.RetrainPanel(train_fn, controls, title=title)
