"""labkit.dev.bench: the speed targets of issue 18, judged from figures (no measuring)."""

from __future__ import annotations

import pytest

from labkit.dev import bench


def _figures(done: float = 4.0, first: float = 1.0, cold: float = 6.0, cached: float = 1.9,
             tf_data: float = 1.05, arrays: float = 1.0) -> dict:
    breakdown = {key: 0.5 for key, _ in bench.BREAKDOWN} | {"total_s": done, "live_draws": 3}
    return {"panel": {"to_done_s": done, "to_first_epoch_s": first, "first_click_to_done_s": cold,
                      "first_click_to_first_epoch_s": first, "breakdown": breakdown},
            "resolution_panel": {"to_done_s": cached},
            "pipeline": {"tf_data_s_per_epoch": tf_data, "in_memory_s_per_epoch": arrays}}


def test_every_target_is_judged_met_when_under_its_limit():
    rows = bench.target_rows(_figures())
    assert len(rows) == len(bench.TARGETS)
    assert all(met == "met" for *_, met in rows), rows


def test_each_target_fails_on_its_own_figure():
    for change, what in (({"done": 5.0}, "final curves (median"), ({"first": 1.6}, "first epoch"),
                         ({"cached": 2.5}, "cached-features"), ({"tf_data": 1.11}, "pipeline"),
                         ({"cold": 9.0}, "first click")):
        rows = {row[0]: row[3] for row in bench.target_rows(_figures(**change))}
        failed = [name for name, met in rows.items() if met != "met"]
        assert len(failed) == 1 and what in failed[0], (change, failed)


def test_the_pipeline_limit_is_inclusive_and_shown_as_a_percentage():
    (row,) = [r for r in bench.target_rows(_figures(tf_data=1.09)) if "pipeline" in r[0]]
    assert row[1:] == ("9%", "<= 10%", "met")
    at_limit = bench.Target("x", lambda f: 0.25, 0.25, "%", strict=False)
    assert at_limit.met({}) and not bench.Target("x", lambda f: 0.25, 0.25, "%").met({})


def test_missing_sections_are_left_out_not_failed():
    assert bench.target_rows({"pipeline": {"tf_data_s_per_epoch": 1.0,
                                           "in_memory_s_per_epoch": 1.0}})[0][3] == "met"
    assert len(bench.target_rows({})) == 0 and bench.breakdown_rows({}) == []


def test_markdown_has_the_targets_and_the_breakdown(monkeypatch):
    monkeypatch.setattr(bench, "rows", lambda figures: [("m", "v")])  # the figures table aside
    text = bench.markdown_table(_figures(done=7.0))
    assert "| target | measured | limit | |" in text and "**not met**" in text
    assert "| one later click, seconds | scratch panel | cached-features panel |" in text
    assert "| total, Train click to final curves | 7.00 | - |" in text


def test_click_floor_is_the_clicks_flops_at_the_matmul_peak():
    figures = {"panel": {"epochs": 2, "train_images": 10, "val_images": 4, "to_done_s": 9.0,
                         "to_first_epoch_s": 1.0, "first_click_to_done_s": 9.0,
                         "first_click_to_first_epoch_s": 2.0},
               "flops": {"train_flops_per_image": 30.0, "forward_flops_per_image": 10.0,
                         "matmul_flops_per_s": 100.0, "matmul_size": 8,
                         "achieved_flops_per_s": 50.0, "fraction_of_matmul": 0.5}}
    assert bench.click_floor(figures) == pytest.approx(2 * (30 * 10 + 10 * 4) / 100)
    assert bench.click_floor({"panel": figures["panel"]}) is None
    (row,) = [r for r in bench.rows(figures) if "floor" in r[0]]
    assert row[1] == "6.8 s"
