"""labkit.setup: bad arguments are refused before anything is imported or seeded (issue 17)."""

from __future__ import annotations

import numpy as np
import pytest

import labkit
from labkit import session, splits


@pytest.fixture
def no_tf(monkeypatch):
    """Record what setup would seed, without importing TensorFlow."""
    seeded = []
    monkeypatch.setattr(session, "seed_everything", seeded.append)
    monkeypatch.setattr(session, "quiet_tensorflow", lambda: None)
    monkeypatch.setattr(session, "gpu_names", list)
    monkeypatch.delenv("LABKIT_PROFILE", raising=False)
    monkeypatch.delenv("LABKIT_SEED", raising=False)
    return seeded


@pytest.mark.parametrize("profile", [123, 1.5, ["quick"], b"quick"])
def test_profile_must_be_a_str(no_tf, profile):
    with pytest.raises(TypeError, match="profile must be a profile name") as info:
        labkit.setup(profile)
    assert repr(profile) in str(info.value) and "labkit.setup('quick')" in str(info.value)
    assert no_tf == []  # refused before seeding


@pytest.mark.parametrize("seed", ["abc", 1.5, True, -1, np.float64(3.0)])
def test_bad_seeds_are_refused_naming_the_seed(no_tf, seed):
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        labkit.setup("quick", seed=seed)
    assert no_tf == []


@pytest.mark.parametrize("seed", [0, 7, np.int64(42), np.uint8(3)])
def test_int_and_numpy_int_seeds_are_accepted(no_tf, seed):
    lab = labkit.setup("quick", seed=seed, quiet=True)
    assert lab.seed == int(seed) and type(lab.seed) is int
    assert no_tf == [int(seed)] and type(no_tf[0]) is int


def test_no_seed_means_labkit_seed_else_the_default(no_tf, monkeypatch):
    assert labkit.setup("quick", quiet=True).seed == labkit.DEFAULT_SEED == 42
    monkeypatch.setenv("LABKIT_SEED", "")  # empty: as if unset
    assert labkit.setup("quick", seed=None, quiet=True).seed == 42
    monkeypatch.setenv("LABKIT_SEED", " 43 ")
    lab = labkit.setup("quick", quiet=True)
    assert lab.seed == 43 and type(lab.seed) is int and "seed: 43" in lab.summary()
    assert labkit.setup("quick", seed=7, quiet=True).seed == 7  # an explicit seed wins
    assert no_tf == [42, 42, 43, 7]


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "4 2", "0x2a"])
def test_a_bad_labkit_seed_names_the_variable_and_the_fix(no_tf, monkeypatch, value):
    monkeypatch.setenv("LABKIT_SEED", value)
    with pytest.raises(ValueError, match=r"\$LABKIT_SEED must be a non-negative integer") as info:
        labkit.setup("quick", quiet=True)
    assert repr(value) in str(info.value) and "export LABKIT_SEED=" in str(info.value)
    assert "unset LABKIT_SEED" in str(info.value)
    assert no_tf == []  # refused before seeding
    assert labkit.setup("quick", seed=3, quiet=True).seed == 3  # not read when a seed is given


def test_quiet_must_be_bool(no_tf):
    with pytest.raises(TypeError, match="quiet"):
        labkit.setup("quick", quiet="no")


def test_check_seed_is_the_one_validator():
    assert splits.check_seed(np.int32(5)) == 5
    assert splits.check_seed(None, allow_none=True) is None
    with pytest.raises(ValueError, match="base_seed must"):
        splits.check_seed(-3, name="base_seed")
    with pytest.raises(ValueError, match="got None"):
        splits.check_seed(None)
