"""labkit.lessons.capstone: the learner's pipeline, one switch per fault, on tiny data."""

from __future__ import annotations

import dataclasses

import pytest

keras = pytest.importorskip("keras")

from labkit.config import QUICK  # noqa: E402
from labkit.lessons import capstone  # noqa: E402

TINY_SIZE = 16  # the side of conftest's tiny images

PROFILE = dataclasses.replace(QUICK, image_size=TINY_SIZE)


def _trainable_base_share(model) -> bool:
    base = model.get_layer(QUICK.backbone)
    return all(layer.trainable for layer in base.layers if layer.weights)


def test_a_staged_pipeline_is_built_as_its_second_stage():
    p = capstone.Pipeline(split="stratified", head="softmax", inputs="caffe", size=32,
                          base_trainable=False, staged=True)
    model, base = capstone.build(p, PROFILE, 10)
    assert base.trainable and _trainable_base_share(model)
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(p.finetune_lr)
    frozen, frozen_base = capstone.build(p.fixed(staged=False), PROFILE, 10)
    assert not frozen_base.trainable
    assert float(frozen.optimizer.learning_rate.numpy()) == pytest.approx(p.lr)


def test_a_staged_run_trains_the_head_then_every_block(tiny_data, capsys):
    p = capstone.Pipeline(split="stratified", head="softmax", inputs="caffe", size=32,
                          staged=True)
    run, scores = capstone.run(p, tiny_data, PROFILE, name="staged", epochs=1, seed=3,
                               progress=False)
    assert run.epochs == 1 + capstone.FINE_TUNE_EPOCHS
    assert run.history["learning_rate"] == pytest.approx([p.lr] + [p.finetune_lr]
                                                         * capstone.FINE_TUNE_EPOCHS)
    assert 0.0 <= scores.accuracy <= 1.0
    assert capsys.readouterr().out == ""
