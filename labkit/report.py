"""Each lesson's verdict: assert that the failure fails and the fix helps, and print one line.

``python -m labkit.dev.results`` collects the ``RESULT`` lines from the executed notebooks into
README's results table, so the README's numbers are the notebooks' own.
"""

from __future__ import annotations

from dataclasses import dataclass

RESULT_PREFIX = "RESULT"


@dataclass(frozen=True)
class LessonResult:
    """The failure's and the fix's score on one metric, and the margin the lesson promises."""

    lesson: str
    metric: str
    failure: float
    fix: float
    min_margin: float

    @property
    def margin(self) -> float:
        return self.fix - self.failure

    def line(self) -> str:
        return (f"{RESULT_PREFIX} | {self.lesson} | {self.metric} | failure {self.failure:.1%} | "
                f"fix {self.fix:.1%} | margin {100 * self.margin:+.1f} points")


def check_lesson(lesson: str, metric: str, failure: float, fix: float,
                 min_margin: float) -> LessonResult:
    """Assert ``fix - failure >= min_margin`` (fractions, e.g. 0.2 = 20 points) and report it."""
    result = LessonResult(lesson, metric, float(failure), float(fix), float(min_margin))
    print(result.line())
    assert result.margin >= min_margin, (
        f"lesson {lesson}: the fix ({fix:.1%}) beats the failure ({failure:.1%}) by only "
        f"{100 * result.margin:.1f} points on {metric}; the lesson promises at least "
        f"{100 * min_margin:.0f}. The lesson does not show on this run: recalibrate the profile."
    )
    return result


def claim(text: str, holds: bool) -> bool:
    """Print a stable fact the lesson relies on (``NBVAL_CHECK_OUTPUT`` cells) and assert it."""
    print(f"{text}: {holds}")
    assert holds, f"claim does not hold on this run: {text}"
    return holds
