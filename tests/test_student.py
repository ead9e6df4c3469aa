"""`make student` (python -m labkit.dev.student): learners' copies without outputs or solutions."""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest

from labkit.dev import student

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _cell(cell_type: str, source: str, **metadata):
    make = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell}
    return make[cell_type](source, metadata=metadata)


@pytest.mark.parametrize("cell, expected", [
    (_cell("code", "# Solutions (expand to read).\n# 1. ..."), True),
    (_cell("code", "# SOLUTION\nx = 1"), True),
    (_cell("code", "\n  # solution: the fix\n"), True),
    (_cell("code", "x = 1", tags=["solution"]), True),
    (_cell("markdown", "The answer is 42.", tags=["Solution"]), True),
    (_cell("code", "print(1)  # Solutions below"), False),
    (_cell("code", "# NBVAL_CHECK_OUTPUT\nreport.claim(...)"), False),
    (_cell("markdown", "## 8 · Exercises\n\nSolutions are in the cell below."), False),
    (_cell("code", "x = 1", tags=["exercise"]), False),
])
def test_is_solution(cell, expected):
    assert student.is_solution(cell) is expected


def test_every_lesson_marks_its_solutions_the_way_student_finds_them():
    """Every lesson (01 onwards) has a solution cell, as notebooks/src/*.py writes them today."""
    lessons = [p for p in NOTEBOOKS if not p.name.startswith("00_")]
    assert lessons, "no lesson notebooks found"
    for path in lessons:
        nb = nbformat.read(path, as_version=4)
        assert any(student.is_solution(c) for c in nb.cells), f"{path.name}: no solution cell"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    assert student.main(["--out", str(out)]) == 0
    return out


def test_student_copies_have_no_outputs_and_no_solutions(built):
    written = sorted(built.glob("*.ipynb"))
    assert [p.name for p in written] == [p.name for p in NOTEBOOKS]
    for copy_path, original_path in zip(written, NOTEBOOKS, strict=True):
        copy_nb = nbformat.read(copy_path, as_version=4)
        original = nbformat.read(original_path, as_version=4)
        nbformat.validate(copy_nb)
        kept = [c for c in original.cells if not student.is_solution(c)]
        assert [c.source for c in copy_nb.cells] == [c.source for c in kept], copy_path.name
        for cell in copy_nb.cells:
            assert not student.is_solution(cell)
            assert "execution" not in cell.metadata
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None
            assert not re.match(r"\s*#\s*solutions?\b", cell.source, re.IGNORECASE)
        assert "widgets" not in copy_nb.metadata


def test_choosing_notebooks_and_the_originals_are_untouched(tmp_path):
    before = (ROOT / "notebooks" / "01_preprocessing.ipynb").read_bytes()
    written = student.build(tmp_path, chosen=["01"])
    assert [p.name for p in written] == ["01_preprocessing.ipynb"]
    assert (ROOT / "notebooks" / "01_preprocessing.ipynb").read_bytes() == before
    with pytest.raises(FileNotFoundError):
        student.build(tmp_path, chosen=["99"])


@pytest.mark.slow
def test_student_start_here_runs_top_to_bottom(built, monkeypatch):
    """The copy of notebooks/00_start_here.ipynb executes in a fresh kernel (quick profile)."""
    from nbclient import NotebookClient

    monkeypatch.setenv("LABKIT_PROFILE", "quick")
    # The kernel imports labkit from this checkout even where it is not installed.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p))
    path = built / "00_start_here.ipynb"
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(built)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count for c in code)
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors
