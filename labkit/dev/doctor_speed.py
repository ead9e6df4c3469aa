"""``python -m labkit.dev.doctor_speed``: how long ``labkit.doctor.diagnose`` takes on this machine.

Times one ``diagnose`` call (the defaults: with the learning-rate probe where the model is
compiled) on ten MiniVGG-sized setups at 32x32 (``models.backbone("minivgg", input_shape=(32, 32,
3))`` with its shipped weights, 128 images, 10 classes), after one warm-up call that pays
TensorFlow's start-up. Prints each time, the median and the worst against the targets (median
under 2 s, worst under 5 s) and whether they are met. Never asserts: timings depend on the
machine and its load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np

TARGET_MEDIAN_S = 2.0
TARGET_WORST_S = 5.0
N_IMAGES, SIZE, N_CLASSES = 128, 32, 10


def _data(seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.arange(N_IMAGES) % N_CLASSES
    rng.shuffle(y)
    palette = rng.integers(30, 226, size=(N_CLASSES, 3))
    x = palette[y][:, None, None, :] + rng.normal(0, 25, size=(N_IMAGES, SIZE, SIZE, 3))
    return np.clip(x, 0, 255).astype("uint8"), y.astype("int64")


def _setups() -> dict[str, Callable[[], tuple]]:
    """name -> () -> (model, x, y, diagnose kwargs); models are built outside the timing."""
    import keras
    import tensorflow as tf

    from labkit import models
    from labkit.lessons import batchnorm

    x, y = _data()

    def base(name="minivgg", trainable=False):
        keras.utils.set_random_seed(0)
        b, preprocess = models.backbone(name, input_shape=(SIZE, SIZE, 3))
        b.trainable = trainable
        return b, preprocess

    def head_model(b, lr=1e-3):
        return models.compile_classifier(models.attach_head(b, N_CLASSES), lr=lr)

    def frozen():
        b, pre = base()
        return head_model(b), x, y, {"preprocess": pre}

    def frozen_no_probe():
        b, pre = base()
        return head_model(b), x, y, {"preprocess": pre, "run_lr_test": False}

    def unfrozen_adam_1e3():
        b, pre = base(trainable=True)
        return head_model(b), x, y, {"preprocess": pre}

    def top_blocks_1e5():
        b, pre = base()
        models.unfreeze_top_blocks(b, 2)
        return head_model(b, lr=1e-5), x, y, {"preprocess": pre}

    def bn_finetune_frozen_bn():
        b, pre = base("minivgg_bn", trainable=True)
        batchnorm.freeze_batchnorm(b)
        return head_model(b, lr=1e-5), x, y, {"preprocess": pre}

    def flat_model():
        b, pre = base()
        out = keras.layers.Dense(N_CLASSES, activation="softmax")(
            keras.layers.Flatten()(b.output))
        return models.compile_classifier(keras.Model(b.input, out)), x, y, {"preprocess": pre}

    def augmentation_wrapper():
        b, _ = base()
        inputs = keras.Input((SIZE, SIZE, 3))
        feats = keras.layers.Flatten()(b(models.caffe_layer()(inputs)))
        inner = keras.Model(inputs, keras.layers.Dense(N_CLASSES, activation="softmax")(feats))
        model = keras.Sequential([keras.Input((SIZE, SIZE, 3)),
                                  keras.layers.RandomFlip("horizontal"), inner])
        return models.compile_classifier(model), x, y, {}

    def dataset_input():
        b, pre = base()
        ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(32).map(lambda a, c: (pre(a), c))
        return head_model(b), ds, None, {}

    def lr_too_high():
        b, pre = base()
        return head_model(b, lr=1.0), x, y, {"preprocess": pre}

    def scratch_cnn():
        keras.utils.set_random_seed(0)
        model = models.scratch_cnn((SIZE, SIZE, 3), N_CLASSES)
        return models.compile_classifier(model), x, y, {}

    return {f.__name__: f for f in (frozen, frozen_no_probe, unfrozen_adam_1e3, top_blocks_1e5,
                                     bn_finetune_frozen_bn, flat_model, augmentation_wrapper,
                                     dataset_input, lr_too_high, scratch_cnn)}


def measure(repeats: int = 1) -> dict[str, float]:
    """Wall-clock seconds of one diagnose call per setup (the median of ``repeats``)."""
    from labkit import doctor

    setups = _setups()
    model, x, y, kwargs = setups["frozen"]()
    doctor.diagnose(model, x, y, **kwargs)  # warm-up: TensorFlow start-up, first traces
    times = {}
    for name, make in setups.items():
        runs = []
        for _ in range(repeats):
            model, x, y, kwargs = make()
            start = time.perf_counter()
            doctor.diagnose(model, x, y, **kwargs)
            runs.append(time.perf_counter() - start)
        times[name] = statistics.median(runs)
    return times


def summary(times: dict[str, float]) -> str:
    median, worst = statistics.median(times.values()), max(times.values())
    lines = [f"{name:<24} {t:6.2f} s" for name, t in times.items()]
    lines.append(f"median {median:.2f} s (target < {TARGET_MEDIAN_S:.0f} s: "
                 f"{'met' if median < TARGET_MEDIAN_S else 'not met'}); worst {worst:.2f} s "
                 f"(target < {TARGET_WORST_S:.0f} s: "
                 f"{'met' if worst < TARGET_WORST_S else 'not met'})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1, help="calls per setup (median)")
    args = parser.parse_args(argv)
    print(f"{os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f} "
          "(other processes slow the figures down)")
    print(summary(measure(args.repeats)))


if __name__ == "__main__":
    main()
