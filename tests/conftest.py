"""Shared test fixtures: one tiny lesson dataset, made once, and one way to run a panel."""

from __future__ import annotations

import pytest

TINY_SIZE = 16  # side of the tiny images
TINY_SPLITS = (24, 12, 12)  # train, val, test images


def _make_tiny_data(size: int = TINY_SIZE, n_train: int = TINY_SPLITS[0],
                   n_val: int = TINY_SPLITS[1], n_test: int = TINY_SPLITS[2], seed: int = 7):
    """A ``LessonData`` of a few dozen labkit shapes (uint8 RGB, 10 classes)."""
    from labkit import shapes
    from labkit.lessondata import LessonData

    x, y = shapes.generate(n_train + n_val + n_test, size, seed=seed)
    a, b = n_train, n_train + n_val
    return LessonData(x[:a], y[:a], x[a:b], y[a:b], x[b:], y[b:],
                      tuple(shapes.class_names()), "tiny shapes")


@pytest.fixture(scope="session")
def tiny_data():
    """24 train / 12 val / 12 test 16x16 shapes, made once per session (do not modify)."""
    return _make_tiny_data()


@pytest.fixture(scope="session")
def quick_lab():
    """A ``Lab`` on the quick profile, seed 0, no GPU (what panels take), without ``setup()``."""
    from labkit import session
    from labkit.config import QUICK

    return session.Lab(profile=QUICK, seed=0, gpus=())


def _run_panel(panel, timeout: float = 60, expect_failure: bool = False, **controls):
    """Set ``controls`` on ``panel``, click Train, wait for the thread and return the new run
    (``None`` when ``expect_failure``: the status must then say the run failed)."""
    for name, value in controls.items():
        panel.controls[name].value = value
    before = len(panel.runs)
    assert panel.start(), "the panel did not start a run (one is still running?)"
    assert panel.wait(timeout), f"the panel's run did not finish in {timeout} s"
    assert not panel.train_button.disabled and panel.stop_button.disabled
    if expect_failure:
        assert "failed" in panel.status.value, panel.status.value
        assert len(panel.runs) == before
        return None
    assert "failed" not in panel.status.value, panel.status.value
    assert len(panel.runs) == before + 1
    return panel.runs[-1]


@pytest.fixture
def run_panel():
    """``run_panel(panel, epochs=1, ...)``: set controls, click Train, wait, return the run."""
    return _run_panel
