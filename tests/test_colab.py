"""labkit.colab: Colab/Binder helpers driven by one setting, [project.urls] Repository."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import types
from pathlib import Path

import pytest

import labkit
from labkit import colab

ROOT = Path(__file__).resolve().parents[1]
URL = "https://github.com/someone/keras-low-accuracy-course"


@pytest.fixture
def fake_colab(monkeypatch):
    """A stand-in ``google.colab`` in sys.modules; records widget-manager calls."""
    calls = []
    output = types.SimpleNamespace(enable_custom_widget_manager=lambda: calls.append("widgets"))
    module = types.ModuleType("google.colab")
    module.output = output
    monkeypatch.setitem(sys.modules, "google.colab", module)
    monkeypatch.setitem(sys.modules, "google.colab.output", output)
    return calls


@pytest.fixture
def no_labkit(monkeypatch):
    """``import labkit`` raises ModuleNotFoundError (a None entry in sys.modules)."""
    monkeypatch.setitem(sys.modules, "labkit", None)


def _pyproject(tmp_path: Path, urls: str = "") -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(f'[project]\nname = "labkit"\nversion = "0"\n{urls}')
    return path


# ---- the one setting --------------------------------------------------------------------------
def test_repository_url_is_unset_in_this_checkout_and_nothing_is_invented():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project.get("urls", {}).get("Repository")
    assert colab.repository_url() == declared
    if declared is None:
        assert colab.install_command() is None
        assert colab.badges_markdown() == ""
        assert "REPOSITORY = None" in colab.FIRST_CELL


def test_repository_url_reads_pyproject_then_metadata(tmp_path, monkeypatch):
    declared = _pyproject(tmp_path, f'[project.urls]\nRepository = "{URL}"\n')
    assert colab.repository_url(declared) == URL
    assert colab.repository_url(_pyproject(tmp_path)) is None
    # No source checkout: the installed package's Project-URL metadata answers.
    fake = {"Project-URL": ["Homepage, https://example.org", f"Repository, {URL}"]}
    monkeypatch.setattr(colab.metadata, "metadata",
                        lambda name: types.SimpleNamespace(get_all=lambda key: fake.get(key)))
    assert colab.repository_url(tmp_path / "missing.toml") == URL
    assert colab.repository_url(None) == URL


def test_install_command_and_instructions():
    assert colab.install_command(URL) == f'pip install -q --no-deps "labkit @ git+{URL}"'
    text = colab.install_instructions(None) if colab.repository_url() is None else ""
    if text:
        assert "no public repository URL" in text and "make lab" in text
        assert "http" not in text
    assert URL in colab.install_instructions(URL)


def test_badges_from_the_url_and_none_without_it(monkeypatch):
    monkeypatch.setattr(colab, "repository_url", lambda *a, **k: None)
    assert colab.badges_markdown() == ""
    badges = colab.badges_markdown(URL)
    assert ("https://colab.research.google.com/github/someone/keras-low-accuracy-course/blob/main/"
            "notebooks/00_start_here.ipynb") in badges
    assert ("https://mybinder.org/v2/gh/someone/keras-low-accuracy-course/HEAD"
            "?urlpath=lab/tree/notebooks/00_start_here.ipynb") in badges
    other = colab.badges_markdown("https://gitlab.com/someone/course.git")
    assert "colab.research.google.com/github" not in other  # Colab opens GitHub notebooks only
    assert "mybinder.org/v2/git/https%3A%2F%2Fgitlab.com%2Fsomeone%2Fcourse.git/HEAD" in other


def test_readme_badge_block_matches_the_setting():
    assert colab.main(["--readme", str(ROOT / "README.md"), "--check"]) == 0


def test_readme_block_rewrite():
    text = "a\n<!-- badges:start -->\nold\n<!-- badges:end -->\nb\n"
    from labkit.dev.blocks import replace_block

    assert replace_block(text, "badges", "") == "a\n<!-- badges:start -->\n<!-- badges:end -->\nb\n"
    assert "\nnew\n" in replace_block(text, "badges", "new")
    with pytest.raises(ValueError):
        replace_block("no markers", "badges", "")


# ---- Colab runtime helpers ---------------------------------------------------------------------
def test_off_colab_nothing_is_enabled():
    assert not colab.in_colab()
    assert colab.enable_widgets() is False
    assert "Not on Colab" in colab.prepare(quiet=True)[0]


def test_on_colab_prepare_enables_widgets_and_reports_the_gpu(fake_colab, capsys):
    assert colab.in_colab()
    lines = colab.prepare()
    assert fake_colab == ["widgets"]
    assert any(line.startswith("GPU:") for line in lines)
    assert "widget manager enabled" in capsys.readouterr().out


def test_missing_requirements_accepts_either_tensorflow(monkeypatch):
    installed = {"tensorflow", "keras", "numpy"}

    def version(name):
        if name not in installed:
            raise colab.metadata.PackageNotFoundError(name)
        return "1"

    monkeypatch.setattr(colab.metadata, "requires", lambda name: [
        'tensorflow-cpu>=2.16; sys_platform == "linux"', "keras>=3", "numpy>=1.26",
        "opencv-python-headless>=4.9", 'pytest>=8; extra == "dev"'])
    monkeypatch.setattr(colab.metadata, "version", version)
    assert colab.missing_requirements() == ["opencv-python-headless"]


def test_installed_labkit_declares_all_its_requirements():
    assert colab.missing_requirements() == []


# ---- the first cell, executed as a notebook would --------------------------------------------
def _run_first_cell(source: str) -> dict:
    namespace: dict = {}
    exec(compile(source, "<first cell>", "exec"), namespace)
    return namespace


def test_first_cell_compiles_and_is_what_labkit_colab_prints(capsys):
    compile(colab.FIRST_CELL, "<first cell>", "exec")
    assert colab.main(["--first-cell"]) == 0
    assert capsys.readouterr().out == colab.FIRST_CELL


def test_first_cell_locally_with_labkit_installed(capsys):
    namespace = _run_first_cell(colab.FIRST_CELL)
    assert namespace["labkit"] is labkit
    assert capsys.readouterr().out == ""


def test_first_cell_on_colab_with_labkit_installed_prepares_colab(fake_colab):
    namespace = _run_first_cell(colab.first_cell(URL))
    assert namespace["labkit"] is labkit
    assert fake_colab == ["widgets"]


def test_first_cell_locally_without_labkit_says_make_lab(no_labkit, capsys, monkeypatch):
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("must not pip install"))
    for url in (None, URL):
        with pytest.raises(ModuleNotFoundError):
            _run_first_cell(colab.first_cell(url))
        out = capsys.readouterr().out
        assert "`make lab`" in out and "no public repository URL" not in out


def test_first_cell_on_colab_without_a_declared_url_says_so(no_labkit, fake_colab, capsys,
                                                           monkeypatch):
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("must not pip install"))
    with pytest.raises(ModuleNotFoundError):
        _run_first_cell(colab.first_cell(None))
    out = capsys.readouterr().out
    assert "no public repository URL" in out and "`make lab`" in out
    assert "http" not in out


def test_first_cell_on_colab_installs_from_the_declared_url(no_labkit, fake_colab, monkeypatch):
    commands = []

    def fake_pip(cmd, check):
        commands.append(cmd)
        sys.modules["labkit"] = labkit  # "installed": the import now succeeds

    monkeypatch.setattr(subprocess, "run", fake_pip)
    namespace = _run_first_cell(colab.first_cell(URL))
    assert commands == [[sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                         f"labkit @ git+{URL}"]]
    assert namespace["labkit"] is labkit
    assert fake_colab == ["widgets"]
