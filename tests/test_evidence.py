"""labkit.evidence: input statistics, weight drift, feature maps, prediction spread."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from labkit import evidence, models  # noqa: E402

RNG = np.random.default_rng(0)
BATCH = RNG.integers(0, 256, size=(4, 8, 8, 3), dtype=np.uint8)


@pytest.fixture
def random_base():
    keras.utils.set_random_seed(0)
    return models.backbone("minivgg", weights=None, input_shape=(32, 32, 3))[0]


def test_input_stats_has_a_row_per_input():
    table = evidence.input_stats({"raw": BATCH, "scaled": BATCH / 255.0})
    lines = table.splitlines()
    assert len(lines) == 3 and lines[0].startswith("input")
    assert lines[1].startswith("raw") and lines[2].startswith("scaled")
    means = BATCH.reshape(-1, 3).mean(0)
    assert f"{means[0]:8.2f}" in lines[1]
    assert f"{BATCH.max():8.2f}" in lines[1]


def test_weight_drift(random_base):
    before = evidence.block_weights(random_base)
    assert list(before) == [f"block{i}" for i in range(1, 6)]
    assert set(evidence.weight_drift(before, random_base).values()) == {0.0}
    layer = random_base.get_layer("block3_conv2")
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel * 1.5, bias])
    drift = evidence.weight_drift(before, random_base)
    assert drift["block3"] > 0
    assert all(drift[b] == 0.0 for b in drift if b != "block3")


def test_feature_map_sizes_of_minivgg(random_base):
    sizes = evidence.feature_map_sizes(random_base)
    assert [name for name, _ in sizes] == [f"block{i}_pool" for i in range(1, 6)]
    assert sizes[0][1] == (16, 16, models.MINIVGG_WIDTHS[0])
    assert sizes[-1] == ("block5_pool", (1, 1, models.MINIVGG_WIDTHS[-1]))


def test_prediction_spread_and_dead_relus(random_base):
    x = models.caffe_preprocess(RNG.integers(0, 256, size=(12, 32, 32, 3), dtype=np.uint8))
    classifier = models.attach_head(random_base, 4)
    spread = evidence.prediction_spread(classifier, x, 4)
    assert spread.shape == (4,) and spread.sum() == 12
    dead = evidence.dead_relu_fraction(random_base, x)
    convs = [n for n in (layer.name for layer in random_base.layers) if "_conv" in n]
    assert list(dead) == convs
    assert all(0.0 <= f <= 1.0 for f in dead.values())


def test_feature_similarity():
    a = RNG.normal(size=(5, 3))
    assert evidence.feature_similarity(a, a) == pytest.approx(1.0)
    assert evidence.feature_similarity(a, -a) == pytest.approx(-1.0)


def test_image_signal_per_block_and_its_spread_over_images(random_base):
    x = RNG.integers(0, 256, size=(6, 32, 32, 3), dtype=np.uint8)
    signal = evidence.image_signal(random_base, x, lambda b: b / 255.0)
    assert list(signal) == models.block_names(random_base)
    assert all(mean >= 0 and spread >= 0 for mean, spread in signal.values())
    same = evidence.image_signal(random_base, np.repeat(x[:1], 4, axis=0))
    assert all(spread == pytest.approx(0, abs=1e-6) for _, spread in same.values())
    resized = evidence.image_signal(random_base, x[:, :16, :16], size=32)
    assert list(resized) == list(signal)
    with pytest.raises(ValueError, match="at least 2"):
        evidence.image_signal(random_base, x[:1])
