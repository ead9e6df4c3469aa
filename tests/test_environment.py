"""environment.yml (conda), requirements.txt (pip) and binder/ describe one environment."""

from __future__ import annotations

import os
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


# ---- Binder (mybinder.org builds the repository from binder/) -------------------------------
BINDER = ROOT / "binder"


def _binder_requirements() -> list[str]:
    lines = []
    for line in (BINDER / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def test_binder_requirements_are_lines_of_requirements_txt():
    pins = set(_requirements().values())
    for line in _binder_requirements():
        assert line in pins, f"binder/requirements.txt: {line!r} is not a line of requirements.txt"


def test_binder_installs_what_labkit_and_the_notebooks_need():
    import tomllib

    names = {re.split(r"[\s<>=!~;\[]", line, maxsplit=1)[0].lower()
             for line in _binder_requirements()}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        name = re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower()
        if name == "ipython":  # comes with ipykernel
            continue
        assert name in names, f"binder/requirements.txt lacks {name} (a labkit dependency)"
    for name in ("jupyterlab", "ipykernel", "ipywidgets"):
        assert name in names


def test_binder_post_build_installs_labkit_and_its_kernel():
    post = BINDER / "postBuild"
    assert os.access(post, os.X_OK), "binder/postBuild must be executable"
    text = post.read_text()
    assert text.startswith("#!") and "set -euo pipefail" in text
    assert re.search(r"pip install .*-e \.\s*$", text, flags=re.MULTILINE)
    assert "ipykernel install --user --name labkit" in text


def test_binder_uses_python_311_and_only_its_own_folder():
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"
    # With binder/ present repo2docker ignores the root's files; an environment.yml in binder/
    # would switch it to conda and ignore binder/requirements.txt.
    assert not (BINDER / "environment.yml").exists()
