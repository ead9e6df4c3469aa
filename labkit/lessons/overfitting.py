"""Overfitting and its fixes (lesson 07): a high-capacity CNN on a small training set, and the
standard cures: augmentation layers, dropout, L2 weight decay and early stopping.

Everything here is the Keras 3 way: augmentation is a stack of ``keras.layers.Random*`` layers
inside the model (active only in training), not the legacy ``ImageDataGenerator``.
"""

from __future__ import annotations

import numpy as np

from labkit import models, train
from labkit.config import seed_everything
from labkit.splits import per_class_indices
from labkit.train import FitSettings

MAX_STRENGTH = 0.5
BATCH_SIZE = 32  # the lesson's batch size: small, as tutorials use for small sets


def balanced_subset(x: np.ndarray, y: np.ndarray, per_class: int,
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``per_class`` random images of every class (seeded), shuffled: a small training set
    (``splits.per_class_indices``)."""
    idx = per_class_indices(y, per_class, seed=seed)
    return np.asarray(x)[idx], np.asarray(y)[idx]


def augmentation_layers(strength: float = 0.1, seed: int | None = None):
    """Keras 3 augmentation as one model: flip, rotate, shift and zoom, all scaled by ``strength``.

    ``strength`` is a fraction: 0.1 = rotations up to 0.1 x 360 degrees (36), shifts up to 10%
    of the width and height, zoom up to +-10%. The layers are active only when the model is
    called with ``training=True`` (``model.fit``); ``predict`` and ``evaluate`` see the image
    unchanged. ``fill_mode="reflect"`` fills the new borders (Keras' default).
    """
    import keras
    from keras import layers

    if not 0 < strength <= MAX_STRENGTH:
        raise ValueError(f"strength must be in (0, {MAX_STRENGTH}], got {strength!r} "
                         "(use augment=None for no augmentation)")
    seeds = [None] * 4 if seed is None else [seed + i for i in range(4)]
    return keras.Sequential([
        layers.RandomFlip("horizontal", seed=seeds[0]),
        layers.RandomRotation(strength, seed=seeds[1]),
        layers.RandomTranslation(strength, strength, seed=seeds[2]),
        layers.RandomZoom(strength, seed=seeds[3]),
    ], name="augment")


def overfit_cnn(input_shape: tuple[int, int, int], n_classes: int, *, widths=(16, 32),
                hidden: int = 256, dropout: float = 0.0, l2: float = 0.0,
                augment: float | None = None, seed: int | None = None):
    """The classic high-capacity CNN of tutorials: conv blocks -> Flatten -> Dense(hidden).

    ``Rescaling(1/255)`` -> [augmentation layers] -> (conv-conv-pool) per width -> Flatten ->
    Dense(hidden, relu) -> [Dropout] -> softmax. ``augment``: an augmentation strength (see
    ``augmentation_layers``) or ``None``; ``dropout``: rate before the output layer (and half of
    it after each conv block); ``l2``: L2 penalty on every kernel (``kernel_regularizer``).
    """
    import keras
    from keras import layers

    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    if l2 < 0:
        raise ValueError(f"l2 must be >= 0, got {l2!r}")
    reg = keras.regularizers.L2(l2) if l2 else None
    inputs = keras.Input(input_shape, name="images")
    x = layers.Rescaling(1 / 255, name="rescale")(inputs)
    if augment:
        x = augmentation_layers(augment, seed=seed)(x)
    for i, width in enumerate(widths, start=1):
        for part in "ab":
            x = layers.Conv2D(width, 3, padding="same", activation="relu",
                              kernel_regularizer=reg, name=f"conv{i}{part}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
        if dropout:
            x = layers.Dropout(dropout / 2, seed=seed, name=f"drop{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(hidden, activation="relu", kernel_regularizer=reg, name="dense")(x)
    if dropout:
        x = layers.Dropout(dropout, seed=seed, name="dropout")(x)
    outputs = layers.Dense(n_classes, activation="softmax", kernel_regularizer=reg,
                           name="classes")(x)
    return keras.Model(inputs, outputs, name="overfit_cnn")


def early_stopping(patience: int = 5, monitor: str = "val_loss"):
    """Stop after ``patience`` epochs without improvement and keep the best epoch's weights."""
    import keras

    return keras.callbacks.EarlyStopping(monitor=monitor, patience=patience,
                                         restore_best_weights=True)


def train_overfit(x_train: np.ndarray, y_train: np.ndarray, validation_data, n_classes: int, *,
                  name: str, fit: FitSettings, dropout: float = 0.0, l2: float = 0.0,
                  augment: float | None = None, patience: int | None = None):
    """Seed, build ``overfit_cnn`` with the given regularisers, compile and train with ``fit``.

    ``patience``: add ``early_stopping(patience)`` after ``fit.callbacks`` (best weights
    restored at the end). The lesson trains with ``batch_size=32``. Returns ``(model, run)``.
    """
    seed_everything(fit.seed)
    model = overfit_cnn(x_train.shape[1:], n_classes, dropout=dropout, l2=l2, augment=augment,
                        seed=fit.seed)
    models.compile_classifier(model, lr=fit.lr, optimizer=fit.optimizer)
    if patience is not None:
        fit = fit.with_callbacks(early_stopping(patience))
    run = train.fit_with(model, x_train, y_train, fit, name=name,
                         validation_data=validation_data)
    return model, run


def epoch_gaps(run) -> np.ndarray:
    """Train minus validation accuracy per epoch, as Keras logged them.

    With augmentation or dropout, Keras' train accuracy is measured on augmented images with
    dropout on, so it understates how well the model fits the clean training images; use
    ``clean_gap`` to compare models fairly.
    """
    return np.asarray(run.history["accuracy"]) - np.asarray(run.history["val_accuracy"])


def early_stop_point(run, monitor: str = "val_loss") -> tuple[int, float]:
    """(epoch, val accuracy) that ``EarlyStopping(monitor, restore_best_weights=True)`` keeps.

    Read from a finished run's history: the epoch (1-based) with the lowest ``monitor`` (the
    highest, for an accuracy), given enough patience to reach it.
    """
    values = np.asarray(run.history[monitor])
    best = int(np.argmin(values) if "loss" in monitor else np.argmax(values))
    return best + 1, float(run.history["val_accuracy"][best])


def gap_table(run, every: int = 5) -> str:
    """Train accuracy, val accuracy, their gap and the val loss, every ``every`` epochs."""
    h = run.history
    n = len(h["accuracy"])
    rows = [f"{'epoch':>5} {'train acc':>9} {'val acc':>8} {'gap':>7} {'val loss':>8}"]
    for e in sorted({*range(every - 1, n, every), 0, n - 1}):
        rows.append(f"{e + 1:>5} {h['accuracy'][e]:>9.1%} {h['val_accuracy'][e]:>8.1%} "
                    f"{100 * (h['accuracy'][e] - h['val_accuracy'][e]):>+6.1f}p "
                    f"{h['val_loss'][e]:>8.3f}")
    return "\n".join(rows)


def clean_gap(model, x_train, y_train, x_val, y_val) -> tuple[float, float, float]:
    """(train accuracy, val accuracy, gap) with the model in inference mode on clean images."""
    train_acc = train.evaluate(model, x_train, y_train).accuracy
    val_acc = train.evaluate(model, x_val, y_val).accuracy
    return train_acc, val_acc, train_acc - val_acc


def confidence_on_mistakes(model, x: np.ndarray, y: np.ndarray) -> float:
    """Mean top softmax probability on the images the model gets wrong (0 if none).

    An overfit model is *confidently* wrong, which is why its validation loss climbs while
    its validation accuracy stays flat.
    """
    probs = np.asarray(model.predict(x, batch_size=256, verbose=0))
    wrong = probs.argmax(-1) != np.asarray(y)
    return float(probs[wrong].max(-1).mean()) if wrong.any() else 0.0


def augmented_examples(x: np.ndarray, augment, n_variants: int = 5,
                       seed: int = 0) -> np.ndarray:
    """For each image, itself then ``n_variants`` augmented copies: (len(x) * (1 + n), H, W, 3).

    ``augment``: an augmentation model such as ``augmentation_layers(0.1)``; uint8 out.
    """
    import keras

    keras.utils.set_random_seed(seed)
    x = np.asarray(x)
    batch = np.repeat(x.astype("float32"), n_variants, axis=0)
    out = np.asarray(keras.ops.convert_to_numpy(augment(batch, training=True)))
    out = np.clip(out, 0, 255).astype(np.uint8).reshape(len(x), n_variants, *x.shape[1:])
    return np.concatenate([x[:, None].astype(np.uint8), out], axis=1).reshape(-1, *x.shape[1:])


def python_coin_flip(image, label):
    """The wild augmentation: a tf.data map function that flips when ``random.random() < 0.5``.

    The bug: ``tf.data`` traces the function once into a graph, so Python's coin is tossed once,
    at trace time; every image of every epoch then gets the same outcome (all flipped or none).
    """
    import random

    import tensorflow as tf

    if random.random() < 0.5:
        image = tf.image.flip_left_right(image)
    return image, label


def mirrored_per_epoch(x: np.ndarray, y: np.ndarray, *, seed: int, layer: bool,
                       epochs: int = 2) -> list[np.ndarray]:
    """Per epoch, which images a ``tf.data`` pipeline returns mirrored (a boolean mask).

    ``layer=False`` maps ``python_coin_flip`` over single images (Python's ``random`` seeded
    with ``seed``); ``layer=True`` maps ``keras.layers.RandomFlip("horizontal", seed=seed)``
    over batches, the Keras 3 way (a coin per image, per epoch). Images that are their own
    mirror image are left out of the count.
    """
    import random

    import keras
    import tensorflow as tf

    x, y = np.asarray(x), np.asarray(y)
    asymmetric = ~np.all(x == x[:, :, ::-1], axis=(1, 2, 3))
    if not asymmetric.any():
        raise ValueError("every image is its own mirror image: no flip can be seen")
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if layer:
        flip = keras.layers.RandomFlip("horizontal", seed=seed)
        ds = ds.batch(64).map(lambda images, labels: (flip(images), labels)).unbatch()
    else:
        random.seed(seed)
        ds = ds.map(python_coin_flip)
    masks = []
    for _ in range(epochs):
        out = np.stack([np.asarray(image) for image, _ in ds.as_numpy_iterator()]).astype(x.dtype)
        masks.append(np.all(out == x[:, :, ::-1], axis=(1, 2, 3))[asymmetric])
    return masks
