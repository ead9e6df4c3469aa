"""labkit installs as a package (with its weights), and the README's commands are the real ones."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_pyproject_names_labkit_and_python_311():
    project = _pyproject()["project"]
    assert project["name"] == "labkit"
    assert project["requires-python"] == ">=3.11"


def test_package_data_ships_the_pretrained_weights():
    data = _pyproject()["tool"]["setuptools"]["package-data"]["labkit"]
    assert any(pattern.startswith("weights/") for pattern in data)
    for ext in (".h5", ".json", ".npz"):
        assert f"weights/*{ext}" in data


def test_pytest_and_ruff_settings():
    tool = _pyproject()["tool"]
    assert tool["pytest"]["ini_options"]["testpaths"] == ["tests"]
    markers = " ".join(tool["pytest"]["ini_options"]["markers"])
    assert "slow" in markers and "browser" in markers
    assert tool["ruff"]["line-length"] == 100


def test_ci_runs_make_test():
    ci = ROOT / ".ci" / "run"
    assert os.access(ci, os.X_OK), ".ci/run must be executable"
    text = ci.read_text()
    assert "set -euo pipefail" in text
    assert re.search(r"^\s*make test\s*$", text, flags=re.MULTILINE)


def test_makefile_has_the_readme_targets():
    text = (ROOT / "Makefile").read_text()
    for target in ("setup", "lab", "test", "html", "clean", "browser-deps"):
        assert re.search(rf"^{target}:", text, flags=re.MULTILINE), f"Makefile lacks {target}:"


def test_readme_names_the_two_commands():
    text = (ROOT / "README.md").read_text()
    assert "make lab" in text
    assert "make test" in text
