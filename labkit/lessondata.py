"""The lesson dataset for a profile: labkit shapes (quick) or real CIFAR-10 (full)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labkit.config import Profile

TEST_SEED_OFFSET = 1000  # test images come from their own seed: never the training images


@dataclass(frozen=True)
class LessonData:
    """Train/validation/test images (uint8 RGB) and integer labels, with class names."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def with_train(self, idx: np.ndarray) -> LessonData:
        """The same lesson with only the training images at ``idx`` (validation and test
        unchanged): e.g. ``splits.per_class_indices`` for a few labels per class."""
        import dataclasses

        return dataclasses.replace(self, x_train=self.x_train[idx], y_train=self.y_train[idx])

    def pooled_by_class(self) -> tuple[np.ndarray, np.ndarray]:
        """Training + validation images and labels, sorted by class (class 0 first), as a
        folder-by-folder loader returns them (lesson 06's ``validation_split`` bug)."""
        from labkit.splits import sort_by_class

        return sort_by_class(np.concatenate([self.x_train, self.x_val]),
                             np.concatenate([self.y_train, self.y_val]))

    def describe(self) -> str:
        """One line a learner can read."""
        h, w = self.x_train.shape[1:3]
        return (f"{self.source}: {len(self.x_train)} train / {len(self.x_val)} val / "
                f"{len(self.x_test)} test images, {w}x{h}, {self.n_classes} classes")


def load_lesson_data(profile: Profile, seed: int = 0) -> LessonData:
    """Sizes come from the profile; the same seed gives the same images."""
    if profile.dataset == "shapes":
        from labkit import shapes

        size = profile.image_size
        x, y = shapes.make_shapes(profile.n_train + profile.n_val, size, seed=seed)
        x_test, y_test = shapes.make_shapes(profile.n_test, size, seed=seed + TEST_SEED_OFFSET)
        n = profile.n_train
        return LessonData(x[:n], y[:n], x[n:], y[n:], x_test, y_test,
                          tuple(shapes.class_names("target")),
                          f"labkit shapes (synthetic, seed {seed})")
    if profile.dataset == "cifar10":
        from labkit import cifar
        from labkit.splits import stratified_split

        folder = cifar.find_cifar10()
        (x_all, y_all), (x_te, y_te) = cifar.load_cifar10(folder)
        n_pool = profile.n_train + profile.n_val
        if n_pool > len(x_all):  # a trimmed copy: say so, not "val_fraction must be ..."
            raise ValueError(
                f"the CIFAR-10 batches in {folder} hold {len(x_all):,} training images, but "
                f"profile {profile.name!r} needs {n_pool:,} (n_train {profile.n_train:,} + "
                f"n_val {profile.n_val:,}); the real CIFAR-10 has 50,000. Fix: put the complete "
                f"{cifar.ARCHIVE_NAME} ({cifar.CIFAR_URL}) in place of {folder}, or run a "
                "smaller profile (labkit.setup('quick'))"
            )
        frac = n_pool / len(x_all)
        (x_pool, y_pool), _ = stratified_split(x_all, y_all, (frac, 1 - frac), seed=seed)
        val_frac = profile.n_val / len(x_pool)
        (x_tr, y_tr), (x_va, y_va) = stratified_split(
            x_pool, y_pool, (1 - val_frac, val_frac), seed=seed
        )
        te_frac = min(profile.n_test / len(x_te), 1.0)
        if te_frac < 1.0:
            (x_te, y_te), _ = stratified_split(x_te, y_te, (te_frac, 1 - te_frac), seed=seed)
        return LessonData(x_tr, y_tr, x_va, y_va, x_te, y_te, tuple(cifar.CIFAR10_CLASSES),
                          "CIFAR-10 (real)")
    raise ValueError(f"unknown dataset {profile.dataset!r} in profile {profile.name!r}; "
                     "valid datasets: shapes, cifar10")
