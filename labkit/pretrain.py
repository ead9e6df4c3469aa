"""Pretrain the offline MiniVGG base on the shapes *source* task.

    python -m labkit.pretrain [--backbone minivgg|minivgg_bn] [--epochs 30] [--n-train 20000]

Writes ``labkit/weights/<backbone>_source.weights.h5`` (the conv blocks only), the source-task
head, and ``<backbone>_source.json`` (source-task accuracy, time taken, the command, the file's
SHA-256). ``minivgg_bn`` is the BatchNorm variant of lesson 10.
The source task has other classes than the lessons' target task and 64x64 images, so using
this base in the lessons is transfer learning, not leakage.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np

from labkit import config, models, shapes

SOURCE_SIZE = 64
HELD_OUT_SEED = 10_001  # the held-out source sample used by the tests


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def metadata_file(backbone: str = "minivgg") -> Path:
    """The JSON record of how the shipped weights of ``backbone`` were made."""
    return models.shipped_weights(backbone).with_name(f"{backbone}_source.json")


def load_source_head(backbone: str = "minivgg") -> list[np.ndarray]:
    """The shipped source-task head's weights (kernel, bias), as ``main`` saved them."""
    with np.load(models.source_head_file(backbone)) as saved:
        return [saved[k] for k in sorted(saved.files, key=lambda k: int(k.split("_")[1]))]


def source_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Source-task images (64x64) and labels."""
    return shapes.make_shapes(n, SOURCE_SIZE, seed=seed, task="source")


def source_classifier(base):
    """MiniVGG base + a linear softmax head over the source classes."""
    n_classes = len(shapes.class_names("source"))
    return models.attach_head(base, n_classes)


def source_accuracy(base, head_weights: list[np.ndarray], n: int = 1000) -> float:
    """Accuracy of base + saved source head on a held-out source sample."""
    model = source_classifier(base)
    model.get_layer("head").set_weights(head_weights)
    x, y = source_data(n, HELD_OUT_SEED)
    pred = model.predict(models.caffe_preprocess(x), verbose=0).argmax(1)
    return float((pred == y).mean())


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backbone", choices=models.OFFLINE_BACKBONES, default="minivgg")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--n-train", type=int, default=20000)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=config.DEFAULT_SEED)
    args = parser.parse_args(argv)
    config.seed_everything(args.seed)
    import keras

    started = time.perf_counter()
    x, y = source_data(args.n_train, seed=args.seed)
    x_val, y_val = source_data(1000, seed=args.seed + 1)
    base = models.minivgg((SOURCE_SIZE, SOURCE_SIZE, 3), batchnorm=args.backbone == "minivgg_bn")
    model = models.compile_classifier(source_classifier(base), lr=args.lr)
    model.fit(
        models.caffe_preprocess(x), y, epochs=args.epochs, batch_size=64,
        validation_data=(models.caffe_preprocess(x_val), y_val), verbose=2,
        callbacks=[keras.callbacks.ReduceLROnPlateau(patience=2, factor=0.3)],
    )
    seconds = time.perf_counter() - started
    out = models.shipped_weights(args.backbone)
    out.parent.mkdir(parents=True, exist_ok=True)
    base.save_weights(out)
    head = model.get_layer("head").get_weights()
    np.savez(models.source_head_file(args.backbone), *head)
    held_out = source_accuracy(base, head)
    meta = {
        "command": "python -m labkit.pretrain " + " ".join(argv or []),
        "epochs": args.epochs, "n_train": args.n_train, "seed": args.seed,
        "seconds": round(seconds, 1), "held_out_seed": HELD_OUT_SEED,
        "source_accuracy": round(held_out, 4), "sha256": sha256(out),
        "classes": shapes.class_names("source"),
    }
    metadata_file(args.backbone).write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps(meta, indent=2))
    return meta


if __name__ == "__main__":
    main()
