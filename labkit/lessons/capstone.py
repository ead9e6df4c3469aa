"""The capstone (notebook 11): a pipeline with one switch per fault, fixed one at a time."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from labkit import doctor, models, splits, train, transfer
from labkit.config import Profile, seed_everything
from labkit.lessondata import LessonData


@dataclass(frozen=True)
class Pipeline:
    """How the learner's pipeline is set up; the defaults are the broken one."""

    split: str = "validation_split on sorted data"  # or "stratified"
    head: str = "sigmoid"  # or "softmax"
    inputs: str = "0-1"  # or "caffe" (the base's own preprocessing)
    size: int = 32  # or the base's pretraining size
    base_trainable: bool = True  # False: frozen base, head only
    lr: float = 1e-3
    # True: lesson 02's recipe. The head first on the frozen base (at ``lr``), then every block
    # at ``finetune_lr`` for ``FINE_TUNE_EPOCHS``; the doctor examines the second stage.
    staged: bool = False
    finetune_lr: float = transfer.FINE_TUNE_FIT.lr

    def fixed(self, **changes) -> Pipeline:
        """A copy with some faults fixed."""
        return dataclasses.replace(self, **changes)


FINE_TUNE_EPOCHS = transfer.FINE_TUNE_FIT.epochs  # a staged pipeline's second stage


def build(p: Pipeline, profile: Profile, n_classes: int):
    """The Keras model for a pipeline: [Resizing] -> scaling -> base -> Flatten -> head.

    A ``staged`` pipeline is built as its second stage trains: every block trainable, compiled
    at ``finetune_lr``.
    """
    import keras

    base, _ = models.backbone(profile.backbone, input_shape=(p.size, p.size, 3))
    base.trainable = p.base_trainable or p.staged
    inputs = keras.Input((profile.image_size, profile.image_size, 3), name="images")
    x = inputs
    if p.size != profile.image_size:
        x = keras.layers.Resizing(p.size, p.size, name="resize")(x)
    if p.inputs == "0-1":
        x = keras.layers.Rescaling(1 / 255, name="scale_0_1")(x)
    else:
        x = models.caffe_layer()(x)
    x = keras.layers.Flatten(name="flatten")(base(x))
    outputs = keras.layers.Dense(n_classes, activation=p.head, name="head")(x)
    model = keras.Model(inputs, outputs, name="learner_pipeline")
    compile_at(model, p.finetune_lr if p.staged else p.lr)
    return model, base


def compile_at(model, lr: float) -> None:
    """Compile the pipeline's model with Adam at ``lr`` (again after ``trainable`` changes)."""
    import keras

    model.compile(optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])


def training_arrays(p: Pipeline, data: LessonData, seed: int):
    """``(x, y, fit_kwargs)``: sorted arrays + ``validation_split``, or a stratified split."""
    x_sorted, y_sorted = data.pooled_by_class()
    if p.split == "stratified":
        x_tr, y_tr, x_va, y_va = splits.stratified_split(x_sorted, y_sorted, 0.2, seed=seed)
        return x_tr, y_tr, {"validation_data": (x_va, y_va)}
    return x_sorted, y_sorted, {"validation_split": 0.2}


def examine(p: Pipeline, data: LessonData, profile: Profile, seed: int = 0,
            run_lr_test: bool = False) -> doctor.Report:
    """Run the doctor on the pipeline as built (before training)."""
    seed_everything(seed)
    model, base = build(p, profile, data.n_classes)
    x, y, kwargs = training_arrays(p, data, seed)
    return doctor.diagnose(model, x, y, base=base, run_lr_test=run_lr_test,
                           validation_split=kwargs.get("validation_split"))


def run(p: Pipeline, data: LessonData, profile: Profile, *, name: str, epochs: int,
        seed: int = 0, progress: bool = True, callbacks: list | None = None):
    """Train the pipeline for ``epochs`` (a staged one: the head for ``epochs``, then every
    block for ``FINE_TUNE_EPOCHS``); returns ``(run, test scores)``. ``callbacks`` (Keras
    callbacks, e.g. a panel's live curves) follow both stages."""
    seed_everything(seed)
    first = p.fixed(staged=False, base_trainable=False) if p.staged else p
    model, base = build(first, profile, data.n_classes)
    x, y, kwargs = training_arrays(p, data, seed)
    fitted = train.fit(model, x, y, name=name, epochs=epochs, progress=progress,
                       callbacks=callbacks, **kwargs)
    if p.staged:
        base.trainable = True
        compile_at(model, p.finetune_lr)
        fitted = fitted.followed_by(train.fit(model, x, y, name=name, epochs=FINE_TUNE_EPOCHS,
                                              progress=progress, callbacks=callbacks,
                                              **kwargs))
    return fitted, train.evaluate(model, data.x_test, data.y_test, data.n_classes)
