"""``python -m labkit.dev.student [--out student] [NN ...]``: learners' copies of the notebooks.

``make student`` runs it. Each ``notebooks/NN_name.ipynb`` becomes ``student/NN_name.ipynb``
with every output and execution count cleared, execution timestamps dropped, and the solution
cells removed. A solution cell is a cell

- tagged ``solution`` (cell metadata ``tags``), or
- whose source starts with a ``# SOLUTION`` / ``# Solutions`` comment: a collapsed code cell
  (``jupyter={"source_hidden": true}``) opening with ``# Solutions (expand to read).``

The lesson scripts (``notebooks/src/*.py``) tag runnable solutions ``solution`` and keep
comment-only ones for exercises too slow to run. Nothing after a solution cell uses what it
computes, so every copy still runs top to bottom (tests/test_student.py executes one). The
copies keep the notebooks' names, so the links between lessons still work.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
OUT = ROOT / "student"
SOLUTION_TAG = "solution"
SOLUTION_COMMENT = re.compile(r"^\s*#\s*solutions?\b", re.IGNORECASE)
DROPPED_CELL_METADATA = ("execution", "collapsed", "scrolled")


def is_solution(cell) -> bool:
    """True for a cell tagged ``solution`` or whose source opens with a ``# SOLUTION`` comment."""
    tags = [str(tag).lower() for tag in cell.get("metadata", {}).get("tags", [])]
    if SOLUTION_TAG in tags:
        return True
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(source)
    first = next((line for line in source.splitlines() if line.strip()), "")
    return cell.get("cell_type") == "code" and bool(SOLUTION_COMMENT.match(first))


def student_copy(nb):
    """A copy of notebook ``nb`` (nbformat node) without outputs and solution cells."""
    import copy

    out = copy.deepcopy(nb)
    out.cells = [cell for cell in out.cells if not is_solution(cell)]
    for cell in out.cells:
        for key in DROPPED_CELL_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    out.metadata.pop("widgets", None)  # saved widget state belongs to the executed outputs
    return out


def notebooks(source: Path = NOTEBOOKS, chosen: Iterable[str] = ()) -> list[Path]:
    """The `NN_name.ipynb` files in ``source``: all, or those starting with one of ``chosen``."""
    found = sorted(p for p in source.glob("[0-9][0-9]_*.ipynb"))
    chosen = tuple(chosen)
    return [p for p in found if not chosen or p.name.startswith(chosen)]


def build(out: Path = OUT, source: Path = NOTEBOOKS, chosen: Iterable[str] = ()) -> list[Path]:
    """Write the student copies into ``out``; returns their paths."""
    import nbformat

    paths = notebooks(source, chosen)
    if not paths:
        raise FileNotFoundError(f"no NN_name.ipynb notebooks in {source} match {list(chosen)}")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in paths:
        nb = student_copy(nbformat.read(path, as_version=4))
        target = out / path.name
        nbformat.write(nb, target)
        written.append(target)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m labkit.dev.student",
        description="Write learners' copies of the notebooks: no outputs, no solution cells.")
    parser.add_argument("notebooks", nargs="*", metavar="NN",
                        help="notebook numbers (default: all)")
    parser.add_argument("--out", type=Path, default=OUT, help="output folder (default: student/)")
    parser.add_argument("--source", type=Path, default=NOTEBOOKS,
                        help="folder of the executed notebooks (default: notebooks/)")
    args = parser.parse_args(argv)
    written = build(args.out, args.source, args.notebooks)
    for path in written:
        print(f"wrote {path}")
    print(f"{len(written)} student notebook(s) in {args.out}: outputs cleared, solutions removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
