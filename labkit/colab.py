"""Colab and Binder: running the course where `make lab` is not available.

The course's public repository URL has one home: ``[project.urls] Repository`` in
``pyproject.toml`` (installed packages carry it in their metadata as a ``Project-URL``). Every
URL here is derived from it: the Colab install command, the first notebook cell
(:data:`FIRST_CELL`) and the "Open in Colab" / Binder badges. While it is unset, nothing is
invented: the badges are left out and the functions say that no URL is declared and what to run
instead (``make lab`` from a checkout).

On Colab, :func:`prepare` enables Colab's widget manager (the retrain panels are ipywidgets),
reports the GPU and names any dependency Colab lacks. ``python -m labkit.colab`` prints the
repository URL, the install command, the badges and the first cell; ``--readme README.md``
rewrites README's badge block (``--check`` only compares).
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import re
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

DIST = "labkit"
URL_LABEL = "Repository"
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
START_NOTEBOOK = "notebooks/00_start_here.ipynb"
LOCAL_COMMAND = "make lab"
NO_URL = (
    "labkit declares no public repository URL yet ([project.urls] Repository in pyproject.toml "
    "is unset), so Colab and Binder have nothing to install it from."
)
LOCAL_HINT = (
    f"From a checkout of the course repository, run `{LOCAL_COMMAND}`: it creates .venv, installs "
    "the pinned packages and labkit, and opens the course in JupyterLab with the right kernel."
)
GITHUB = re.compile(r"^https://github\.com/(?P<owner>[\w.-]+)/(?P<repo>[\w.-]+?)(?:\.git)?/?$")
TENSORFLOW_DISTS = ("tensorflow", "tensorflow-cpu")


def in_colab() -> bool:
    """True inside a Google Colab kernel (Colab imports ``google.colab`` at start-up)."""
    return "google.colab" in sys.modules


def enable_widgets() -> bool:
    """Turn on Colab's custom widget manager (ipywidgets 8 panels need it); False off Colab."""
    if not in_colab():
        return False
    from google.colab import output

    output.enable_custom_widget_manager()
    return True


def gpu_report() -> str:
    """One line: the GPUs TensorFlow sees, or how to get one (on Colab) / that the CPU is used."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = ", ".join(gpu.name for gpu in gpus)
        return f"GPU: {len(gpus)} visible to TensorFlow ({names})"
    if in_colab():
        return ("GPU: none. The quick profile runs on the CPU; for the full profile choose "
                "Runtime > Change runtime type > GPU, then run this cell again.")
    return "GPU: none; TensorFlow runs on the CPU (enough for the quick profile)."


def _url_from_pyproject(path: Path) -> str | None:
    project = tomllib.loads(path.read_text()).get("project", {})
    if project.get("name") != DIST:
        raise LookupError(f"{path} is not labkit's pyproject.toml")
    return project.get("urls", {}).get(URL_LABEL) or None


def _url_from_metadata() -> str | None:
    try:
        entries = metadata.metadata(DIST).get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        return None
    for entry in entries:
        label, _, url = entry.partition(",")
        if label.strip().lower() == URL_LABEL.lower() and url.strip():
            return url.strip()
    return None


def repository_url(pyproject: Path | None = PYPROJECT) -> str | None:
    """The declared public repository URL, or None while none is declared.

    A source checkout's ``pyproject.toml`` wins (it is the one place the URL is set); an installed
    wheel answers from its metadata.
    """
    if pyproject is not None and pyproject.is_file():
        try:
            return _url_from_pyproject(pyproject)
        except (LookupError, tomllib.TOMLDecodeError):
            pass
    return _url_from_metadata()


def install_command(url: str | None = None) -> str | None:
    """The shell command that installs labkit on Colab from ``url`` (default: the declared URL).

    ``--no-deps``: Colab already ships TensorFlow with GPU support and the other dependencies;
    resolving labkit's declared ``tensorflow-cpu`` there would replace Colab's TensorFlow.
    :func:`missing_requirements` names anything Colab lacks. None while no URL is declared.
    """
    url = url or repository_url()
    if not url:
        return None
    return f'pip install -q --no-deps "{DIST} @ git+{url}"'


def install_instructions(url: str | None = None) -> str:
    """What to run to get labkit: the Colab install command, or (no URL declared) ``make lab``."""
    command = install_command(url)
    if command is None:
        return f"{NO_URL}\nRun instead: {LOCAL_COMMAND}\n{LOCAL_HINT}"
    if in_colab():
        return f"Install on Colab: !{command}"
    return f"{LOCAL_HINT}\nOn Colab: !{command}"


def _requirement_name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0].lower()


def missing_requirements() -> list[str]:
    """labkit's declared runtime requirements with no installed distribution, by name.

    Either TensorFlow distribution satisfies the TensorFlow requirement (Colab has
    ``tensorflow``, the pins install ``tensorflow-cpu`` on Linux x86_64). Versions are not
    compared: Colab's own versions are the ones to use there.
    """
    try:
        requirements = metadata.requires(DIST) or []
    except metadata.PackageNotFoundError:
        return []
    missing = []
    for requirement in requirements:
        if "extra ==" in requirement:
            continue
        name = _requirement_name(requirement)
        candidates = TENSORFLOW_DISTS if name in TENSORFLOW_DISTS else (name,)
        if not any(_installed(candidate) for candidate in candidates) and name not in missing:
            missing.append(name)
    return missing


def _installed(name: str) -> bool:
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def prepare(quiet: bool = False) -> list[str]:
    """On Colab: enable the widget manager, report the GPU and any missing dependency.

    Returns the lines it printed (or would print, with ``quiet``). Off Colab it only says so.
    """
    if not in_colab():
        lines = ["Not on Colab: nothing to prepare (the local kernel from `make lab` has it all)."]
    else:
        enable_widgets()
        lines = ["Colab: custom widget manager enabled (the retrain panels need it).", gpu_report()]
        missing = missing_requirements()
        if missing:
            names = " ".join(missing)
            lines.append(f"Colab lacks {', '.join(missing)}: run `!pip install -q {names}`.")
    if not quiet:
        print("\n".join(lines))
    return lines


def _github(url: str) -> tuple[str, str] | None:
    match = GITHUB.match(url.strip())
    return (match["owner"], match["repo"]) if match else None


def colab_url(url: str, notebook: str = START_NOTEBOOK, branch: str = "main") -> str | None:
    """Colab's link for a notebook of a GitHub repository (Colab opens GitHub notebooks only)."""
    github = _github(url)
    if github is None:
        return None
    owner, repo = github
    return f"https://colab.research.google.com/github/{owner}/{repo}/blob/{branch}/{notebook}"


def binder_url(url: str, notebook: str = START_NOTEBOOK) -> str:
    """mybinder.org's link that builds the repository (binder/) and opens ``notebook`` in Lab."""
    github = _github(url)
    where = f"gh/{github[0]}/{github[1]}" if github else f"git/{quote(url, safe='')}"
    return f"https://mybinder.org/v2/{where}/HEAD?urlpath=lab/tree/{notebook}"


def badges_markdown(url: str | None = None, branch: str = "main") -> str:
    """README's "Open in Colab" and Binder badges, from the declared URL; "" while it is unset."""
    url = url or repository_url()
    if not url:
        return ""
    badges = []
    colab = colab_url(url, branch=branch)
    if colab:
        badges.append(
            f"[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab})")
    badges.append(f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder_url(url)})")
    return " ".join(badges)


def first_cell(url: str | None = None) -> str:
    """The notebooks' first cell, which runs before labkit can be imported (see FIRST_CELL)."""
    return f'''\
# Makes labkit importable: Colab installs it from the course repository; locally, `make lab` did.
import sys

try:
    import labkit
except ModuleNotFoundError:
    REPOSITORY = {url!r}  # [project.urls] Repository in pyproject.toml
    if "google.colab" in sys.modules and REPOSITORY:
        import importlib
        import subprocess

        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                        f"labkit @ git+{{REPOSITORY}}"], check=True)
        importlib.invalidate_caches()
        import labkit
    else:
        if "google.colab" in sys.modules:
            print("labkit declares no public repository URL yet, so Colab cannot install it.")
        print("labkit is not installed in this kernel. From a checkout of the course repository, "
              "run `{LOCAL_COMMAND}`: it installs everything and opens the course with its kernel.")
        raise
if "google.colab" in sys.modules:
    import labkit.colab

    labkit.colab.prepare()
'''


#: The first cell of every notebook, for the declared repository URL (None while unset).
FIRST_CELL = first_cell(repository_url())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labkit.colab",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--readme", type=Path, help="rewrite this README's badge block")
    parser.add_argument("--check", action="store_true", help="with --readme: only compare")
    parser.add_argument("--first-cell", action="store_true", help="print the first cell only")
    args = parser.parse_args(argv)
    if args.first_cell:
        print(FIRST_CELL, end="")
        return 0
    if args.readme:
        old = args.readme.read_text()
        from labkit.dev.blocks import replace_block

        new = replace_block(old, "badges", badges_markdown(), source=str(args.readme))
        if args.check:
            if new != old:
                print(f"{args.readme}: badge block is stale; run python -m labkit.colab "
                      f"--readme {args.readme}")
                return 1
            return 0
        args.readme.write_text(new)
        return 0
    url = repository_url()
    print(f"repository URL: {url or 'none declared'}")
    print(install_instructions(url))
    print(f"badges: {badges_markdown(url) or 'left out (no URL declared)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
