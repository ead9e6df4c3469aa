"""pytest settings for the notebook run (nbval); the unit tests in tests/ only see the env vars.

- The quick profile is the default, and TensorFlow's C++ logs are quiet (set before TF import).
- nbval skips comparing stderr: under pytest, ipykernel no longer captures TensorFlow's C-level
  logs, so stored stderr never matches a fresh run.
- At the end, a table of wall time per notebook (kernel start plus every cell).
"""

from __future__ import annotations

import os
from collections import defaultdict

os.environ.setdefault("LABKIT_PROFILE", "quick")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_notebook_seconds: dict[str, float] = defaultdict(float)


def pytest_collectstart(collector):
    """nbval's notebook collector (IPyNbFile) reads ``skip_compare`` when comparing cells."""
    path = getattr(collector, "path", None)
    if path is not None and path.suffix == ".ipynb" and hasattr(collector, "skip_compare"):
        collector.skip_compare += ("stderr",)


def pytest_runtest_logreport(report):
    """Sum setup, call and teardown time per notebook (nbval node ids: ``nb.ipynb::Cell 3``)."""
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _notebook_seconds[path] += report.duration


def pytest_terminal_summary(terminalreporter):
    if not _notebook_seconds:
        return
    width = max(len("notebook"), *(len(name) for name in _notebook_seconds))
    terminalreporter.section("wall time per notebook")
    terminalreporter.write_line(f"{'notebook':<{width}}  {'seconds':>8}")
    for name in sorted(_notebook_seconds):
        terminalreporter.write_line(f"{name:<{width}}  {_notebook_seconds[name]:8.1f}")
    total = sum(_notebook_seconds.values())
    terminalreporter.write_line(f"{'total':<{width}}  {total:8.1f}")
