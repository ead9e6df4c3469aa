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


def finetune_panel(lab: Lab, data: LessonData, images, head) -> widgets.RetrainPanel:
    """Fine-tune a fresh copy of the pretrained base + a copy of the stage-1 ``head``."""
    import keras

    from labkit import transfer

    controls = {
        "blocks": widgets.int_slider("unfrozen top blocks", 2, 0, 5),
        "lr": widgets.lr_slider(1e-5, min_exp=-6, max_exp=-2),
        "epochs": widgets.epochs_slider(lab.profile.finetune_epochs, max=15),
    }
    head_weights = head.get_weights()

    def train_fn(settings: dict[str, Any], callbacks: list):
        base, _ = transfer.lesson_base(lab.profile)
        head_copy = keras.models.clone_model(head)
        head_copy.set_weights(head_weights)
        _, run = transfer.finetune(base, images, data, name="panel", epochs=settings["epochs"],
                                   lr=settings["lr"], unfreeze_blocks=settings["blocks"],
                                   head=head_copy, seed=lab.seed, callbacks=callbacks,
                                   progress=False)
        return run

    return widgets.RetrainPanel(train_fn, controls, title="Staged fine-tuning")


def resolution_panel(lab: Lab, data: LessonData) -> widgets.RetrainPanel:
    """Train a head on the frozen base at a chosen input size, cut after a chosen block."""
    from labkit import models, transfer

    controls = {
        "size": widgets.dropdown("input size", [lab.profile.image_size, 48, lab.profile.base_size],
                                 lab.profile.image_size),
        "cut": widgets.dropdown("cut after", ["block5", "block4", "block3"], "block5"),
        "epochs": widgets.epochs_slider(lab.profile.head_epochs, max=40),
    }

    def train_fn(settings: dict[str, Any], callbacks: list):
        base, preprocess = transfer.lesson_base(lab.profile, size=settings["size"])
        base = models.cut_after(base, settings["cut"])
        feats = transfer.features(base, data, preprocess, size=settings["size"])
        _, run = transfer.train_head(feats, data, name="panel", epochs=settings["epochs"],
                                     seed=lab.seed, callbacks=callbacks)
        return run

    return widgets.RetrainPanel(train_fn, controls, title="Input size and depth")


IMBALANCE_FIXES = ("none", "class weights", "oversampling")


def imbalance_panel(lab: Lab, data: LessonData, base, preprocess,
                    rare: list[int]) -> widgets.RetrainPanel:
    """Head on the frozen base, trained on a step-imbalanced set with a chosen fix."""
    import dataclasses

    from labkit import data as datasets
    from labkit import transfer

    controls = {
        "ratio": widgets.int_slider("rarity ratio", 20, 1, 50),
        "fix": widgets.dropdown("fix", list(IMBALANCE_FIXES), "none"),
        "epochs": widgets.epochs_slider(lab.profile.head_epochs, max=40),
    }

    def train_fn(settings: dict[str, Any], callbacks: list):
        x, y = datasets.make_imbalanced(data.x_train, data.y_train, ratio=settings["ratio"],
                                        minority_classes=rare, seed=lab.seed)
        imbalanced = dataclasses.replace(data, x_train=x, y_train=y)
        feats = transfer.features(base, imbalanced, preprocess, size=lab.profile.base_size)
        extra: dict[str, Any] = {}
        if settings["fix"] == "class weights":
            extra["class_weight"] = datasets.class_weights(y, data.n_classes)
        elif settings["fix"] == "oversampling":
            extra["x_train"], extra["y_train"] = datasets.oversample(feats.train, y, seed=lab.seed)
        _, run = transfer.train_head(feats, imbalanced, name="panel", epochs=settings["epochs"],
                                     seed=lab.seed, callbacks=callbacks, **extra)
        return run

    return widgets.RetrainPanel(train_fn, controls, title="Class imbalance")
