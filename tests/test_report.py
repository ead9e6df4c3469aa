"""labkit.report: each lesson's verdict (RESULT line) and claims."""

from __future__ import annotations

import dataclasses

import pytest

from labkit import report
from labkit.config import FULL, QUICK
from labkit.dev.results import parse_result_line
from labkit.session import Lab

LAB = Lab(profile=QUICK, seed=0, gpus=())


def test_check_lesson_finds_its_margin_and_prints_the_result_line(capsys):
    result = report.check_lesson(LAB, "preprocessing", case="SGD", metric="val accuracy",
                                 failure=0.30, fix=0.62)
    out = capsys.readouterr().out.strip()
    assert out == ("RESULT | 01 preprocessing (SGD) | val accuracy | failure 30.0% | fix 62.0% | "
                   "margin +32.0 points")
    assert result.margin == pytest.approx(0.32) and result.line() == out
    assert result.min_margin == QUICK.threshold("preprocessing")
    assert parse_result_line(out) == ("01 preprocessing (SGD)", "val accuracy", "30.0%", "62.0%",
                                      "+32.0 points")


def test_check_lesson_result_line_is_unchanged_for_every_lesson(capsys):
    """The lesson names README's results table was made from (``labkit.dev.results``)."""
    expected = {
        "preprocessing": "01 preprocessing", "unfrozen_base": "02 unfrozen base",
        "gradual_unfreezing": "02 gradual unfreezing",
        "learning_rate": "03 learning rate", "small_images": "04 32x32 inputs",
        "imbalance": "05 class imbalance", "validation_split": "06 validation split",
        "overfitting": "07 overfitting", "head_and_loss": "08 wrong head or loss",
        "channel_order": "09 channel order", "colour_mode": "09 colour mode",
        "batchnorm": "10 batchnorm", "capstone": "11 capstone",
        "include_top": "12 include_top=True", "batch_size": "12 batch size",
        "colour_jitter": "12 colour jitter", "domain_shift": "12 domain shift",
        "model_size": "12 model too small",
    }
    assert report.LESSONS == expected
    report.check_lesson(QUICK, "learning_rate", metric="val accuracy", failure=0.084, fix=0.512)
    assert capsys.readouterr().out == ("RESULT | 03 learning rate | val accuracy | failure 8.4% | "
                                       "fix 51.2% | margin +42.8 points\n")


@pytest.mark.parametrize("profile", [QUICK, FULL], ids=lambda p: p.name)
def test_every_topic_has_a_margin_in_every_profile(profile):
    for topic in report.LESSONS:
        assert 0 < profile.threshold(topic) < 1


def test_check_lesson_fails_when_margin_too_small(capsys):
    lab = Lab(profile=dataclasses.replace(QUICK, thresholds={"learning_rate": 0.2}), seed=0,
              gpus=())
    with pytest.raises(AssertionError, match="recalibrate") as info:
        report.check_lesson(lab, "learning_rate", metric="val accuracy", failure=0.50, fix=0.55)
    assert "only 5.0 points" in str(info.value) and "at least 20" in str(info.value)
    assert "'learning_rate'" in str(info.value)
    assert capsys.readouterr().out.startswith("RESULT | 03 learning rate |")  # printed first


def test_check_lesson_unknown_topic_lists_the_known_ones():
    with pytest.raises(KeyError, match="unknown lesson topic '03_margin'.*learning_rate"):
        report.check_lesson(LAB, "03_margin", metric="m", failure=0.0, fix=1.0)


def test_claim(capsys):
    assert report.claim("fix beats failure", True) is True
    assert capsys.readouterr().out == "fix beats failure: True\n"
    with pytest.raises(AssertionError, match="claim does not hold on this run: it is late"):
        report.claim("it is late", False)
    assert capsys.readouterr().out == "it is late: False\n"


def test_raised_names_the_error_or_returns_none():
    def boom():
        raise ValueError("Graph execution error:\nDetected at node x\nbad shape [2] vs [3]")

    assert report.raised(boom) == "ValueError: bad shape [2] vs [3]"
    assert report.raised(lambda: 1) is None
    assert report.error_line(TypeError("first\nsecond")) == "TypeError: first"


def test_raised_can_name_the_root_cause():
    def wrapped():
        try:
            raise TypeError("Could not locate function 'f'")
        except TypeError as inner:
            raise TypeError("could not be deserialized properly") from inner

    assert report.raised(wrapped) == "TypeError: could not be deserialized properly"
    assert report.raised(wrapped, root_cause=True) == "TypeError: Could not locate function 'f'"
