"""labkit.reference: the well-trained reference is trained once per data and recipe, then read."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("keras")

from labkit import reference, scratch  # noqa: E402
from labkit.train import FitSettings  # noqa: E402

TINY_FIT = FitSettings(epochs=1, lr=3e-3, batch_size=8, schedule="cosine")


@pytest.fixture
def tiny_recipe(monkeypatch, tmp_path):
    monkeypatch.setenv("LABKIT_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(scratch, "COURSE_FIT", TINY_FIT)
    monkeypatch.setattr(scratch, "COURSE", scratch.Network(widths=(4, 8), batchnorm=True))
    return tmp_path


def test_well_trained_is_cached_per_data_and_seed(tiny_recipe, tiny_data, capsys):
    first = reference.well_trained(tiny_data, seed=1)
    assert "training the course's CNN once" in capsys.readouterr().out
    again = reference.well_trained(tiny_data, seed=1)
    assert "read from" in capsys.readouterr().out
    assert again.accuracy == first.accuracy
    np.testing.assert_array_equal(again.confusion, first.confusion)
    reference.well_trained(tiny_data, seed=2)  # another seed: trained again
    assert "training the course's CNN once" in capsys.readouterr().out
    assert len(list(tiny_recipe.glob("reference-*.json"))) == 2


def test_a_damaged_cache_file_is_trained_again(tiny_recipe, tiny_data, capsys):
    reference.well_trained(tiny_data, seed=1)
    (path,) = tiny_recipe.glob("reference-*.json")
    path.write_text("{not json")
    capsys.readouterr()
    scores = reference.well_trained(tiny_data, seed=1)
    assert "training the course's CNN once" in capsys.readouterr().out
    assert 0.0 <= scores.accuracy <= 1.0


def test_record_keeps_a_lessons_own_model(tiny_recipe, tiny_data, capsys):
    model, _ = scratch.train_scratch(tiny_data, name="fix", fit=TINY_FIT.replace(seed=3,
                                                                                 progress=False))
    kept = reference.record(tiny_data, model, seed=3)
    label, value = reference.line(tiny_data, seed=3)
    assert "read from" in capsys.readouterr().out
    assert label == reference.LABEL and value == kept.accuracy
    with pytest.raises(ValueError, match="metric must be"):
        reference.line(tiny_data, seed=3, metric="f1")
