"""tf.data pipelines and targeted (minority-class) augmentation for the lessons.

TensorFlow is imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from labkit.splits import _check_seed, _labels, _same_length

if TYPE_CHECKING:
    import tensorflow as tf

Array = np.ndarray
# make_pipeline's fixed sizes (tf.data's autotuner is off): one map call at a time (a random
# augmentation's draws then come in the same order every run), two batches ready ahead.
PARALLEL_CALLS = 1
PREFETCH_BATCHES = 2


def make_pipeline(
    x: Array,
    y: Any,
    batch_size: int = 32,
    shuffle: bool = True,
    seed: int | None = 0,
    augment: Callable[..., Any] | None = None,
    cache: bool = True,
    preprocess: Callable[[Any], Any] | None = None,
    repeat: bool = False,
) -> tf.data.Dataset:
    """``from_tensor_slices -> cache -> shuffle -> batch [-> repeat] -> augment -> preprocess
    -> prefetch``.

    - Shuffles the whole set with ``seed``, a new order every epoch (same sequence per seed).
    - ``augment``: a Keras layer/model (called with ``training=True``) or a function on a batch.
    - ``preprocess``: a function on a batch, e.g. ``keras.applications.vgg16.preprocess_input``.
    - Images stay uint8 unless ``augment`` or ``preprocess`` is given; then they are cast to
      float32 (still 0-255) first. Caching happens before shuffling and augmenting, so each
      epoch sees fresh random augmentations.
    - Each map call runs on one thread (``max_intra_op_parallelism=1``), so the pipeline's
      work does not compete with the model's own threads (on 2 cores it shaves a few percent
      off its overhead against in-memory arrays: ``python -m labkit.dev.bench``).
    - Fixed sizes, tf.data's autotuner off: ``PARALLEL_CALLS`` map call at a time (so random
      augmentations draw in the same order every run), ``PREFETCH_BATCHES`` batches ready
      ahead of the model.
    - ``repeat=True``: endless, one pass per epoch (each pass shuffled anew, in the same orders
      as re-iterating the finite pipeline). Fit it with ``steps_per_epoch=steps_per_pass(...)``:
      Keras then keeps one iterator for the whole run instead of building a new one, and
      instantiating the map function again, every epoch (``train.fit_with`` does this).
    """
    import keras
    import tensorflow as tf

    y = _labels(y)
    _same_length(x, y)
    _check_seed(seed)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) \
            or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    for arg, fn in (("augment", augment), ("preprocess", preprocess)):
        if fn is not None and not callable(fn):
            raise ValueError(f"{arg} must be callable (a Keras layer or a function), got {fn!r}")
    ds = tf.data.Dataset.from_tensor_slices((np.asarray(x), y))
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(int(batch_size))
    if repeat:
        ds = ds.repeat()
    if augment is not None or preprocess is not None:
        is_layer = isinstance(augment, keras.layers.Layer)

        def transform(xb: tf.Tensor, yb: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            xb = tf.cast(xb, tf.float32)
            if augment is not None:
                xb = augment(xb, training=True) if is_layer else augment(xb)
            if preprocess is not None:
                xb = preprocess(xb)
            return xb, yb

        ds = ds.map(transform, num_parallel_calls=PARALLEL_CALLS)
    options = tf.data.Options()
    options.threading.max_intra_op_parallelism = 1
    # Measured by hand on a 2-core VM, the autotuner held the scratch CNN at 40 ms a step in 5
    # of 12 blocks of epochs, fixed sizes in none of 24 (the bench's comparison has not seen
    # it since; fixed sizes were never slower). README, "Speed".
    options.autotune.enabled = False
    return ds.prefetch(PREFETCH_BATCHES).with_options(options)


def steps_per_pass(n: int, batch_size: int) -> int:
    """Batches in one pass over ``n`` examples (the last one may be short): the
    ``steps_per_epoch`` of a ``make_pipeline(..., repeat=True)``."""
    return max(-(-int(n) // int(batch_size)), 1)


def augmented_copy(x: Array, augment, seed: int, batch_size: int = 256) -> Array:
    """One augmented copy of every image in ``x`` (uint8, 0-255): ``augment`` (a Keras
    augmentation layer or model, called with ``training=True``) batch by batch, after seeding
    Keras with ``seed``."""
    import keras

    x = np.asarray(x)
    if len(x) == 0:
        return x.copy()
    keras.utils.set_random_seed(seed)
    out = [np.asarray(augment(x[i : i + batch_size].astype("float32"), training=True))
           for i in range(0, len(x), batch_size)]
    return np.clip(np.concatenate(out), 0, 255).astype(np.uint8)


def augment_minority(x: Array, y: Any, augment, seed: int | None = 0,
                     batch_size: int = 256) -> tuple[Array, Array]:
    """Top up every class to the largest count with *augmented* copies of its own images.

    ``augment``: a Keras augmentation layer or model (called with ``training=True``). Returns
    the original images plus the new ones (uint8, 0-255), shuffled. Training split only.
    """

    y = _labels(y)
    _same_length(x, y)
    _check_seed(seed)
    rng = np.random.default_rng(seed)
    counts = np.bincount(y)
    target = int(counts.max()) if len(counts) else 0
    picks = [rng.choice(np.flatnonzero(y == c), target - n) for c, n in enumerate(counts)
             if 0 < n < target]
    idx = np.concatenate(picks) if picks else np.array([], np.int64)
    x_new = augmented_copy(np.asarray(x)[idx], augment, seed=int(rng.integers(2**31)),
                           batch_size=batch_size)
    x_all, y_all = np.concatenate([x, x_new]), np.concatenate([y, y[idx]])
    order = rng.permutation(len(y_all))
    return x_all[order], y_all[order]
