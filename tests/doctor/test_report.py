"""labkit.doctor.report: Finding and Report, text and HTML, severities, linked lessons."""

from __future__ import annotations

from pathlib import Path

from labkit import doctor
from labkit.doctor import INFO, PROBLEM, SEVERITIES, WARNING, Finding, Report
from labkit.doctor.report import sort_findings


def _f(check: str, severity: str) -> Finding:
    return Finding(check, severity, f"{check}: measured 1.0", "do this", "notebooks/x.ipynb")


def test_findings_sort_problems_then_warnings_then_infos():
    found = sort_findings([_f("a", INFO), _f("b", WARNING), _f("c", PROBLEM), _f("d", INFO)])
    assert [f.check for f in found] == ["c", "b", "a", "d"]
    assert SEVERITIES == (PROBLEM, WARNING, INFO)


def test_report_text_and_headline():
    report = Report(sort_findings([_f("a", INFO), _f("b", WARNING), _f("c", PROBLEM)]),
                    notes=["skipped x"])
    text = str(report)
    assert text.startswith("1 problem, 1 warning, 1 info (problems first):")
    assert "PROBLEM [c]" in text and "INFO [a]" in text and "fix: do this" in text
    assert "see: notebooks/x.ipynb" in text and "note: skipped x" in text
    assert not report.ok and "c" in report and report.checks == ["c", "b", "a"]
    assert [f.check for f in report.infos] == ["a"]
    assert str(Report()).startswith("No problems found.")
    assert str(Report([_f("a", INFO)])).startswith("No problems found. 1 info")
    assert str(Report([_f("b", WARNING)])).startswith("No problems found, but 1 warning")
    assert Report([_f("b", WARNING), _f("a", INFO)]).ok


def test_report_html_table():
    page = Report([_f("c", PROBLEM), _f("a", INFO)], notes=["n <1>"])._repr_html_()
    assert "<table>" in page and "<code>c</code>" in page and "n &lt;1&gt;" in page


def test_every_linked_notebook_exists():
    root = Path(__file__).resolve().parents[2]
    for path in doctor.NOTEBOOKS.values():
        assert (root / path).exists(), f"doctor links to a missing notebook: {path}"
