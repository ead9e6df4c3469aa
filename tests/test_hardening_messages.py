"""Errors that used to give the wrong advice now name the actual cause, file and fix (issue 17)."""

from __future__ import annotations

import dataclasses

import pytest

from labkit import cifar, lessondata
from labkit.config import FULL


def test_small_cifar_folder_in_full_profile_names_the_folder_not_val_fraction(tmp_path,
                                                                              monkeypatch):
    folder = cifar.write_fixture(tmp_path, n_per_batch=20)  # 100 training images
    monkeypatch.setenv("LABKIT_DATA_DIR", str(tmp_path))
    profile = dataclasses.replace(FULL, n_train=400, n_val=100, n_test=10)
    with pytest.raises(ValueError) as info:
        lessondata.load_lesson_data(profile, seed=0)
    msg = str(info.value)
    assert "val_fraction" not in msg
    assert str(folder) in msg and "100 training images" in msg and "needs 500" in msg
    assert cifar.ARCHIVE_NAME in msg and "quick" in msg
