"""Each lesson's verdict: assert that the failure fails and the fix helps, and print one line.

``python -m labkit.dev.results`` collects the ``RESULT`` lines from the executed notebooks into
README's results table, so the README's numbers are the notebooks' own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

RESULT_PREFIX = "RESULT"
SMOKE_NOTE = "(smoke run: not asserted)"  # printed after verdicts a smoke run does not assert


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


# The lesson each topic's margin belongs to, as RESULT lines (and README's table) name it.
LESSONS = {
    "preprocessing": "01 preprocessing",
    "unfrozen_base": "02 unfrozen base",
    "gradual_unfreezing": "02 gradual unfreezing",
    "learning_rate": "03 learning rate",
    "small_images": "04 32x32 inputs",
    "imbalance": "05 class imbalance",
    "validation_split": "06 validation split",
    "overfitting": "07 overfitting",
    "head_and_loss": "08 wrong head or loss",
    "channel_order": "09 channel order",
    "colour_mode": "09 colour mode",
    "batchnorm": "10 batchnorm",
    "capstone": "11 capstone",
    "include_top": "12 include_top=True",
    "batch_size": "12 batch size",
    "colour_jitter": "12 colour jitter",
    "domain_shift": "12 domain shift",
    "model_size": "12 model too small",
}


def check_lesson(lab, topic: str, *, metric: str, failure: float, fix: float,
                 case: str | None = None) -> LessonResult:
    """Assert that ``fix`` beats ``failure`` by the margin ``lab``'s profile promises for
    ``topic`` (fractions, e.g. 0.2 = 20 points), and print the RESULT line.

    ``lab``: a ``Lab`` (``labkit.setup()``) or a ``Profile``. ``topic``: a key of ``LESSONS``
    (e.g. ``"learning_rate"``); the margin is ``profile.threshold(topic)``. ``case`` tells two
    checks of one lesson apart: ``case="SGD"`` prints ``01 preprocessing (SGD)``.
    A smoke-run profile (``profile.smoke``) prints the line and ``SMOKE_NOTE`` and asserts nothing.
    """
    if topic not in LESSONS:
        raise KeyError(f"unknown lesson topic {topic!r}; known topics: {', '.join(LESSONS)}")
    profile = getattr(lab, "profile", lab)
    min_margin = profile.threshold(topic)
    lesson = LESSONS[topic] + (f" ({case})" if case else "")
    result = LessonResult(lesson, metric, float(failure), float(fix), float(min_margin))
    print(result.line())
    if getattr(profile, "smoke", False):
        print(SMOKE_NOTE)
        return result
    assert result.margin >= min_margin, (
        f"lesson {lesson}: the fix ({fix:.1%}) beats the failure ({failure:.1%}) by only "
        f"{100 * result.margin:.1f} points on {metric}; the lesson promises at least "
        f"{100 * min_margin:.0f}. The lesson does not show on this run: recalibrate the "
        f"profile's {topic!r} threshold."
    )
    return result


def claim(text: str, holds: bool) -> bool:
    """Print a stable fact the lesson relies on (``NBVAL_CHECK_OUTPUT`` cells) and assert it.

    In a smoke run (``$LABKIT_SMOKE=1``) the line is printed with ``SMOKE_NOTE`` and not asserted.
    """
    from labkit.config import smoke_requested

    if smoke_requested():
        print(f"{text}: {holds} {SMOKE_NOTE}")
        return holds
    print(f"{text}: {holds}")
    assert holds, f"claim does not hold on this run: {text}"
    return holds


_TF_NOISE = ("Graph execution error", "Detected at node", "File ", "[[", "[Op:")


def error_line(error: BaseException) -> str:
    """``"ErrorType: first line that says what went wrong"``.

    TensorFlow's graph errors run to dozens of lines (a traceback of the graph's construction);
    their first informative line comes after it, e.g. ``indices[3] = 9 is not in [0, 9)``.
    """
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith(_TF_NOISE)]
    first = (useful or lines or [""])[0]
    return f"{type(error).__name__}: {first}"


def raised(call: Callable[[], Any], root_cause: bool = False) -> str | None:
    """Run ``call()`` (wild code that should fail): its ``error_line``, or None if it ran.

    ``root_cause``: the line of the innermost error it was raised from instead (Keras wraps
    the informative error of a failed load in a generic one).
    """
    try:
        call()
    except Exception as error:  # the lessons show whatever Keras/TF raises, named
        while root_cause and (error.__cause__ or error.__context__) is not None:
            error = error.__cause__ or error.__context__
        return error_line(error)
    return None
