"""The shipped offline bases: each file is the one recorded, and reaches the recorded accuracy.

Expected values are read from ``labkit/weights/<backbone>_source.json`` at test time, so
re-running ``python -m labkit.dev.pretrain --backbone <backbone>`` never needs a test edit.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("keras")

from labkit import models, shapes, source_task  # noqa: E402


@pytest.fixture(scope="module", params=models.OFFLINE_BACKBONES)
def shipped(request) -> tuple[str, dict]:
    name = request.param
    path = source_task.metadata_file(name)
    assert path.exists(), f"missing {path}: run python -m labkit.dev.pretrain --backbone {name}"
    return name, json.loads(path.read_text())


def test_metadata_is_complete(shipped):
    name, meta = shipped
    for key in ("command", "epochs", "n_train", "seed", "seconds", "held_out_seed",
                "source_accuracy", "sha256", "classes"):
        assert key in meta, f"{source_task.metadata_file(name)} lacks {key!r}"
    assert meta["command"].startswith("python -m labkit.dev.pretrain")
    assert meta["held_out_seed"] == source_task.HELD_OUT_SEED
    assert meta["classes"] == shapes.class_names("source")
    assert 0.0 <= meta["source_accuracy"] <= 1.0


def test_weights_file_matches_recorded_sha256(shipped):
    name, meta = shipped
    assert source_task.sha256(models.shipped_weights(name)) == meta["sha256"]


def test_source_accuracy_matches_recorded(shipped, tmp_path, monkeypatch):
    name, meta = shipped
    monkeypatch.setenv("LABKIT_CACHE_DIR", str(tmp_path))  # the held-out sample, made afresh
    base, _ = models.backbone(name, input_shape=(source_task.SOURCE_SIZE,) * 2 + (3,))
    head = source_task.load_source_head(name)
    assert len(head) == 2  # kernel and bias
    assert head[0].shape[-1] == len(shapes.class_names("source"))
    accuracy = source_task.source_accuracy(base, head, n=1000)
    assert accuracy == pytest.approx(meta["source_accuracy"], abs=0.02)
    chance = 1 / len(shapes.class_names("source"))
    assert accuracy > chance + 0.05, f"the shipped {name} learned nothing on its source task"
