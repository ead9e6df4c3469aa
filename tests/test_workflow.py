"""The GitHub Actions workflow runs README's test command through .ci/run, so they cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "test.yml"


def _workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def _readme_test_command() -> str:
    """The test command README gives learners (its `make ...  # the tests` line)."""
    text = (ROOT / "README.md").read_text()
    match = re.search(r"^(make \w+)\s+#\s*the tests", text, flags=re.MULTILINE)
    assert match, "README has no `make ...   # the tests ...` line"
    return match.group(1)


def _triggers(workflow: dict) -> dict:
    # YAML 1.1 reads a bare `on:` key as the boolean True.
    return workflow.get("on", workflow.get(True))


def test_readme_test_command_is_make_test():
    assert _readme_test_command() == "make test"


def test_workflow_runs_on_push_and_pull_request():
    triggers = _triggers(_workflow())
    assert "push" in triggers and "pull_request" in triggers


def test_workflow_runs_ci_run_on_ubuntu_with_python_311_and_a_pip_cache():
    jobs = _workflow()["jobs"]
    assert len(jobs) == 1
    (job,) = jobs.values()
    assert job["runs-on"] == "ubuntu-latest"
    setup = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/setup-python")]
    assert len(setup) == 1
    options = setup[0]["with"]
    assert str(options["python-version"]) == "3.11"
    assert options["cache"] == "pip"
    assert "requirements.txt" in options["cache-dependency-path"]
    runs = [s["run"].strip() for s in job["steps"] if "run" in s]
    assert runs == ["bash .ci/run"], "the workflow's only command is .ci/run"


def test_ci_run_calls_readme_test_command_after_browser_deps():
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    command = _readme_test_command()
    assert command in lines
    assert "make browser-deps" in lines
    assert lines.index("make browser-deps") < lines.index(command)
