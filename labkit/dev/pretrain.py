"""Pretrain the offline MiniVGG base on the shapes *source* task.

    python -m labkit.dev.pretrain [--epochs 15] [--n-train 20000] [--lr 3e-3]

Trains ``minivgg_bn`` (MiniVGG with BatchNorm) with Adam and a cosine-decayed learning rate,
then folds its BatchNorm layers into the convolutions to make ``minivgg`` (the plain VGG-style
base of most lessons; it computes exactly what ``minivgg_bn`` computes in inference mode).
For each it writes ``labkit/weights/<backbone>_source.weights.h5`` (the conv blocks only), the
source-task head, and ``<backbone>_source.json`` (source-task accuracy, time taken, the command,
the file's SHA-256). An interrupted run resumes from its last finished epoch when started again
with the same arguments (``keras.callbacks.BackupAndRestore`` in ``--backup-dir``).
The source task has other classes than the lessons' target task and 64x64 images, so using
this base in the lessons is transfer learning, not leakage.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

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

BATCH = 64


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--n-train", type=int, default=20000)
    parser.add_argument("--lr", type=float, default=3e-3, help="peak LR of the cosine decay")
    parser.add_argument("--seed", type=int, default=config.DEFAULT_SEED)
    parser.add_argument("--backup-dir", type=Path,
                        default=Path(tempfile.gettempdir()) / "labkit-pretrain-backup")
    args = parser.parse_args(argv)
    config.seed_everything(args.seed)
    import keras

    started = time.perf_counter()
    x, y = source_data(args.n_train, seed=args.seed)
    x_val, y_val = source_data(1000, seed=args.seed + 1)
    bn_base = models.minivgg((SOURCE_SIZE, SOURCE_SIZE, 3), batchnorm=True)
    steps = args.epochs * -(-args.n_train // BATCH)
    schedule = keras.optimizers.schedules.CosineDecay(args.lr, steps)
    model = models.compile_classifier(source_classifier(bn_base),
                                      optimizer=keras.optimizers.Adam(schedule))
    model.fit(
        models.caffe_preprocess(x), y, epochs=args.epochs, batch_size=BATCH,
        validation_data=(models.caffe_preprocess(x_val), y_val), verbose=2,
        callbacks=[keras.callbacks.BackupAndRestore(str(args.backup_dir))],
    )
    seconds = time.perf_counter() - started
    command = " ".join(["python -m labkit.dev.pretrain",
                        *(sys.argv[1:] if argv is None else argv)])
    head = model.get_layer("head").get_weights()
    recipe = {"command": command, "epochs": args.epochs, "n_train": args.n_train,
              "lr": args.lr, "schedule": "cosine", "seed": args.seed,
              "seconds": round(seconds, 1), "widths": list(models.MINIVGG_WIDTHS)}
    records = {"minivgg_bn": _ship("minivgg_bn", bn_base, head, recipe),
               "minivgg": _ship("minivgg", models.fold_batchnorm(bn_base), head,
                                {**recipe, "folded_from": "minivgg_bn"})}
    print(json.dumps(records, indent=2))
    return records


def _ship(backbone: str, base, head: list[np.ndarray], recipe: dict) -> dict:
    """Write ``backbone``'s weights, source head and record; return the record."""
    out = models.shipped_weights(backbone)
    out.parent.mkdir(parents=True, exist_ok=True)
    base.save_weights(out)
    np.savez(models.source_head_file(backbone), *head)
    meta = {**recipe, "held_out_seed": HELD_OUT_SEED,
            "source_accuracy": round(source_accuracy(base, head), 4), "sha256": sha256(out),
            "classes": shapes.class_names("source")}
    metadata_file(backbone).write_text(json.dumps(meta, indent=2) + "\n")
    return meta

if __name__ == "__main__":
    main()
