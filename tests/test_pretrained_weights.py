"""The shipped MiniVGG weights: the file is the one recorded, and it reaches the recorded accuracy.

Expected values are read from ``labkit/weights/minivgg_source.json`` at test time, so re-running
``python -m labkit.pretrain`` never needs a test edit.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("keras")

from labkit import models, pretrain, shapes  # noqa: E402


@pytest.fixture(scope="module")
def meta() -> dict:
    assert pretrain.METADATA.exists(), "missing weights metadata: run python -m labkit.pretrain"
    return json.loads(pretrain.METADATA.read_text())


def test_metadata_is_complete(meta):
    for key in ("command", "epochs", "n_train", "seed", "seconds", "held_out_seed",
                "source_accuracy", "sha256", "classes"):
        assert key in meta, f"{pretrain.METADATA} lacks {key!r}"
    assert meta["command"].startswith("python -m labkit.pretrain")
    assert meta["held_out_seed"] == pretrain.HELD_OUT_SEED
    assert meta["classes"] == shapes.class_names("source")
    assert 0.0 <= meta["source_accuracy"] <= 1.0


def test_weights_file_matches_recorded_sha256(meta):
    assert models.MINIVGG_WEIGHTS.exists()
    assert pretrain.sha256(models.MINIVGG_WEIGHTS) == meta["sha256"]


def test_source_accuracy_matches_recorded(meta, tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_CACHE_DIR", str(tmp_path))  # the held-out sample, made afresh
    base, _ = models.backbone("minivgg", input_shape=(pretrain.SOURCE_SIZE,) * 2 + (3,))
    head = pretrain.load_source_head()
    assert len(head) == 2  # kernel and bias
    assert head[0].shape[-1] == len(shapes.class_names("source"))
    accuracy = pretrain.source_accuracy(base, head, n=1000)
    assert accuracy == pytest.approx(meta["source_accuracy"], abs=0.02)
    chance = 1 / len(shapes.class_names("source"))
    assert accuracy > chance + 0.05, "the shipped base learned nothing on its source task"
