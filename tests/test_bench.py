"""labkit.bench: one ``--quick`` run in a subprocess (~20 s on 2 cores); figures, not timings."""

from __future__ import annotations

import json
import numbers
import os
import subprocess
import sys
from pathlib import Path

import pytest

from labkit import bench

SECTIONS = {
    "machine": {"cpu_count", "gpus", "tensorflow", "keras"},
    "shapes": {"threads", "images_per_s_32", "images_per_s_64"},
    "frozen_head": {"through_base_s_per_epoch", "cached_features_s_per_epoch", "speedup",
                    "extraction_s"},
    "scratch": {"s_per_epoch"},
    "panel": {"to_first_epoch_s", "to_done_s", "first_click_to_first_epoch_s",
              "first_click_to_done_s"},
}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, dict]:
    tmp = tmp_path_factory.mktemp("bench")
    out = tmp / "figures" / "bench.json"  # the parent folder does not exist yet
    env = {**os.environ, "LABKIT_CACHE_DIR": str(tmp / "cache"), "CUDA_VISIBLE_DEVICES": "",
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, "-m", "labkit.bench", "--quick", "--json", str(out)],
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


@pytest.mark.slow
def test_figures_are_positive_numbers(quick_run):
    _, figures = quick_run
    for section in ("shapes", "frozen_head", "scratch", "panel"):
        for key, value in figures[section].items():
            if isinstance(value, str) or value is None:  # e.g. feature_shape "2x2x64"
                continue
            assert isinstance(value, numbers.Real) and not isinstance(value, bool), (key, value)
            assert value > 0, (section, key, value)
    assert figures["machine"]["cpu_count"] >= 1
    panel = figures["panel"]
    assert panel["to_first_epoch_s"] < panel["to_done_s"]


@pytest.mark.slow
def test_prints_a_readable_table(quick_run):
    proc, figures = quick_run
    for name, value in bench.rows(figures):
        assert name in proc.stdout and value in proc.stdout
    assert "images/s" in proc.stdout and "speed-up" in proc.stdout


@pytest.mark.slow
def test_markdown_table_has_a_header_row(quick_run):
    _, figures = quick_run
    lines = bench.markdown_table(figures).splitlines()
    assert lines[0] == "| measurement | value |" and lines[1] == "|---|---|"
    body = [line for line in lines[2:] if line.startswith("| ")]
    assert len(body) == len(bench.rows(figures)) >= 10
    assert all(line.count(" | ") == 1 and line.endswith(" |") for line in body)


def test_markdown_table_skips_missing_sections():
    table = bench.markdown_table({"scratch": {"images": 10, "size": 32, "s_per_epoch": 0.5,
                                              "images_per_s": 20.0}})
    assert table.splitlines()[:2] == ["| measurement | value |", "|---|---|"]
    assert "scratch CNN epoch (10 images at 32x32) | 0.5 s (20.0 images/s)" in table
