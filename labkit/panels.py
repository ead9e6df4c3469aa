"""The "try it yourself" panels of the lessons: a RetrainPanel wired to each lesson's training."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labkit import scratch, train, widgets
from labkit.lessondata import LessonData
from labkit.session import Lab
from labkit.train import FitSettings
from labkit.warm import WarmModels

INPUTS = {"0-1 (Rescaling layer)": True, "raw 0-255": False}


def _fit(lab: Lab, settings: dict[str, Any], callbacks: list, **changes) -> FitSettings:
    """A panel run's fit settings: the panel's epochs (and LR, if it has that control), the
    lab's seed, the panel's callbacks, no epoch lines, a tf.data feed (``FitSettings.feed``);
    ``changes`` override any of them."""
    values: dict[str, Any] = {"epochs": settings["epochs"], "seed": lab.seed,
                              "callbacks": tuple(callbacks), "progress": False,
                              "feed": "pipeline"}
    if "lr" in settings:
        values["lr"] = settings["lr"]
    return FitSettings(**{**values, **changes})


def _steps(n: int, batch_size: int) -> str:
    steps = -(-n // batch_size)
    return f"{steps:,} step{'' if steps == 1 else 's'} of batch {batch_size} per epoch"


def scratch_cost(n_train: int, n_val: int) -> str:
    """What a click of a from-scratch panel costs: every epoch through every training image."""
    return (f"the CNN trains from scratch on {n_train:,} images ({_steps(n_train, 64)}) for the "
            f"chosen epochs, and scores {n_val:,} validation images after each")


def head_cost(n_train: int, batch_size: int = 64) -> str:
    """What a click of a cached-features panel costs: a head only, the base never runs."""
    return (f"a head trains on {n_train:,} images' cached frozen-base features "
            f"({_steps(n_train, batch_size)}); the base does not run")


def _plateau_callbacks(settings: dict[str, Any]) -> list:
    import keras

    if settings.get("schedule") == "ReduceLROnPlateau":
        return [keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.3, patience=1)]
    return []


NETWORKS = {"forum (no BatchNorm)": scratch.FORUM, "forum, Flatten head": scratch.FORUM_FLATTEN,
            "course (BatchNorm)": scratch.COURSE}


def scratch_panel(lab: Lab, data: LessonData, *, title: str, lr: float = 1e-3,
                  optimizer: str = "adam", inputs: str = "0-1 (Rescaling layer)",
                  schedule: bool = False, network: str = "forum (no BatchNorm)"
                  ) -> widgets.RetrainPanel:
    """Retrain a from-scratch CNN (``NETWORKS``) with a chosen optimizer, input scale and LR."""
    controls = {
        "network": widgets.dropdown("network", list(NETWORKS), network),
        "optimizer": widgets.dropdown("optimizer", ["adam", "sgd"], optimizer),
        "inputs": widgets.dropdown("inputs", list(INPUTS), inputs),
        "lr": widgets.lr_slider(lr),
        "epochs": widgets.epochs_slider(lab.profile.epochs, max=30),
    }
    if schedule:
        controls["schedule"] = widgets.dropdown("schedule", ["constant", "ReduceLROnPlateau"])
    warm = WarmModels()

    def train_fn(settings: dict[str, Any], callbacks: list):
        fit = _fit(lab, settings, _plateau_callbacks(settings) + callbacks,
                   optimizer=settings["optimizer"])
        _, run = scratch.train_scratch(data, name="panel", fit=fit,
                                       network=NETWORKS[settings["network"]],
                                       rescale=INPUTS[settings["inputs"]], warm=warm)
        return run

    return widgets.RetrainPanel(train_fn, controls, title=title,
                                cost=scratch_cost(len(data.x_train), len(data.x_val)))


STRATEGIES = ("head first, then the top blocks", "all at once, fresh head")


def finetune_panel(lab: Lab, data: LessonData, images, feats) -> widgets.RetrainPanel:
    """Fine-tune a fresh copy of the pretrained base on ``per_class`` labelled images per class:
    head first (trained on the frozen ``feats``), then the top blocks; or all at once with a
    fresh head, as the wild snippet of lesson 02 does."""
    from labkit import models, splits, transfer

    controls = {
        "per_class": widgets.int_slider("labelled images per class", 10, 1, 200),
        "strategy": widgets.dropdown("strategy", list(STRATEGIES), STRATEGIES[0]),
        "blocks": widgets.int_slider("unfrozen top blocks", 2, 0, 5),
        "lr": widgets.lr_slider(1e-5, min_exp=-6, max_exp=-2),
        "epochs": widgets.epochs_slider(10, max=30),
    }

    def train_fn(settings: dict[str, Any], callbacks: list):
        idx = splits.per_class_indices(data.y_train, settings["per_class"], seed=lab.seed)
        few, few_images = data.with_train(idx), images.with_train(idx)
        base, _ = transfer.lesson_base(lab.profile)
        fit = _fit(lab, settings, callbacks)
        if settings["strategy"] == STRATEGIES[1]:
            _, run = transfer.finetune(base, few_images, few, name="panel", fit=fit, hidden=256)
            return run
        head_fit = FitSettings(epochs=lab.profile.head_epochs, seed=lab.seed, progress=False)
        head, _ = transfer.train_head(feats.with_train(idx), few, fit=head_fit)
        _, run = transfer.finetune(base, few_images, few, name="panel", fit=fit,
                                   unfreeze_blocks=settings["blocks"], head=models.copy_model(head))
        return run

    side = lab.profile.base_size
    return widgets.RetrainPanel(
        train_fn, controls, title="Fine-tuning: labels per class",
        cost=(f"a head on the chosen images' cached features first (staged strategy), then a "
              f"fresh copy of the base fine-tuned through those images at {side}x{side}: "
              "10 images per class are 10 x 10 images per epoch, 200 per class 20 times more"))


def resolution_panel(lab: Lab, data: LessonData) -> widgets.RetrainPanel:
    """Train a head on the frozen base at a chosen input size, cut after a chosen block."""
    from labkit import models, transfer

    controls = {
        "size": widgets.dropdown("input size", [lab.profile.image_size, 48, lab.profile.base_size],
                                 lab.profile.image_size),
        "cut": widgets.dropdown("cut after", ["block5", "block4", "block3"], "block5"),
        "epochs": widgets.epochs_slider(lab.profile.head_epochs, max=40),
    }
    warm, bases = WarmModels(), {}

    def train_fn(settings: dict[str, Any], callbacks: list):
        where = (settings["size"], settings["cut"])
        if where not in bases:  # loading the weights again would cost more than the head
            base, preprocess = transfer.lesson_base(lab.profile, size=settings["size"])
            bases[where] = models.cut_after(base, settings["cut"]), preprocess
        base, preprocess = bases[where]
        feats = transfer.features(base, data, preprocess, size=settings["size"])
        _, run = transfer.train_head(feats, data, name="panel",
                                     fit=_fit(lab, settings, callbacks), warm=warm)
        return run

    n_all = len(data.x_train) + len(data.x_val) + len(data.x_test)
    return widgets.RetrainPanel(
        train_fn, controls, title="Input size and depth",
        cost=(f"the first click at a size and cut runs the base over all {n_all:,} images at "
              f"that size (later clicks reuse those features); then "
              f"{head_cost(len(data.x_train))}"))


def imbalance_panel(lab: Lab, data: LessonData, base, preprocess, rare: list[int],
                    augment=None) -> widgets.RetrainPanel:
    """Head on the frozen base, trained on a step-imbalanced set with a chosen fix.

    ``augment`` (a Keras augmentation model) adds the fix "targeted augmentation": the rare
    classes topped up with augmented copies of their images, whose features the frozen base
    then computes (a click costs that extraction too). Fixes: ``imbalance.fix_arguments``.
    """
    import dataclasses

    from labkit import splits, transfer
    from labkit.lessons import imbalance

    fixes = [f for f in imbalance.FIXES if augment is not None or f != "targeted augmentation"]
    controls = {
        "ratio": widgets.int_slider("rarity ratio", 20, 1, 50),
        "fix": widgets.dropdown("fix", fixes, "none"),
        "epochs": widgets.epochs_slider(lab.profile.head_epochs, max=40),
    }
    warm = WarmModels()

    def train_fn(settings: dict[str, Any], callbacks: list):
        x, y = splits.make_imbalanced(data.x_train, data.y_train, ratio=settings["ratio"],
                                        minority_classes=rare, seed=lab.seed)
        imbalanced = dataclasses.replace(data, x_train=x, y_train=y)
        feats = transfer.features(base, imbalanced, preprocess, size=lab.profile.base_size)
        extra = imbalance.fix_arguments(settings["fix"], x, y, feats.train, base=base,
                                        preprocess=preprocess, size=lab.profile.base_size,
                                        n_classes=data.n_classes, seed=lab.seed,
                                        augment=augment)
        _, run = transfer.train_head(feats, imbalanced, name="panel",
                                     fit=_fit(lab, settings, callbacks), warm=warm, **extra)
        return run

    return widgets.RetrainPanel(
        train_fn, controls, title="Class imbalance",
        cost=("a head on cached frozen-base features (the base runs only on images it has not "
              "seen: a new rarity ratio's set, and the new images of targeted augmentation)"))


SPLITS = ("validation_split on sorted data", "stratified split (shuffled)")


def split_panel(lab: Lab, data: LessonData, x_sorted, y_sorted) -> widgets.RetrainPanel:
    """Train the scratch CNN with Keras' ``validation_split`` on sorted data, or a proper split."""
    import dataclasses

    from labkit import splits

    controls = {
        "split": widgets.dropdown("split", list(SPLITS), SPLITS[0]),
        "fraction": widgets.float_slider("validation fraction", 0.2, 0.1, 0.5, 0.05),
        "epochs": widgets.epochs_slider(lab.profile.epochs, max=30),
    }
    warm = WarmModels()

    def train_fn(settings: dict[str, Any], callbacks: list):
        common = dict(name="panel", fit=_fit(lab, settings, callbacks), warm=warm)
        if settings["split"] == SPLITS[0]:
            _, run = scratch.train_scratch(data, x_train=x_sorted, y_train=y_sorted,
                                           validation_split=settings["fraction"], **common)
        else:
            x_tr, y_tr, x_va, y_va = splits.stratified_split(
                x_sorted, y_sorted, settings["fraction"], seed=lab.seed)
            split = dataclasses.replace(data, x_train=x_tr, y_train=y_tr, x_val=x_va, y_val=y_va)
            _, run = scratch.train_scratch(split, **common)
        return run

    return widgets.RetrainPanel(train_fn, controls, title="Validation split",
                                cost=(f"the CNN trains from scratch on {len(x_sorted):,} "
                                      "images less the validation fraction for the chosen "
                                      "epochs, and scores the held-out images after each"))


def head_and_loss_panel(lab: Lab, data: LessonData, feats,
                variant: str = "sigmoid + binary CE") -> widgets.RetrainPanel:
    """Train a head + loss variant of lesson 08 (``HEAD_VARIANTS``) on frozen features.

    The curves show the true (arg-max) accuracy, whatever metric the variant compiles with; a
    variant Keras refuses ends the run with its error in the status line.
    """
    from labkit.lessons import head_and_loss

    controls = {
        "variant": widgets.dropdown("head + loss", list(head_and_loss.HEAD_VARIANTS), variant),
        "lr": widgets.lr_slider(1e-3, min_exp=-5, max_exp=-1),
        "epochs": widgets.epochs_slider(lab.profile.head_epochs, max=40),
    }

    def train_fn(settings: dict[str, Any], callbacks: list):
        result = head_and_loss.train_variant(feats, data, settings["variant"],
                                             fit=_fit(lab, settings, callbacks))
        if result.failed:
            raise RuntimeError(result.error)
        return result.run

    return widgets.RetrainPanel(train_fn, controls, title="Head and loss", metric="true_accuracy",
                                cost=head_cost(len(feats.train)))


AUGMENT_STRENGTHS = {"none": None, "0.05": 0.05, "0.1": 0.1, "0.2": 0.2}
L2_PENALTIES = (0.0, 1e-5, 1e-4, 1e-3)
PATIENCES = {"off": None, "5 epochs": 5, "10 epochs": 10}


def overfit_panel(lab: Lab, data: LessonData, x_train, y_train, *, epochs: int,
                  augment: str = "none", dropout: float = 0.0, l2: float = 0.0,
                  patience: str = "off") -> widgets.RetrainPanel:
    """Lesson 07: the high-capacity CNN on a small training set, with chosen regularisers."""
    from labkit.lessons import overfitting

    controls = {
        "augment": widgets.dropdown("augmentation strength", list(AUGMENT_STRENGTHS), augment),
        "dropout": widgets.float_slider("dropout", dropout, 0.0, 0.6),
        "l2": widgets.dropdown("L2 weight decay", L2_PENALTIES, l2),
        "patience": widgets.dropdown("early stopping", list(PATIENCES), patience),
        "epochs": widgets.epochs_slider(epochs, max=60),
    }

    def train_fn(settings: dict[str, Any], callbacks: list):
        _, run = overfitting.train_overfit(
            x_train, y_train, (data.x_val, data.y_val), data.n_classes, name="panel",
            fit=_fit(lab, settings, callbacks, batch_size=overfitting.BATCH_SIZE),
            augment=AUGMENT_STRENGTHS[settings["augment"]], dropout=settings["dropout"],
            l2=settings["l2"], patience=PATIENCES[settings["patience"]])
        return run

    return widgets.RetrainPanel(
        train_fn, controls, title="Overfitting: regularise it",
        cost=(f"the high-capacity CNN trains from scratch on {len(x_train):,} images for the "
              f"chosen epochs (batch {overfitting.BATCH_SIZE}), scoring {len(data.x_val):,} "
              "validation images after each"))


SERVING = {  # served validation images: what each serving loader returns for the PNG files
    "keras.utils.load_img (RGB)": "RGB",
    "cv2.imread (BGR)": "BGR",
    "cv2.imread + cvtColor(BGR2RGB)": "RGB",
}


def channel_order_panel(lab: Lab, data: LessonData, train_sets: dict[str, Any],
                 serving: str = "cv2.imread (BGR)") -> widgets.RetrainPanel:
    """Lesson 09: the scratch CNN on one of ``train_sets``, validated on images served one way.

    ``train_sets`` maps a name to training images in ``data.y_train``'s order (RGB, grayscale
    with one channel, or mixed). Served validation images are ``data.x_val`` with red and blue
    swapped for "cv2.imread (BGR)" (what cv2.imread returns for PNGs of them), then converted to
    grayscale (luma) when the chosen training images have one channel.
    """
    import dataclasses

    import numpy as np

    from labkit.lessons import channel_order

    if not train_sets:
        raise ValueError("train_sets is empty; pass {name: training images}")
    for name, x in train_sets.items():
        if len(x) != len(data.y_train):
            raise ValueError(f"train_sets[{name!r}] has {len(x)} images but data.y_train has "
                             f"{len(data.y_train)} labels; pass images in data.y_train's order")
    if serving not in SERVING:
        raise ValueError(f"serving must be one of {list(SERVING)}, got {serving!r}")
    controls = {
        "training": widgets.dropdown("training images", list(train_sets)),
        "serving": widgets.dropdown("served images", list(SERVING), serving),
        "epochs": widgets.epochs_slider(lab.profile.epochs, max=30),
    }
    warm = WarmModels()

    def train_fn(settings: dict[str, Any], callbacks: list):
        x_train = np.asarray(train_sets[settings["training"]])
        bgr = SERVING[settings["serving"]] == "BGR"
        x_val = data.x_val[..., ::-1] if bgr else data.x_val
        if x_train.shape[-1] == 1:
            x_val = channel_order.to_grayscale(x_val)
        split = dataclasses.replace(data, x_train=x_train, x_val=x_val)
        _, run = scratch.train_scratch(split, name="panel", fit=_fit(lab, settings, callbacks),
                                       warm=warm)
        return run

    return widgets.RetrainPanel(train_fn, controls, title="Training and serving loaders",
                                cost=scratch_cost(len(data.x_train), len(data.x_val)))


BATCH_SIZES = (2, 4, 8, 16, 32, 64, 128)


def batchnorm_panel(lab: Lab, data: LessonData, images, head, *, lr: float = 1e-5,
                    batch_size: int = 8) -> widgets.RetrainPanel:
    """Lesson 10: fine-tune a fresh BatchNorm base + a copy of ``head``, BN updating or frozen."""
    from labkit import models, transfer
    from labkit.lessons import batchnorm

    controls = {
        "bn": widgets.dropdown("BatchNorm", batchnorm.BN_MODES),
        "batch_size": widgets.dropdown("batch size", BATCH_SIZES, batch_size),
        "lr": widgets.lr_slider(lr, min_exp=-6, max_exp=-2),
        "epochs": widgets.epochs_slider(lab.profile.finetune_epochs, max=15),
    }

    def train_fn(settings: dict[str, Any], callbacks: list):
        base, _ = transfer.lesson_base(lab.profile, batchnorm=True)
        result = batchnorm.finetune_with_batchnorm(
            base, models.copy_model(head), images, data, bn=settings["bn"], name="panel",
            fit=_fit(lab, settings, callbacks, batch_size=settings["batch_size"]))
        return result.run

    side = lab.profile.base_size
    return widgets.RetrainPanel(
        train_fn, controls, title="Fine-tuning a BatchNorm base",
        cost=(f"a fresh BatchNorm base fine-tuned through {len(images.train):,} images at "
              f"{side}x{side} for the chosen epochs; small batches are the slow ones"))


@dataclass
class NotedRun(train.Run):
    """A run and the one-line result its panel shows next to it (``PanelRun.note``)."""

    note: str = ""


CAPSTONE_CHOICES = {
    "split": ("validation_split on sorted data", "stratified"),
    "inputs": ("0-1", "caffe"),
    "head": ("sigmoid", "softmax"),
    "plan": ("everything at once", "head first, then fine-tune"),
}


def capstone_panel(lab: Lab, data: LessonData) -> widgets.RetrainPanel:
    """Lesson 11: the pipeline with each fault switched on or off, trained and tested.

    Controls: the split, the inputs, the size the base sees (as stored or its pretraining
    size), the head, the training plan (a staged run adds ``capstone.FINE_TUNE_EPOCHS``) and
    the epochs. Each run's note (``NotedRun``) carries its test accuracy.
    """
    from labkit.lessons import capstone

    stored, base_size = data.x_train.shape[1], lab.profile.base_size
    controls = {name: widgets.dropdown(name, list(options))
                for name, options in CAPSTONE_CHOICES.items()}
    controls["size"] = widgets.dropdown("size", sorted({stored, base_size}), stored)
    controls["epochs"] = widgets.epochs_slider(lab.profile.finetune_epochs, max=15)

    def train_fn(settings: dict[str, Any], callbacks: list):
        pipeline = capstone.Pipeline(
            split=settings["split"], inputs=settings["inputs"], head=settings["head"],
            size=settings["size"], staged=settings["plan"] == CAPSTONE_CHOICES["plan"][1])
        run, scores = capstone.run(pipeline, data, lab.profile, name="panel",
                                   epochs=settings["epochs"], seed=lab.seed, progress=False,
                                   callbacks=callbacks)
        return NotedRun(run.name, run.history, run.seconds,
                        note=f"test accuracy {scores.accuracy:.1%}")

    return widgets.RetrainPanel(
        train_fn, controls, title="The capstone pipeline, fault by fault",
        cost=(f"the pipeline trains end to end, base included, on about {len(data.x_train):,} "
              "images at the chosen size (the base's pretraining size is the slow one; a "
              "staged plan adds a head-only stage first), then scores the test images"))


BATCHES = (1, 2, 8, 64, 512, 2000)


def batch_size_panel(lab: Lab, data: LessonData, feats) -> widgets.RetrainPanel:
    """Lesson 12: a Dense -> [BatchNorm] -> ReLU -> softmax head on cached frozen features, with
    a chosen batch size, BatchNorm on or off, LR and epochs."""
    from labkit import transfer
    from labkit.lessons import more_causes

    controls = {
        "batch_size": widgets.dropdown("batch size", BATCHES, 64),
        "batchnorm": widgets.dropdown("BatchNorm", ["yes", "no"]),
        "lr": widgets.lr_slider(1e-3, min_exp=-4, max_exp=-0.5),
        "epochs": widgets.epochs_slider(lab.profile.head_epochs, max=40),
    }

    def train_fn(settings: dict[str, Any], callbacks: list):
        fit = _fit(lab, settings, callbacks, batch_size=settings["batch_size"])
        _, run = transfer.train_head(
            feats, data, name="panel", fit=fit,
            build_head=more_causes.head_builder(batchnorm=settings["batchnorm"] == "yes"))
        return run

    n = len(feats.train)
    return widgets.RetrainPanel(
        train_fn, controls, title="Batch size and BatchNorm",
        cost=(f"a head on {n:,} images' cached frozen-base features: {n:,} / batch size steps "
              f"per epoch, so batch 1 is {n:,} steps per epoch and by far the slowest"))
