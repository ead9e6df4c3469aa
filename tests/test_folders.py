"""labkit.folders: the folder check names each bad file and its fix; clean folders load."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from labkit import folders


def _image(path, mode="RGB", size=(8, 8), fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(str(path)))
    channels = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
    pixels = rng.integers(0, 256, (*size, channels), dtype=np.uint8)
    Image.fromarray(pixels.squeeze(-1) if channels == 1 else pixels, mode).save(path, fmt)
    return path


def _clean(root, counts=(("cat", 4), ("dog", 4))):
    for name, n in counts:
        for i in range(n):
            _image(root / name / f"{i}.{'png' if i % 2 else 'jpg'}")
    return root


def test_clean_folder_is_ok(tmp_path):
    report = folders.check_image_folder(_clean(tmp_path))
    assert report.ok and report.problems == [] and report.warnings == []
    assert report.counts == {"cat": 4, "dog": 4} and report.modes == {"RGB": 8}
    assert "no problems found" in str(report) and "cat 4, dog 4" in str(report)


def test_missing_folder_and_no_classes(tmp_path):
    report = folders.check_image_folder(tmp_path / "nope")
    assert not report.ok and "does not exist" in report.problems[0]
    _image(tmp_path / "flat" / "a.png")
    report = folders.check_image_folder(tmp_path / "flat")
    assert "no class subfolders" in report.problems[0] and "1 images lie directly" in str(report)


def test_each_problem_is_named_with_a_fix(tmp_path):
    root = _clean(tmp_path / "data")
    (root / "bird").mkdir()  # empty class
    (root / "bird" / ".gitkeep").touch()  # clutter: ignored, not a problem
    (root / "cat" / "photo.webp").write_bytes(b"RIFF....WEBP")  # unsupported extension
    (root / "dog" / "zero.jpg").touch()  # 0 bytes
    (root / "dog" / "junk.png").write_bytes(b"this is not a png")  # corrupt
    good = (root / "cat" / "1.png").read_bytes()
    (root / "cat" / "cut.png").write_bytes(good[: len(good) // 2])  # truncated
    _image(root / "cat" / "really_tiff.jpg", fmt="TIFF")  # wrong content for the name
    report = folders.check_image_folder(root)
    text = "\n".join(report.problems)
    assert not report.ok and len(report.problems) == 6, text
    expected = {
        "bird": "add images or delete the folder",
        "photo.webp": "Convert it to .png or .jpg",
        "zero.jpg": "empty (0 bytes)",
        "junk.png": "cannot be decoded",
        "cut.png": "cannot be decoded",
        "really_tiff.jpg": "really a TIFF",
    }
    for name, fix in expected.items():
        line = next(p for p in report.problems if name in p)
        assert fix in line, line
    assert report.counts == {"bird": 0, "cat": 4, "dog": 4}
    with pytest.raises(ValueError) as info:
        folders.load_image_folder(root)
    for name in expected:
        assert name in str(info.value)


def test_mixed_colour_modes_and_imbalance_are_reported(tmp_path):
    root = _clean(tmp_path, counts=(("cat", 6), ("dog", 2)))
    _image(tmp_path / "cat" / "gray.png", mode="L")
    _image(tmp_path / "dog" / "alpha.png", mode="RGBA")
    report = folders.check_image_folder(root)
    assert report.ok  # the loader converts modes: a note, not a blocker
    assert report.modes == {"RGB": 8, "L": 1, "RGBA": 1}
    note = next(w for w in report.warnings if "colour modes" in w)
    assert "RGB 8, " in note and "grayscale (L) 1" in note and "RGBA 1" in note
    assert "color_mode='rgb'" in note
    assert "gray.png" in note and "alpha.png" in note
    imbalance = next(w for w in report.warnings if "imbalance" in w)
    assert "'cat' 7" in imbalance and "'dog' 3" in imbalance


def test_strict_load_raises_and_lenient_load_warns(tmp_path, capsys):
    root = _clean(tmp_path)
    (root / "dog" / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="notes.txt"):
        folders.load_image_folder(root, validation_split=None)
    train, val, names = folders.load_image_folder(root, validation_split=None, strict=False)
    assert val is None and names == ["cat", "dog"]
    assert "notes.txt" in capsys.readouterr().out


def test_clean_folder_loads(tmp_path):
    root = _clean(tmp_path, counts=(("ant", 5), ("bee", 5), ("cow", 5)))
    _image(root / "bee" / "gray.png", mode="L")
    train, val, names = folders.load_image_folder(root, image_size=16, batch_size=4,
                                                  validation_split=0.2, seed=1)
    assert names == ["ant", "bee", "cow"]
    xb, yb = next(iter(train))
    assert tuple(xb.shape[1:]) == (16, 16, 3) and yb.dtype.name == "int32"
    n_train = sum(int(b[1].shape[0]) for b in train)
    n_val = sum(int(b[1].shape[0]) for b in val)
    assert (n_train, n_val) == (13, 3)
    labels = np.concatenate([b[1].numpy() for b in train] + [b[1].numpy() for b in val])
    assert sorted(labels.tolist()) == [0] * 5 + [1] * 6 + [2] * 5


def test_load_bad_args(tmp_path):
    root = _clean(tmp_path)
    with pytest.raises(ValueError, match="subset"):
        folders.load_image_folder(root, subset="train")
    with pytest.raises(ValueError, match="validation_split"):
        folders.load_image_folder(root, validation_split=1.5)


def test_too_few_images_per_class_is_named_with_the_fix(tmp_path):
    root = _clean(tmp_path, counts=(("cat", 4), ("dog", 1)))
    report = folders.check_image_folder(root)
    assert not report.ok
    (problem,) = [p for p in report.problems if "only 1 usable" in p]
    assert str(root / "dog") in problem and "add images" in problem
    assert folders.check_image_folder(root, min_per_class=1).ok
    assert not folders.check_image_folder(root, min_per_class=5).ok  # cat has 4
    with pytest.raises(ValueError, match="min_per_class"):
        folders.check_image_folder(root, min_per_class=0)
