"""What the doctor hands back: ``Finding`` (one thing found) and ``Report`` (all of them)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

PROBLEM, WARNING, INFO = "problem", "warning", "info"
SEVERITIES = (PROBLEM, WARNING, INFO)  # report order: problems first
NOTEBOOKS = {
    "preprocessing": "notebooks/01_preprocessing.ipynb",
    "unfrozen_base": "notebooks/02_unfrozen_base.ipynb",
    "learning_rate": "notebooks/03_learning_rate.ipynb",
    "small_images": "notebooks/04_small_images.ipynb",
    "imbalance": "notebooks/05_class_imbalance.ipynb",
    "validation_split": "notebooks/06_validation_split.ipynb",
    "head_loss": "notebooks/08_wrong_head_or_loss.ipynb",
    "channel_order": "notebooks/09_channel_order.ipynb",
    "batchnorm": "notebooks/10_batchnorm_finetuning.ipynb",
}
_COLOURS = {PROBLEM: "#c62828", WARNING: "#ef6c00", INFO: "#1565c0"}


@dataclass(frozen=True)
class Finding:
    """One thing the doctor found: which check, how bad, the numbers, the fix, the lesson.

    ``severity``: ``"problem"`` (this setup will train badly), ``"warning"`` (often a mistake,
    sometimes deliberate) or ``"info"`` (a judgement call, with the evidence to make it).
    """

    check: str
    severity: str
    evidence: str
    fix: str
    notebook: str | None = None  # the lesson that shows this failure, where there is one

    def __str__(self) -> str:
        lines = [f"{self.severity.upper()} [{self.check}] {self.evidence}", f"    fix: {self.fix}"]
        if self.notebook:
            lines.append(f"    see: {self.notebook}")
        return "\n".join(lines)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


@dataclass
class Report:
    """What ``diagnose`` found: ``findings`` (problems first), ``notes`` (skipped checks)."""

    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no finding is a problem (warnings and infos allowed)."""
        return not self.problems

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == PROBLEM]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    @property
    def infos(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == INFO]

    @property
    def checks(self) -> list[str]:
        """The ids of the checks that found something, in report order."""
        return [f.check for f in self.findings]

    def __contains__(self, check: str) -> bool:
        return check in self.checks

    def _headline(self) -> str:
        n_p, n_w, n_i = len(self.problems), len(self.warnings), len(self.infos)
        if not n_p and not n_w:
            return "No problems found." + (f" {_plural(n_i, 'info')} to read:" if n_i else "")
        if not n_p:
            return f"No problems found, but {_plural(n_w, 'warning')}:"
        rest = f", {_plural(n_i, 'info')}" if n_i else ""
        return f"{_plural(n_p, 'problem')}, {_plural(n_w, 'warning')}{rest} (problems first):"

    def __str__(self) -> str:
        parts = [self._headline()] + [str(f) for f in self.findings]
        parts += [f"note: {n}" for n in self.notes]
        return "\n".join(parts)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        e = html.escape
        out = [f"<p><b>{e(self._headline())}</b></p>"]
        if self.findings:
            out.append("<table><tr><th>severity</th><th>check</th><th>evidence</th>"
                       "<th>fix</th><th>lesson</th></tr>")
            for f in self.findings:
                out.append(
                    f"<tr><td style='color:{_COLOURS.get(f.severity, '#000')}'>"
                    f"<b>{e(f.severity)}</b></td>"
                    f"<td><code>{e(f.check)}</code></td><td>{e(f.evidence)}</td>"
                    f"<td>{e(f.fix)}</td><td>{e(f.notebook or '')}</td></tr>")
            out.append("</table>")
        if self.notes:
            out.append("<ul>" + "".join(f"<li>{e(n)}</li>" for n in self.notes) + "</ul>")
        return "".join(out)


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Problems, then warnings, then infos; stable within a severity."""
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(findings, key=lambda f: rank.get(f.severity, len(rank)))
