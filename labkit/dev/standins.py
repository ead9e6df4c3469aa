"""``python -m labkit.dev.standins DIR``: offline stand-ins for the full profile's downloads.

The full profile needs real CIFAR-10 and ImageNet weights for VGG16 and ResNet50, all
downloads. For a smoke run without internet this writes, under ``DIR``:

- ``data/cifar-10-python.tar.gz``: a tiny CIFAR-10 in the real archive format (random pixels,
  ``labkit.cifar.write_fixture``); labkit's reader finds it and extracts it itself, so the
  archive path of ``labkit.cifar`` runs too. Point ``$LABKIT_DATA_DIR`` at ``DIR/data``.
- ``keras/models/<file>``: VGG16 and ResNet50 ``include_top=False`` weights with random
  values, in Keras' legacy HDF5 format, under the exact file names Keras' ``weights="imagenet"``
  looks for (``labkit.models.KERAS_APPLICATIONS``). Point ``$KERAS_HOME`` at ``DIR/keras``:
  ``labkit.models.backbone`` then loads them by path (``cached_imagenet_file``).

Nothing here is ImageNet or CIFAR-10: only the on-disk formats and names are real, so what a
run on them tests is the code path, not any accuracy.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from labkit import cifar, config  # noqa: F401  (config: TF log level before TF is imported)
from labkit.models import KERAS_APPLICATIONS

# Images per batch file: 5 training batches -> 5 * N training images, N test images; the smoke
# profile (labkit.config.SMOKE_COUNTS: 60 + 20 training, 80 test) draws its images from these.
N_PER_BATCH = 80


@dataclass(frozen=True)
class StandIns:
    """Where the stand-ins are, and the environment that makes labkit use them."""

    data_dir: Path
    keras_home: Path
    cifar_archive: Path
    weights: dict[str, Path]

    def env(self) -> dict[str, str]:
        return {cifar.DATA_ENV: str(self.data_dir), "KERAS_HOME": str(self.keras_home)}


def write_weights(keras_home: str | Path, names=tuple(KERAS_APPLICATIONS),
                  seed: int = 0) -> dict[str, Path]:
    """Random-valued no-top weights of the Keras applications ``names`` in
    ``keras_home/models/``, named as Keras names their ImageNet files. Returns name -> path."""
    import h5py
    import keras
    from keras.src.legacy.saving import legacy_h5_format  # the format of Keras' ImageNet files

    folder = Path(keras_home) / "models"
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in names:
        app, notop_file = KERAS_APPLICATIONS[name]
        keras.utils.set_random_seed(seed)
        model = getattr(keras.applications, app)(include_top=False, weights=None)
        path = folder / notop_file
        with h5py.File(path, "w") as f:
            legacy_h5_format.save_weights_to_hdf5_group(f, model)
        written[name] = path
        del model
        keras.backend.clear_session()
    return written


def write(directory: str | Path, n_per_batch: int = N_PER_BATCH, seed: int = 0) -> StandIns:
    """Write every stand-in under ``directory`` (see the module docstring)."""
    directory = Path(directory)
    data_dir, keras_home = directory / "data", directory / "keras"
    archive = cifar.write_fixture(data_dir, n_per_batch=n_per_batch, seed=seed, archive=True)
    return StandIns(data_dir, keras_home, archive, write_weights(keras_home, seed=seed))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", help="folder to write the stand-ins into")
    parser.add_argument("--n-per-batch", type=int, default=N_PER_BATCH,
                        help=f"CIFAR-10 images per batch file (default {N_PER_BATCH})")
    args = parser.parse_args(argv)
    made = write(args.directory, n_per_batch=args.n_per_batch)
    print(f"CIFAR-10 stand-in: {made.cifar_archive}")
    for name, path in made.weights.items():
        print(f"{name} stand-in weights: {path}")
    print("use them with: " + " ".join(f"{k}={v}" for k, v in made.env().items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
