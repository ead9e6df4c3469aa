"""Profiles, get_profile, seeding and labkit.setup()."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import labkit
from labkit.config import FULL, PROFILE_ENV, PROFILES, QUICK, get_profile, seed_everything
from labkit.session import Lab


@pytest.mark.parametrize("profile", [QUICK, FULL], ids=lambda p: p.name)
def test_profiles_are_frozen(profile):
    with pytest.raises(dataclasses.FrozenInstanceError):
        profile.epochs = 1
    with pytest.raises(TypeError):
        profile.thresholds["new"] = 1.0  # read-only mapping


def test_profiles_registry_has_quick_and_full():
    assert set(PROFILES) == {"quick", "full"}
    assert PROFILES["quick"] is QUICK and PROFILES["full"] is FULL


def test_get_profile_defaults_to_quick(monkeypatch):
    monkeypatch.delenv(PROFILE_ENV, raising=False)
    assert get_profile() is QUICK


def test_get_profile_by_argument(monkeypatch):
    monkeypatch.setenv(PROFILE_ENV, "quick")
    assert get_profile("full") is FULL
    assert get_profile("quick") is QUICK


def test_get_profile_from_env_var(monkeypatch):
    monkeypatch.setenv(PROFILE_ENV, "full")
    assert get_profile() is FULL


def test_unknown_profile_lists_valid_names(monkeypatch):
    monkeypatch.delenv(PROFILE_ENV, raising=False)
    with pytest.raises(ValueError, match="quick") as info:
        get_profile("turbo")
    assert "full" in str(info.value)
    assert "turbo" in str(info.value)


def test_unknown_profile_from_env_var_is_rejected(monkeypatch):
    monkeypatch.setenv(PROFILE_ENV, "turbo")
    with pytest.raises(ValueError, match=PROFILE_ENV):
        get_profile()


def test_unknown_threshold_names_known_keys():
    profile = dataclasses.replace(QUICK, thresholds={"01_margin": 0.2, "02_margin": 0.1})
    assert profile.threshold("01_margin") == pytest.approx(0.2)
    with pytest.raises(KeyError) as info:
        profile.threshold("99_missing")
    message = str(info.value)
    assert "99_missing" in message
    assert "01_margin" in message and "02_margin" in message


def test_setup_returns_lab_with_profile_and_seed(monkeypatch, capsys):
    monkeypatch.delenv(PROFILE_ENV, raising=False)
    lab = labkit.setup(quiet=True, seed=7)
    assert isinstance(lab, Lab)
    assert lab.profile is QUICK
    assert lab.seed == 7
    assert capsys.readouterr().out == ""


def test_setup_prints_its_summary(monkeypatch, capsys):
    monkeypatch.delenv(PROFILE_ENV, raising=False)
    lab = labkit.setup()
    assert capsys.readouterr().out.strip() == lab.summary()


@pytest.mark.parametrize("profile", [QUICK, FULL], ids=lambda p: p.name)
@pytest.mark.parametrize("gpus", [(), ("/physical_device:GPU:0",)], ids=["cpu", "gpu"])
def test_summary_names_profile_dataset_backbone_device_and_seed(profile, gpus):
    lab = Lab(profile=profile, seed=123, gpus=gpus)
    line = lab.summary()
    plain = line.lower().replace("-", "")
    assert "\n" not in line
    assert profile.name in line
    assert profile.dataset in plain  # "shapes" / "cifar10" (printed as CIFAR-10)
    assert profile.backbone in plain  # "minivgg" / "vgg16"
    assert ("GPU" if gpus else "CPU") in line
    assert "seed: 123" in line


def test_seed_everything_repeats_numpy_and_keras_random_ops():
    import keras

    def draw():
        return (
            np.random.rand(5),
            keras.ops.convert_to_numpy(keras.random.uniform((5,))),
            keras.ops.convert_to_numpy(keras.initializers.GlorotUniform()((3, 3))),
        )

    seed_everything(11)
    first = draw()
    seed_everything(11)
    second = draw()
    seed_everything(12)
    other = draw()
    for a, b, c in zip(first, second, other, strict=True):
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)
