"""labkit.dev.bench: one ``--quick`` run in a subprocess (~40 s); figures, not timings."""

from __future__ import annotations

import importlib.util
import json
import numbers
import os
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.dev import bench

SECTIONS = {
    "machine": {"cpu_count", "gpus", "tensorflow", "keras"},
    "shapes": {"threads", "images_per_s_32", "images_per_s_64"},
    "frozen_head": {"through_base_s_per_epoch", "cached_features_s_per_epoch", "speedup",
                    "extraction_s"},
    "scratch": {"s_per_epoch"},
    "autotune": {"off_s_per_epoch", "on_s_per_epoch", "off_stalled_epochs", "on_stalled_epochs",
                 "epochs_each"},
    "flops": {"forward_flops_per_image", "train_flops_per_image", "achieved_flops_per_s",
              "matmul_flops_per_s", "fraction_of_matmul"},
    "pipeline": {"tf_data_s_per_epoch", "tf_data_images_per_s", "in_memory_images_per_s",
                 "parts_images_per_s",
                 "tf_data_alone_images_per_s"},
    "panel": {"to_first_epoch_s", "to_done_s", "first_click_to_first_epoch_s",
              "first_click_to_done_s"},
    "resolution_panel": {"to_first_epoch_s", "to_done_s", "warm_up_to_done_s", "epochs"},
}
LEGACY_KEYS = {"legacy_s_per_epoch", "legacy_images_per_s", "legacy_alone_images_per_s",
               "speedup", "alone_speedup", "max_speedup"}
HAVE_SCIPY = importlib.util.find_spec("scipy") is not None  # the legacy pipeline needs it


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, dict]:
    tmp = tmp_path_factory.mktemp("bench")
    out = tmp / "figures" / "bench.json"  # the parent folder does not exist yet
    env = {**os.environ, "LABKIT_CACHE_DIR": str(tmp / "cache"), "CUDA_VISIBLE_DEVICES": "",
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, "-m", "labkit.dev.bench", "--quick", "--json", str(out)],
                          capture_output=True, text=True, env=env, timeout=300,
                          cwd=Path(__file__).parents[1])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc, json.loads(out.read_text())


@pytest.mark.slow
def test_json_has_every_section_and_key(quick_run):
    _, figures = quick_run
    for section, keys in SECTIONS.items():
        assert keys <= set(figures[section]), (section, sorted(figures[section]))
    assert figures["meta"]["quick"] is True
    assert figures["panel"]["epochs"] == 2
    assert isinstance(figures["machine"]["gpus"], list)
    resolution = figures["resolution_panel"]
    assert (resolution["epochs"], resolution["size"], resolution["cut"]) == (3, 32, "block5")
    pipeline = figures["pipeline"]
    if HAVE_SCIPY:
        assert LEGACY_KEYS <= set(pipeline), sorted(pipeline)
    else:
        assert "SciPy" in pipeline["legacy_skipped"]


@pytest.mark.slow
def test_pipeline_figures_are_consistent(quick_run):
    _, figures = quick_run
    p = figures["pipeline"]
    assert p["images"] * p["epochs_timed"] > 0 and p["batch_size"] == 64
    assert p["tf_data_images_per_s"] == pytest.approx(p["images"] / p["tf_data_s_per_epoch"])
    if HAVE_SCIPY:
        assert p["speedup"] == pytest.approx(p["legacy_s_per_epoch"] / p["tf_data_s_per_epoch"])
        assert p["max_speedup"] == pytest.approx(p["legacy_s_per_epoch"]
                                                 / p["in_memory_s_per_epoch"])
    f = figures["flops"]
    assert f["train_flops_per_image"] == 3 * f["forward_flops_per_image"]
    assert f["achieved_flops_per_s"] == pytest.approx(
        figures["scratch"]["images_per_s"] * f["train_flops_per_image"])


@pytest.mark.slow
def test_figures_are_positive_numbers(quick_run):
    _, figures = quick_run
    for section in ("shapes", "frozen_head", "scratch", "flops", "pipeline", "panel",
                    "resolution_panel"):
        for key, value in figures[section].items():
            if isinstance(value, str) or value is None:  # e.g. feature_shape "2x2x64"
                continue
            if key == "breakdown":  # seconds of each part of a click (tracing may be ~0)
                assert all(v >= 0 for v in value.values()), value
                assert value["total_s"] >= value["training_steps_s"] > 0, value
                continue
            if key == "parts_images_per_s":  # the pipeline alone, step by step
                assert list(value) == list(bench.PIPELINE_PARTS), value
                assert all(v > 0 for v in value.values()), value
                continue
            assert isinstance(value, numbers.Real) and not isinstance(value, bool), (key, value)
            assert value > 0, (section, key, value)
    assert figures["machine"]["cpu_count"] >= 1
    for panel in (figures["panel"], figures["resolution_panel"]):
        assert panel["to_first_epoch_s"] < panel["to_done_s"]


@pytest.mark.slow
def test_prints_a_readable_table(quick_run):
    proc, figures = quick_run
    for name, value in bench.rows(figures):
        assert name in proc.stdout and value in proc.stdout
    assert "images/s" in proc.stdout and "speed-up" in proc.stdout
    assert "GFLOP/s" in proc.stdout and "ImageDataGenerator" in proc.stdout


@pytest.mark.slow
def test_markdown_table_has_a_header_row(quick_run):
    _, figures = quick_run
    lines = bench.markdown_table(figures).splitlines()
    assert lines[0] == "| measurement | value |" and lines[1] == "|---|---|"
    first_table = lines[:lines.index("")]
    body = [line for line in first_table[2:] if line.startswith("| ")]
    assert len(body) == len(bench.rows(figures)) >= 16
    assert all(line.count(" | ") == 1 and line.endswith(" |") for line in body)
    assert "`python -m labkit.dev.bench --quick --markdown`" in lines[-1]
    assert "| target | measured | limit | |" in lines  # then the speed targets
    assert len([t for t in bench.target_rows(figures)]) == len(bench.TARGETS)


def test_markdown_table_skips_missing_sections():
    table = bench.markdown_table({"scratch": {"images": 10, "size": 32, "s_per_epoch": 0.5,
                                              "images_per_s": 20.0}})
    assert table.splitlines()[:2] == ["| measurement | value |", "|---|---|"]
    assert "scratch CNN epoch (10 images at 32x32) | 0.5 s (20.0 images/s)" in table


def test_forward_flops_counts_the_scratch_cnn_convs_and_dense():
    from labkit import models

    model = models.scratch_cnn((32, 32, 3), 5)
    convs = [(32, 3, 16), (32, 16, 16), (16, 16, 32), (16, 32, 32), (8, 32, 64), (8, 64, 64)]
    expected = sum(2 * side * side * 9 * c_in * c_out for side, c_in, c_out in convs)
    assert bench._forward_flops(model) == expected + 2 * 64 * 5


def test_markdown_table_says_when_the_legacy_pipeline_was_skipped():
    table = bench.markdown_table({"pipeline": {
        "images": 8, "size": 32, "batch_size": 64, "tf_data_images_per_s": 1000.0,
        "legacy_skipped": "ImageDataGenerator shifts need SciPy: pip install scipy"}})
    assert "tf.data make_pipeline" in table and "1,000 images/s" in table
    assert "need SciPy" in table and "speed-up" not in table
