"""labkit installs as a package (with its weights and dependencies); README's commands are real."""

from __future__ import annotations

import email
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
TENSORFLOW = {"tensorflow", "tensorflow-cpu"}


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
    for target in ("setup", "lab", "test", "html", "clean", "browser-deps", "student"):
        assert re.search(rf"^{target}:", text, flags=re.MULTILINE), f"Makefile lacks {target}:"


def test_readme_names_the_two_commands():
    text = (ROOT / "README.md").read_text()
    assert "make lab" in text
    assert "make test" in text


# ---- pip brings what labkit needs -------------------------------------------------------------
def _runtime_requirements() -> list[Requirement]:
    return [Requirement(r) for r in _pyproject()["project"]["dependencies"]]


def _pins() -> dict[str, Requirement]:
    """requirements.txt's lines as Requirements, by lower-case name."""
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            pins.setdefault(req.name.lower(), []).append(req)
    return pins


def test_pyproject_declares_the_runtime_dependencies():
    names = {r.name.lower() for r in _runtime_requirements()}
    for name in ("keras", "numpy", "matplotlib", "ipywidgets", "pillow", "opencv-python-headless"):
        assert name in names, f"pyproject.toml does not declare {name}"
    assert TENSORFLOW <= names
    markers = {r.name.lower(): str(r.marker) for r in _runtime_requirements()}
    for req in (r for reqs in _pins().values() for r in reqs if r.name.lower() in TENSORFLOW):
        assert markers[req.name.lower()] == str(req.marker), f"{req}: markers differ from pyproject"
    for req in _runtime_requirements():
        assert "==" not in str(req.specifier), f"{req}: a range, not a pin (pins: requirements.txt)"


def test_the_pins_of_requirements_txt_satisfy_the_declared_ranges():
    pins = _pins()
    for req in _runtime_requirements():
        for pin in pins.get(req.name.lower(), []):
            version = next(iter(pin.specifier)).version if "==" in str(pin.specifier) else None
            if version is not None:
                assert req.specifier.contains(version), f"requirements.txt {pin} is outside {req}"


def test_the_tested_environment_satisfies_the_declared_ranges():
    for req in _runtime_requirements():
        if req.marker is not None and not req.marker.evaluate():
            continue
        version = metadata.version(req.name)
        assert req.specifier.contains(version, prereleases=True), f"installed {req.name} {version}"


def test_the_repository_url_has_one_home():
    """[project.urls] Repository is the only place a public URL may be written (labkit.colab)."""
    urls = _pyproject()["project"].get("urls", {})
    assert set(urls) <= {"Repository"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """labkit's wheel, built offline from a copy of pyproject.toml and labkit/."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    shutil.copy(ROOT / "pyproject.toml", src)
    shutil.copytree(ROOT / "labkit", src / "labkit",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp / "dist"), str(src)], check=True)
    (found,) = (tmp / "dist").glob("labkit-*.whl")
    return found


def _wheel_metadata(wheel: Path):
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        return email.message_from_bytes(zf.read(name))


def test_wheel_requires_what_pyproject_declares(wheel):
    meta = _wheel_metadata(wheel)
    assert meta["Name"] == "labkit" and meta["Requires-Python"] == ">=3.11"
    runtime = {str(Requirement(r)) for r in meta.get_all("Requires-Dist")
               if "extra ==" not in r}
    assert runtime == {str(r) for r in _runtime_requirements()}


def test_wheel_holds_the_weights_and_every_module(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    weights = {n for n in names if n.startswith("labkit/weights/")}
    for ext in (".h5", ".json", ".npz"):
        shipped = {p.name for p in (ROOT / "labkit" / "weights").glob(f"*{ext}")}
        assert shipped and {f"labkit/weights/{n}" for n in shipped} <= weights, ext
    for sub in ("lessons", "dev"):
        assert f"labkit/{sub}/__init__.py" in names
    assert "labkit/doctor/__init__.py" in names or "labkit/doctor.py" in names
    for path in (ROOT / "labkit").rglob("*.py"):
        if "__pycache__" not in path.parts:
            assert path.relative_to(ROOT).as_posix() in names, f"the wheel lacks {path}"


def test_ci_checks_the_wheel_before_make_test():
    text = (ROOT / ".ci" / "run").read_text()
    steps = [line.strip() for line in text.splitlines()
             if line.strip() in ("make setup", "wheel_check", "make browser-deps", "make test")]
    assert steps == ["make setup", "wheel_check", "make browser-deps", "make test"]
    assert "--no-index" in text and "labkit.setup()" in text


def test_make_test_installs_no_system_packages():
    text = (ROOT / "Makefile").read_text()
    test_rule = re.search(r"^test:(.*)$", text, flags=re.MULTILINE)
    assert test_rule and "browser-deps" not in test_rule.group(1)
    assert re.search(r"^student:", text, flags=re.MULTILINE)


# ---- documents: README for learners, docs/ for instructors and contributors -----------------
DOCS = ("README.md", "docs/instructors.md", "docs/contributing.md", "docs/doctor.md")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_readme_lesson_table_links_every_notebook():
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Lessons"):text.index("## Results")]
    linked = re.findall(r"^\| \d\d \| \[[^]]+\]\((notebooks/\d\d_\w+\.ipynb)\)", section,
                        flags=re.MULTILINE)
    notebooks = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert linked == notebooks


def test_relative_links_in_the_documents_resolve():
    for doc in DOCS:
        path = ROOT / doc
        for target in LINK.findall(path.read_text()):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            file, _, anchor = target.partition("#")
            resolved = (path.parent / file).resolve() if file else path
            assert resolved.exists(), f"{doc}: broken link {target}"
            if anchor and resolved.suffix == ".md":
                assert anchor in _anchors(resolved), f"{doc}: no heading for {target}"


def _anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+\s+(.+)$", path.read_text(), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_each_reader_gets_a_document():
    readme = (ROOT / "README.md").read_text()
    for doc in ("docs/instructors.md", "docs/contributing.md", "docs/doctor.md"):
        assert f"]({doc}" in readme, f"README does not link {doc}"
    assert "make test" in readme and "make lab" in readme
    contributing = (ROOT / "docs" / "contributing.md").read_text()
    assert "make notebooks" in contributing and "notebooks/src" in contributing
    assert "<!-- bench:start -->" in readme and "<!-- bench:end -->" in readme
    assert "make student" in (ROOT / "docs" / "instructors.md").read_text()
