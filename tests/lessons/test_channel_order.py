"""labkit.lessons.channel_order (lesson 09): PNG loaders, channel probe, grayscale."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("cv2")

from labkit import train
from labkit.lessons import channel_order  # noqa: E402

NAMES = ["red_disc", "blue_disc", "yellow_square", "cyan_square", "ring"]
RED, BLUE = (200, 100, 30), (30, 100, 200)


def _images(colours, size=6, seed=0):
    """One image per colour: that colour plus a little noise, uint8 RGB."""
    rng = np.random.default_rng(seed)
    base = np.asarray(colours, np.int16)[:, None, None, :]
    noise = rng.integers(-5, 6, (len(colours), size, size, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


class NearestColour:
    """A stub predictor: class 0 near RED, 1 near BLUE (RGB), 2 for anything else."""

    def predict(self, x, batch_size=None, verbose=0):
        means = np.asarray(x, np.float64).mean(axis=(1, 2))
        dist = np.stack([np.linalg.norm(means - c, axis=1) for c in (RED, BLUE)], axis=1)
        probs = np.zeros((len(x), 3))
        best = dist.argmin(1)
        probs[np.arange(len(x)), np.where(dist.min(1) < 30, best, 2)] = 1.0
        return probs


@pytest.fixture
def folder(tmp_path):
    x = _images([RED, BLUE, RED, BLUE, (10, 220, 240), (240, 200, 20)])
    y = np.array([0, 1, 0, 1, 3, 2])
    return x, y, channel_order.write_png_folder(x, y, NAMES, tmp_path / "imgs")


# ---- channel order ----------------------------------------------------------------------------
def test_as_rgb_reorders_and_round_trips():
    x = _images([RED, BLUE])
    assert np.array_equal(channel_order.as_rgb(x, "RGB"), x)
    assert np.array_equal(channel_order.as_rgb(x[..., ::-1], "bgr"), x)
    for order in channel_order.ORDERS:
        stored = x[..., ["RGB".index(c) for c in order]]  # x written in that order
        assert np.array_equal(channel_order.as_rgb(stored, order), x), order


@pytest.mark.parametrize("order", ["RGBA", "RRB", "", 3])
def test_as_rgb_rejects_bad_orders(order):
    with pytest.raises(ValueError, match="order must name"):
        channel_order.as_rgb(_images([RED]), order)


def test_as_rgb_rejects_non_rgb_images():
    with pytest.raises(ValueError, match="3-channel"):
        channel_order.as_rgb(np.zeros((2, 4, 4, 1), np.uint8), "BGR")


def test_probe_names_a_bgr_swap_on_a_stub_predictor():
    x, y = _images([RED, BLUE, RED, BLUE]), np.array([0, 1, 0, 1])
    probe = channel_order.channel_permutation_probe(NearestColour(), x[..., ::-1], y, n_classes=3)
    assert set(probe) == set(channel_order.ORDERS) and len(channel_order.ORDERS) == 6
    assert probe["BGR"].accuracy == 1.0 and probe["RGB"].accuracy == 0.0
    assert channel_order.best_order(probe) == "BGR"
    clean = channel_order.channel_permutation_probe(NearestColour(), x, y, n_classes=3)
    assert channel_order.best_order(clean) == "RGB"


def test_probe_and_best_order_errors():
    with pytest.raises(ValueError, match="4 images but y has 3"):
        channel_order.channel_permutation_probe(NearestColour(), _images([RED] * 4),
                                                np.zeros(3, int))
    with pytest.raises(ValueError, match="probe is empty"):
        channel_order.best_order({})


def test_best_order_prefers_rgb_on_ties():
    s = train.score([0, 1], [0, 1], 2)
    assert channel_order.best_order({"BGR": s, "RGB": s}) == "RGB"


# ---- grayscale --------------------------------------------------------------------------------
def test_to_grayscale_luma_matches_pil_and_mean_hides_the_pair():
    x = _images([RED, BLUE, (242, 204, 26)])
    gray = channel_order.to_grayscale(x)
    pil = np.stack([np.asarray(Image.fromarray(img).convert("L")) for img in x])[..., None]
    assert gray.shape == (3, 6, 6, 1) and gray.dtype == np.uint8
    assert np.abs(gray.astype(int) - pil).max() <= 1
    assert channel_order.to_grayscale(x, channels=3).shape == (3, 6, 6, 3)
    pure = np.array([[[RED]], [[BLUE]]], np.uint8)  # a red/blue swap: same mean, other luma
    gray = channel_order.to_grayscale(pure, "mean")
    assert gray[0] == gray[1]
    assert channel_order.to_grayscale(pure)[0] != channel_order.to_grayscale(pure)[1]


def test_to_grayscale_errors():
    with pytest.raises(ValueError, match="method must be"):
        channel_order.to_grayscale(_images([RED]), method="lightness")
    with pytest.raises(ValueError, match="channels must be 1"):
        channel_order.to_grayscale(_images([RED]), channels=2)
    with pytest.raises(ValueError, match="RGB images"):
        channel_order.to_grayscale(np.zeros((1, 4, 4, 4), np.uint8))


# ---- files and loaders ------------------------------------------------------------------------
def test_write_png_folder_layout_and_loaders(folder):
    x, y, paths = folder
    assert [p.parent.name for p in paths] == [NAMES[i] for i in y]
    assert [p.name for p in paths] == [f"{i:05d}.png" for i in range(len(x))]
    keras_x = channel_order.load_like_keras(paths)
    assert keras_x.dtype == np.uint8 and np.array_equal(keras_x, x)  # PNG is lossless, RGB
    assert np.array_equal(channel_order.load_like_opencv(paths), x[..., ::-1])  # cv2.imread: BGR
    assert np.array_equal(channel_order.load_like_opencv(paths, to_rgb=True), x)
    assert channel_order.load_like_keras(paths, "grayscale").shape == (len(x), 6, 6, 1)


def test_load_folder_returns_written_order_and_labels(folder):
    x, y, paths = folder
    root = paths[0].parents[1]
    xs, ys = channel_order.load_folder(root, class_names=NAMES)
    assert np.array_equal(xs, x) and np.array_equal(ys, y)
    xa, ya = channel_order.load_folder(root)  # Keras' default: folders numbered alphabetically
    assert np.array_equal(xa, x)
    alphabetical = sorted(NAMES[i] for i in set(y.tolist()))
    assert [alphabetical[i] for i in ya] == [NAMES[i] for i in y]
    gray, _ = channel_order.load_folder(root, "grayscale", class_names=NAMES)
    assert gray.shape == (len(x), 6, 6, 1)
    assert np.abs(gray.astype(int) - channel_order.to_grayscale(x)).max() <= 1


def test_two_loaders_flips_the_opencv_share(folder):
    x, _, paths = folder
    mixed, by_cv2 = channel_order.two_loaders(paths, fraction=0.5, seed=1)
    assert by_cv2.dtype == bool and len(by_cv2) == len(x)
    assert np.array_equal(mixed[by_cv2], x[by_cv2][..., ::-1])
    assert np.array_equal(mixed[~by_cv2], x[~by_cv2])
    assert np.array_equal(channel_order.two_loaders(paths, fraction=0.0)[0], x)
    with pytest.raises(ValueError, match="fraction must be in"):
        channel_order.two_loaders(paths, fraction=1.5)


def test_write_png_folder_modes_are_flagged_by_the_folder_check(tmp_path):
    from labkit import folders

    x, y = _images([RED] * 4 + [BLUE] * 4), np.array([0] * 4 + [1] * 4)
    modes = ["RGB"] * 4 + ["RGBA", "P", "L", "RGB"]
    paths = channel_order.write_png_folder(x, y, NAMES, tmp_path / "m", mode=modes)
    assert [Image.open(p).mode for p in paths] == modes
    report = folders.check_image_folder(tmp_path / "m")
    assert report.modes == {"RGB": 5, "RGBA": 1, "P": 1, "L": 1}
    assert any("colour modes differ" in w for w in report.warnings)
    assert channel_order.load_like_keras(paths).shape == (8, 6, 6, 3)  # all read as 3 channels
    assert channel_order.load_like_opencv(paths).shape == (8, 6, 6, 3)


def test_write_png_folder_errors(tmp_path):
    x, y = _images([RED, BLUE]), np.array([0, 1])
    with pytest.raises(ValueError, match="uint8 RGB"):
        channel_order.write_png_folder(x.astype(np.float32), y, NAMES, tmp_path / "a")
    with pytest.raises(ValueError, match="2 images but y has 3"):
        channel_order.write_png_folder(x, np.array([0, 1, 1]), NAMES, tmp_path / "a")
    with pytest.raises(ValueError, match="labels must be in"):
        channel_order.write_png_folder(x, np.array([0, 9]), NAMES, tmp_path / "a")
    with pytest.raises(ValueError, match="mode must be one of"):
        channel_order.write_png_folder(x, y, NAMES, tmp_path / "a", mode="CMYK")
    channel_order.write_png_folder(x, y, NAMES, tmp_path / "a")
    with pytest.raises(ValueError, match="is not empty"):
        channel_order.write_png_folder(x, y, NAMES, tmp_path / "a")


def test_loader_errors(tmp_path):
    with pytest.raises(ValueError, match="cv2.imread could not read"):
        channel_order.load_like_opencv([tmp_path / "missing.png"])
    with pytest.raises(ValueError, match="paths is empty"):
        channel_order.load_like_keras([])
    with pytest.raises(ValueError, match="color_mode must be"):
        channel_order.load_like_keras([tmp_path / "x.png"], color_mode="bgr")
    with pytest.raises(ValueError, match="holds no <class>/<image> files"):
        channel_order.load_folder(tmp_path)


# ---- colour pairs -----------------------------------------------------------------------------
def test_pair_metrics_on_a_known_confusion():
    # red and blue discs swapped, yellow right, cyan half right, ring right
    y_true = np.array([0, 0, 1, 1, 2, 2, 3, 3, 4, 4])
    y_pred = np.array([1, 1, 0, 0, 2, 2, 3, 2, 4, 4])
    s = train.score(y_true, y_pred, len(NAMES))
    assert channel_order.pair_recall(s, NAMES) == pytest.approx((0 + 0 + 1 + 0.5) / 4)
    assert channel_order.other_recall(s, NAMES) == 1.0
    assert channel_order.partner_rate(s, NAMES) == pytest.approx(5 / 8)
    table = channel_order.pair_table({"swapped": s}, NAMES)
    assert "to partner" in table and "62.5%" in table


def test_pair_metrics_name_missing_classes():
    s = train.score([0, 1], [0, 1], 2)
    with pytest.raises(ValueError, match="lack the colour-pair classes"):
        channel_order.pair_recall(s, ["cat", "dog"])
    with pytest.raises(ValueError, match="no other classes"):
        channel_order.other_recall(s, ["a", "b"], pairs=[("a", "b")])


def test_load_folder_with_no_matching_class_names(folder):
    _, _, paths = folder
    with pytest.raises(ValueError, match="none of class_names"):
        channel_order.load_folder(paths[0].parents[1], class_names=["cat", "dog"])


# ---- the lesson's panel -----------------------------------------------------------------------
def test_channel_order_panel_trains_on_grayscale_served_by_opencv(tiny_data, quick_lab,
                                                                    run_panel):
    from labkit import panels

    small, lab = tiny_data, quick_lab
    sets = {"RGB": small.x_train, "grayscale": channel_order.to_grayscale(small.x_train)}
    panel = panels.channel_order_panel(lab, small, sets)
    assert list(panel.controls) == ["training", "serving", "epochs"]
    assert panel.settings()["serving"] == "cv2.imread (BGR)"
    run = run_panel(panel, training="grayscale", epochs=1)
    assert run.best("val_accuracy") is not None
    with pytest.raises(ValueError, match="labels; pass images"):
        panels.channel_order_panel(lab, small, {"short": small.x_train[:3]})
    with pytest.raises(ValueError, match="serving must be one of"):
        panels.channel_order_panel(lab, small, sets, serving="PIL")
