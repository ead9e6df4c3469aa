"""environment.yml (conda) and requirements.txt (pip) describe the same environment."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _requirements() -> dict[str, str]:
    """Requirement name (lower case) -> its full line, from requirements.txt."""
    found = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name = re.split(r"[\s<>=!~;\[]", line, maxsplit=1)[0].lower()
            found[name] = line
    return found


def _environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def test_environment_yml_parses_with_name_and_channels():
    env = _environment()
    assert env["name"] == "labkit"
    assert env["channels"] == ["conda-forge", "nodefaults"]


def test_environment_yml_uses_python_311_and_pip():
    deps = _environment()["dependencies"]
    assert "python=3.11" in deps
    assert "pip" in deps


def test_environment_yml_pip_section_reuses_requirements_and_installs_labkit():
    deps = _environment()["dependencies"]
    pip_sections = [d["pip"] for d in deps if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "expected exactly one pip: section in environment.yml"
    pip = pip_sections[0]
    assert "-r requirements.txt" in pip
    assert "-e ." in pip


def test_requirements_name_the_course_stack():
    names = _requirements()
    assert "tensorflow" in names or "tensorflow-cpu" in names
    for name in ("keras", "jupyterlab", "ipywidgets", "matplotlib", "nbval"):
        assert name in names, f"requirements.txt does not name {name}"


def test_tensorflow_and_keras_are_pinned_exactly():
    names = _requirements()
    for name in ("keras", *(n for n in names if n.startswith("tensorflow"))):
        assert "==" in names[name], f"{name} should be pinned with == in requirements.txt"
