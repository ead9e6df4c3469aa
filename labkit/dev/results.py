"""``python -m labkit.dev.results [--readme README.md] [--check]``: README's results table.

Reads the stored outputs of every ``notebooks/*.ipynb`` (as last executed with the quick profile),
collects the lines ``labkit.report.check_lesson`` prints::

    RESULT | 03 learning rate | val accuracy | failure 8.4% | fix 51.2% | margin +42.8 points

and the notebook's ``this notebook ran in N s`` line (``Lab.elapsed``), and writes one row per
RESULT line between README's ``<!-- results:start -->`` and ``<!-- results:end -->`` markers.
``--check`` writes nothing and exits 1 if README's table differs from what the notebooks say.
A notebook without a RESULT line (such as 00_start_here) gets no row.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from labkit.dev.blocks import markers, replace_block
from labkit.report import RESULT_PREFIX

START_MARKER, END_MARKER = markers("results")
NOT_MEASURED = "not measured"
NOT_RECORDED = "not recorded"
RUN_TIME = re.compile(r"this notebook ran in (\d+(?:\.\d+)?) s")
RESULT_FIELDS = ("failure", "fix", "margin")
HEADER = ("notebook", "lesson", "metric", "failure (quick)", "fix (quick)", "margin (quick)",
          "run time (quick)", "full profile")


@dataclass(frozen=True)
class Row:
    """One lesson result as a notebook printed it."""

    notebook: Path
    lesson: str
    metric: str
    failure: str
    fix: str
    margin: str
    run_time: str  # "86 s", or NOT_RECORDED

    def cells(self, link_base: Path) -> tuple[str, ...]:
        link = Path(os.path.relpath(self.notebook, link_base)).as_posix()
        return (f"[{self.notebook.stem}]({link})", self.lesson, self.metric, self.failure,
                self.fix, self.margin, self.run_time, NOT_MEASURED)


def parse_result_line(line: str, source: str = "<text>") -> tuple[str, str, str, str, str]:
    """``(lesson, metric, failure, fix, margin)`` from a RESULT line; ``source`` names it in errors.

    >>> parse_result_line("RESULT | 03 lr | val accuracy | failure 8.4% | fix 51.2% | "
    ...                   "margin +42.8 points")
    ('03 lr', 'val accuracy', '8.4%', '51.2%', '+42.8 points')
    """
    parts = [p.strip() for p in line.strip().split("|")]
    ok = len(parts) == 6 and parts[0] == RESULT_PREFIX and all(parts[1:3])
    values = []
    for part, name in zip(parts[3:], RESULT_FIELDS, strict=False):
        ok = ok and part.startswith(f"{name} ") and bool(part[len(name):].strip())
        values.append(part[len(name):].strip())
    if not ok:
        raise ValueError(
            f"{source}: malformed result line {line.strip()!r}; expected "
            f"'{RESULT_PREFIX} | <lesson> | <metric> | failure <x> | fix <y> | margin <z>' "
            "as printed by labkit.report.check_lesson"
        )
    return parts[1], parts[2], values[0], values[1], values[2]


def _stdout_lines(path: Path) -> list[list[str]]:
    """Stored stdout of each code cell of a notebook, as lines (streams may split mid-line)."""
    import nbformat

    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as error:
        raise ValueError(f"{path}: not a readable notebook ({error})") from error
    cells = []
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        text = "".join(out.get("text", "") for out in cell.get("outputs", [])
                       if out.get("output_type") == "stream" and out.get("name") == "stdout")
        cells.append(text.splitlines())
    return cells


def notebook_rows(path: Path) -> list[Row]:
    """The rows of one notebook: one per RESULT line in its stored outputs (maybe none)."""
    results, run_time = [], NOT_RECORDED
    for lines in _stdout_lines(path):
        for line in lines:
            if line.lstrip().startswith(f"{RESULT_PREFIX} |"):
                results.append(parse_result_line(line, source=str(path)))
            elif match := RUN_TIME.search(line):
                run_time = f"{match.group(1)} s"  # the last one wins (the notebook's last cell)
    return [Row(path, *result, run_time) for result in results]


def collect(notebooks_dir: Path) -> list[Row]:
    """Rows of every ``*.ipynb`` in ``notebooks_dir``, in file-name (= teaching) order."""
    notebooks_dir = Path(notebooks_dir)
    if not notebooks_dir.is_dir():
        raise FileNotFoundError(f"notebooks folder not found: {notebooks_dir}")
    return [row for path in sorted(notebooks_dir.glob("*.ipynb")) for row in notebook_rows(path)]


def render_table(rows: Sequence[Row], link_base: Path) -> str:
    """The markdown table; notebook links are relative to ``link_base`` (README's folder)."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row.cells(link_base)) + " |" for row in rows]
    return "\n".join(lines)


def _rows(rows: Sequence[Row]) -> str:
    return f"{len(rows)} row{'' if len(rows) == 1 else 's'}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m labkit.dev.results",
        description="Regenerate README's results table from the notebooks' stored outputs.")
    parser.add_argument("--readme", type=Path, default=Path("README.md"),
                        help="the README with the results markers (default: README.md)")
    parser.add_argument("--notebooks", type=Path, default=None,
                        help="folder of notebooks (default: notebooks/ next to the README)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if the README's table is out of date")
    args = parser.parse_args(argv)
    readme: Path = args.readme
    notebooks = args.notebooks or readme.parent / "notebooks"
    try:
        if not readme.is_file():
            raise FileNotFoundError(f"README not found: {readme}")
        rows = collect(notebooks)
        current = readme.read_text(encoding="utf-8")
        updated = replace_block(current, "results", render_table(rows, readme.parent),
                                source=str(readme))
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.check:
        if updated != current:
            diff = difflib.unified_diff(current.splitlines(), updated.splitlines(),
                                        f"{readme} (now)", f"{readme} (from {notebooks})",
                                        lineterm="")
            print(f"{readme}: the results table is out of date with {notebooks}/*.ipynb; "
                  "run `python -m labkit.dev.results` to update it.\n" + "\n".join(diff))
            return 1
        print(f"{readme}: results table is up to date ({_rows(rows)}).")
        return 0
    if updated != current:
        readme.write_text(updated, encoding="utf-8")
    print(f"{readme}: results table has {_rows(rows)} from {notebooks}/*.ipynb.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
