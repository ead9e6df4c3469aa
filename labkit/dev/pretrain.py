"""Pretrain the offline MiniVGG base on the shapes *source* task.

    python -m labkit.dev.pretrain [--backbone minivgg|minivgg_bn] [--epochs 30] [--n-train 20000]

Writes ``labkit/weights/<backbone>_source.weights.h5`` (the conv blocks only), the source-task
head, and ``<backbone>_source.json`` (source-task accuracy, time taken, the command, the file's
SHA-256). ``minivgg_bn`` is the BatchNorm variant of lesson 10.
The source task has other classes than the lessons' target task and 64x64 images, so using
this base in the lessons is transfer learning, not leakage.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from labkit import config, models, shapes
from labkit.source_task import (
    HELD_OUT_SEED,
    SOURCE_SIZE,
    metadata_file,
    sha256,
    source_accuracy,
    source_classifier,
    source_data,
)


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
        "command": " ".join(["python -m labkit.dev.pretrain",
                             *(sys.argv[1:] if argv is None else argv)]),
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
