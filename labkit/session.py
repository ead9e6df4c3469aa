"""``labkit.setup()``: the first cell of every notebook."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from labkit.config import (
    DEFAULT_SEED,
    SEED_ENV,
    Profile,
    get_profile,
    gpu_names,
    quiet_tensorflow,
    seed_everything,
)
from labkit.splits import check_seed

_DATASET_TEXT = {
    "shapes": "labkit shapes (synthetic, offline, {size}x{size})",
    "cifar10": "CIFAR-10 (real, {size}x{size})",
}
_BACKBONE_TEXT = {
    "minivgg": "MiniVGG (shipped offline weights, pretrained at {base}x{base})",
    "vgg16": "VGG16 (ImageNet weights, trained at {base}x{base})",
}


@dataclass(frozen=True)
class Lab:
    """What a notebook needs to know about this run."""

    profile: Profile
    seed: int
    gpus: tuple[str, ...]
    started: float = field(default_factory=time.perf_counter, compare=False)

    @property
    def device(self) -> str:
        return f"GPU ({len(self.gpus)})" if self.gpus else "CPU (no GPU found)"

    def elapsed(self) -> str:
        """Wall time since ``setup()``, for the notebook's last cell."""
        return f"this notebook ran in {time.perf_counter() - self.started:.0f} s"

    def summary(self) -> str:
        p = self.profile
        data = _DATASET_TEXT[p.dataset].format(size=p.image_size)
        base = _BACKBONE_TEXT[p.backbone].format(base=p.base_size)
        name = f"{p.name}, smoke run: tiny sizes, 1 epoch, nothing asserted" if p.smoke else p.name
        return (
            f"labkit | profile: {name} ({p.description}) | data: {data} | "
            f"backbone: {base} | device: {self.device} | seed: {self.seed}"
        )


def seed_from_env() -> int:
    """``$LABKIT_SEED`` as a seed, else ``DEFAULT_SEED`` (unset or empty); a value that is not a
    non-negative integer raises ValueError naming the variable and the fix."""
    text = os.environ.get(SEED_ENV, "").strip()
    if not text:
        return DEFAULT_SEED
    try:
        return check_seed(int(text), f"${SEED_ENV}")
    except ValueError:
        raise ValueError(
            f"${SEED_ENV} must be a non-negative integer, got {text!r}. Fix: "
            f"`export {SEED_ENV}=43` (or `unset {SEED_ENV}` for the default, {DEFAULT_SEED})"
        ) from None


def setup(profile: str | None = None, seed: int | None = None, quiet: bool = False) -> Lab:
    """Choose the profile, seed everything and print one line saying what this run uses.

    ``profile`` is a profile name (``"quick"``, ``"full"``) or None (``$LABKIT_PROFILE``, else
    quick); ``seed`` a non-negative int (NumPy integers too) or None (``$LABKIT_SEED``, else
    ``DEFAULT_SEED``). Bad values raise before anything is imported or seeded.
    """
    if profile is not None and not isinstance(profile, str):
        raise TypeError(f"profile must be a profile name (a str such as 'quick' or 'full') or "
                        f"None, got {profile!r} ({type(profile).__name__}). Fix: e.g. "
                        "labkit.setup('quick') or labkit.setup(seed=123)")
    seed = seed_from_env() if seed is None else check_seed(seed, "seed")
    if not isinstance(quiet, bool):
        raise TypeError(f"quiet must be True or False, got {quiet!r}")
    chosen = get_profile(profile)
    seed_everything(seed)  # imports TensorFlow
    quiet_tensorflow()
    lab = Lab(profile=chosen, seed=seed, gpus=tuple(gpu_names()))
    if not quiet:
        print(lab.summary())
    return lab
