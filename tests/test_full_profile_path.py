"""The full profile's lesson code path (real CIFAR-10 reader, VGG16), run on tiny stand-ins.

CI has no internet, so CIFAR-10 is a fixture in its real on-disk format and VGG16 has random
weights; what is tested is that the lessons' calls work with the full profile's choices.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from labkit import cifar, evidence, lessondata, models, scratch, train, transfer
from labkit.config import FULL
from labkit.train import FitSettings

QUIET = FitSettings(epochs=1, progress=False)


@pytest.fixture
def full_data(tmp_path, monkeypatch):
    cifar.write_fixture(tmp_path, n_per_batch=20)
    monkeypatch.setenv("LABKIT_DATA_DIR", str(tmp_path))
    profile = dataclasses.replace(FULL, n_train=40, n_val=10, n_test=10, base_size=32,
                                  epochs=1, head_epochs=1, finetune_epochs=1)
    return profile, lessondata.load_lesson_data(profile, seed=0)


def test_full_profile_transfer_path_with_vgg16_stand_in(full_data):
    profile, data = full_data
    base, preprocess = transfer.lesson_base(profile, weights=None)  # VGG16, no download
    assert base.name == "vgg16" and preprocess is models.caffe_preprocess
    assert evidence.feature_map_sizes(base)[-1][1] == (1, 1, 512)  # 32x32: the 1x1 map
    feats = transfer.features(base, data, preprocess, size=profile.base_size)
    assert feats.train.shape == (40, 512)
    head, run = transfer.train_head(feats, data, fit=QUIET.replace(epochs=profile.head_epochs))
    assert "val_accuracy" in run.history
    images = transfer.prepare(data, preprocess, profile.base_size)
    model, run = transfer.finetune(base, images, data, name="vgg16 top block",
                                   fit=QUIET.replace(lr=1e-5), unfreeze_blocks=1, head=head)
    scores = train.evaluate(model, images.test, data.y_test, data.n_classes)
    assert 0.0 <= scores.accuracy <= 1.0
    assert transfer.source_task_accuracy(base) is None  # no ImageNet check offline


def test_full_profile_scratch_path(full_data):
    profile, data = full_data
    model, run = scratch.train_scratch(data, name="cifar scratch",
                                       fit=QUIET.replace(epochs=profile.epochs))
    assert len(run.history["loss"]) == 1 and np.isfinite(run.last("loss"))


def test_full_profile_batchnorm_path_with_resnet50_stand_in(full_data):
    from labkit.lessons import batchnorm

    profile, data = full_data
    base, preprocess = transfer.lesson_base(profile, weights=None, batchnorm=True)  # no download
    assert base.name == "resnet50" and preprocess is models.caffe_preprocess
    assert len(models.batchnorm_layers(base)) == 53
    feats = transfer.features(base, data, preprocess, size=profile.base_size)
    head, _ = transfer.train_head(feats, data, fit=QUIET)
    images = transfer.prepare(data, preprocess, profile.base_size)
    result = batchnorm.finetune_with_batchnorm(base, head, images, data, bn="frozen",
                                               name="resnet50, BN frozen",
                                               fit=QUIET.replace(lr=1e-5, batch_size=8))
    assert result.drift == 0.0 and np.isfinite(result.run.last("loss"))
