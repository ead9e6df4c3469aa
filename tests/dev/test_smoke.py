"""The smoke run's pieces (issue 17 item 7): the stand-ins writer, the ``$LABKIT_SMOKE`` profile
switch and what it changes in labkit. The whole run is ``make smoke-full`` (minutes), not here.
"""

from __future__ import annotations

import nbformat
import numpy as np
import pytest

import labkit
from labkit import cifar, models, report
from labkit.config import FULL, QUICK, SMOKE_COUNTS, SMOKE_ENV, get_profile, smoke_profile
from labkit.dev import smoke, standins
from labkit.lessons import overfitting


@pytest.fixture
def no_smoke(monkeypatch):
    monkeypatch.delenv(SMOKE_ENV, raising=False)


@pytest.fixture
def smoke_on(monkeypatch):
    monkeypatch.setenv(SMOKE_ENV, "1")


def test_cached_imagenet_file_is_loaded_by_path_offline(tmp_path, monkeypatch):
    import keras

    paths = standins.write_weights(tmp_path / "keras", names=("vgg16",))
    assert paths["vgg16"] == tmp_path / "keras" / "models" / models.VGG16_NOTOP_FILE
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    assert models.cached_imagenet_file("vgg16") == paths["vgg16"]
    seen = {}
    real = keras.applications.VGG16

    def spy(**kwargs):
        seen.update(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(keras.applications, "VGG16", spy)
    base, _ = models.backbone("vgg16", input_shape=(32, 32, 3))  # "default": ImageNet
    assert seen["weights"] == str(paths["vgg16"])  # by path: no md5 check, no download
    stored = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    stored.load_weights(paths["vgg16"])
    for a, b in zip(base.get_weights(), stored.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_damaged_cached_imagenet_file_names_the_file_and_the_fix(tmp_path, monkeypatch):
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / models.VGG16_NOTOP_FILE).write_bytes(b"not weights")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(models.WeightsFileError, match="delete it") as info:
        models.backbone("vgg16", input_shape=(32, 32, 3))
    assert str(folder / models.VGG16_NOTOP_FILE) in str(info.value)


def test_cifar_stand_in_is_the_real_archive_format(tmp_path, monkeypatch):
    archive = cifar.write_fixture(tmp_path / "data", n_per_batch=standins.N_PER_BATCH, archive=True)
    assert archive.name == cifar.ARCHIVE_NAME
    monkeypatch.setenv(cifar.DATA_ENV, str(tmp_path / "data"))
    (x, y), (x_test, y_test) = cifar.load_cifar10(cifar.find_cifar10(download=False))
    assert x.shape == (5 * standins.N_PER_BATCH, 32, 32, 3)
    assert len(x_test) >= SMOKE_COUNTS["n_test"]
    assert len(x) >= SMOKE_COUNTS["n_train"] + SMOKE_COUNTS["n_val"]


def test_smoke_switch_shrinks_the_chosen_profile(monkeypatch, smoke_on):
    monkeypatch.setenv("LABKIT_PROFILE", "full")
    profile = get_profile()
    assert profile.smoke and profile == smoke_profile(FULL)
    assert (profile.dataset, profile.backbone, profile.bn_backbone) == ("cifar10", "vgg16",
                                                                         "resnet50")
    assert profile.base_size == 64 and profile.base_size > profile.image_size  # still resized up
    assert {k: getattr(profile, k) for k in SMOKE_COUNTS} == dict(SMOKE_COUNTS)
    assert profile.thresholds == FULL.thresholds
    assert get_profile("quick") == smoke_profile(QUICK)
    lab = labkit.Lab(profile=profile, seed=0, gpus=())
    assert "profile: full, smoke run" in lab.summary()


def test_no_smoke_leaves_the_profiles_alone(no_smoke):
    assert get_profile("quick") is QUICK and get_profile("full") is FULL
    assert not QUICK.smoke and not FULL.smoke
    assert "smoke" not in labkit.Lab(profile=QUICK, seed=0, gpus=()).summary()


def test_smoke_prints_verdicts_without_asserting(capsys, smoke_on):
    result = report.check_lesson(smoke_profile(QUICK), "learning_rate", metric="val accuracy",
                                 failure=0.5, fix=0.4)
    assert report.claim("a claim that fails", False) is False
    out = capsys.readouterr().out.splitlines()
    assert out == [result.line(), report.SMOKE_NOTE,
                   f"a claim that fails: False {report.SMOKE_NOTE}"]
    assert out[0] == ("RESULT | 03 learning rate | val accuracy | failure 50.0% | fix 40.0% | "
                      "margin -10.0 points")


def test_without_smoke_verdicts_still_assert(capsys, no_smoke):
    with pytest.raises(AssertionError):
        report.check_lesson(QUICK, "learning_rate", metric="val accuracy", failure=0.5, fix=0.4)
    with pytest.raises(AssertionError):
        report.claim("a claim that fails", False)
    assert capsys.readouterr().out.splitlines()[-1] == "a claim that fails: False"


def test_balanced_subset_takes_what_there_is_only_in_a_smoke_run(monkeypatch):
    x, y = np.arange(12).reshape(12, 1), np.repeat([0, 1, 2], 4)
    monkeypatch.delenv(SMOKE_ENV, raising=False)
    with pytest.raises(ValueError, match="has only 4 images; asked for 5"):
        overfitting.balanced_subset(x, y, 5)
    quick = overfitting.balanced_subset(x, y, 3, seed=1)
    monkeypatch.setenv(SMOKE_ENV, "1")
    assert len(overfitting.balanced_subset(x, y, 5)[0]) == 12
    np.testing.assert_array_equal(overfitting.balanced_subset(x, y, 3, seed=1)[0], quick[0])


def test_runner_scans_results_and_errors_and_picks_notebooks():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x", outputs=[nbformat.v4.new_output(
            "stream", name="stdout", text="RESULT | 01 x | m | failure 1.0% | fix 2.0%\nother\n")]),
        nbformat.v4.new_code_cell("y", outputs=[nbformat.v4.new_output(
            "error", ename="ValueError", evalue="boom", traceback=[])]),
    ])
    results, errors = smoke.scan(nb)
    assert results == ("RESULT | 01 x | m | failure 1.0% | fix 2.0%",)
    assert errors == ("cell 1: ValueError: boom",)
    lesson = smoke.Outcome("05_class_imbalance", 1.0, (), ())
    assert lesson.failures == ["no RESULT line printed"]
    assert smoke.Outcome("00_start_here", 1.0, (), ()).failures == []
    env = smoke.smoke_env({"KERAS_HOME": "/k"}, smoke.Path("/c"))
    assert env == {"KERAS_HOME": "/k", "LABKIT_PROFILE": "full", SMOKE_ENV: "1",
                   "LABKIT_CACHE_DIR": "/c"}


def test_main_runs_notebooks_two_at_a_time_and_reports_every_one(monkeypatch, capsys, tmp_path):
    import threading
    import time

    running, most = set(), []
    lock = threading.Lock()

    def fake_run(path, workdir, timeout=smoke.CELL_TIMEOUT_S):
        with lock:
            running.add(path.stem)
            most.append(len(running))
        time.sleep(0.05)
        with lock:
            running.discard(path.stem)
        results = () if path.stem.startswith("03") else ("RESULT | x",)
        return smoke.Outcome(path.stem, 0.05, results, ())

    class Made:
        def env(self):
            return {}

    monkeypatch.setattr(smoke, "run_notebook", fake_run)
    monkeypatch.setattr("labkit.dev.standins.write", lambda folder: Made())
    monkeypatch.setattr(smoke.os, "environ", {})
    assert smoke.main(["--jobs", "2", "--keep", str(tmp_path), "01", "02", "03", "04"]) == 1
    out = capsys.readouterr().out
    assert max(most) == 2  # two kernels at a time, never more
    for name in ("01_preprocessing", "02_unfrozen_base", "04_small_images"):
        assert f"smoke: {name}: ok" in out
    assert "smoke: 03_learning_rate: FAILED" in out and "ERROR no RESULT line printed" in out
    assert "3/4 notebooks ok" in out and "FAILED: 03_learning_rate" in out
    assert smoke.main(["--jobs", "0"]) == 2


def test_notebooks_start_longest_first_and_every_lesson_is_ranked():
    numbers = sorted(pair.notebook.name[:2] for pair in smoke.lesson_pairs([]))
    assert sorted(smoke.LONGEST_FIRST) == numbers  # each lesson ranked once, none missing
    paths = [smoke.Path(f"{n}_x.ipynb") for n in ("00", "02", "99", "11", "05")]
    assert [p.name[:2] for p in smoke.longest_first(paths)] == ["99", "11", "02", "05", "00"]
