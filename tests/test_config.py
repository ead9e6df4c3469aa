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
    profile = dataclasses.replace(QUICK, thresholds={"preprocessing": 0.2, "imbalance": 0.1})
    assert profile.threshold("preprocessing") == pytest.approx(0.2)
    with pytest.raises(KeyError) as info:
        profile.threshold("99_missing")
    message = str(info.value)
    assert "99_missing" in message
    assert "preprocessing" in message and "imbalance" in message


def test_thresholds_are_keyed_by_topic():
    assert QUICK.threshold("learning_rate") == pytest.approx(0.25)
    assert QUICK.threshold("channel_order.partner_rate") == pytest.approx(0.80)
    for key in QUICK.thresholds:
        topic = key.split(".")[0]
        assert topic in QUICK.thresholds, f"{key!r}: no main margin for topic {topic!r}"
        assert not key[:2].isdigit(), f"{key!r} is keyed by notebook number, not topic"


def test_full_profile_differs_from_quick_only_where_it_says():
    differ = {f.name for f in dataclasses.fields(QUICK)
              if getattr(QUICK, f.name) != getattr(FULL, f.name)}
    assert differ == {"name", "description", "dataset", "backbone", "bn_backbone", "base_size",
                      "n_train", "n_val", "n_test", "epochs", "head_epochs"}
    assert FULL.thresholds == QUICK.thresholds  # the quick margins until recalibrated


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


def test_lab_elapsed_and_summary(capsys):
    from labkit import session

    lab = session.Lab(profile=QUICK, seed=1, gpus=())
    assert lab.elapsed().startswith("this notebook ran in ") and lab.elapsed().endswith(" s")
    assert lab.device == "CPU (no GPU found)"
    assert "profile: quick" in lab.summary() and "seed: 1" in lab.summary()
    assert session.Lab(profile=FULL, seed=0, gpus=("/gpu:0",)).device == "GPU (1)"
    lab = session.setup("quick", seed=5)
    assert capsys.readouterr().out.strip() == lab.summary()
    assert lab.seed == 5 and lab.profile is QUICK
