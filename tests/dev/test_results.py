"""labkit.dev.results: README's results table from the notebooks' stored RESULT lines."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from labkit.dev import blocks, results
from labkit.report import LessonResult

LR_LINE = LessonResult("03 learning rate", "val accuracy", 0.084, 0.512, 0.25).line()
README = "# Course\n\nintro\n\n{start}\nold table\n{end}\n\nafter the table\n"


def stream(text: str, name: str = "stdout"):
    return new_output("stream", name=name, text=text)


def write_notebook(path: Path, *outputs_per_cell) -> Path:
    nb = new_notebook(cells=[new_markdown_cell("# a lesson")])
    for outputs in outputs_per_cell:
        nb.cells.append(new_code_cell("print('...')", outputs=list(outputs)))
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A README with markers and three notebooks: no result, one result, two results."""
    nbs = tmp_path / "notebooks"
    write_notebook(nbs / "00_start_here.ipynb", [stream("labkit | profile: quick\n")],
                   [stream("this notebook ran in 12 s\n")])
    write_notebook(
        nbs / "03_learning_rate.ipynb",
        [stream("  [Adam lr=0.01] epoch 1/8: accuracy 0.083\n")],
        # a stream split mid-line, as Jupyter may store it, and a stderr line to ignore
        [stream("too-high LR ends near chance: True\n" + LR_LINE[:20]),
         stream(LR_LINE[20:] + "\nfix beats too-high LR by >= 25%: True\n"),
         stream("RESULT | not | a | stderr | result | line\n", name="stderr")],
        [stream("this notebook ran in 86 s\n")],
    )
    write_notebook(
        nbs / "05_imbalance.ipynb",
        [stream(LessonResult("05 imbalance", "balanced accuracy", 0.31, 0.62, 0.2).line() + "\n"
                + LessonResult("05 imbalance", "macro F1", 0.25, 0.6, 0.2).line() + "\n")],
    )
    (tmp_path / "README.md").write_text(
        README.format(start=results.START_MARKER, end=results.END_MARKER))
    return tmp_path


def table_rows(text: str) -> list[list[str]]:
    block = text.split(results.START_MARKER)[1].split(results.END_MARKER)[0]
    lines = [line for line in block.strip().splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def test_parse_result_line_roundtrips_report_format():
    assert results.parse_result_line(LR_LINE) == (
        "03 learning rate", "val accuracy", "8.4%", "51.2%", "+42.8 points")


@pytest.mark.parametrize("line", ["RESULT | 03 | acc | failure 8% | fix 50%",
                                  "RESULT | 03 | acc | fail 8% | fix 50% | margin +42 points",
                                  "RESULT |  | acc | failure 8% | fix 50% | margin +42 points"])
def test_malformed_result_line_names_the_source(line):
    with pytest.raises(ValueError, match="nb.ipynb.*malformed"):
        results.parse_result_line(line, source="nb.ipynb")


def test_rows_from_stored_outputs(course):
    rows = results.collect(course / "notebooks")
    assert [(r.notebook.name, r.lesson, r.metric, r.failure, r.fix, r.margin, r.run_time)
            for r in rows] == [
        ("03_learning_rate.ipynb", "03 learning rate", "val accuracy", "8.4%", "51.2%",
         "+42.8 points", "86 s"),
        ("05_imbalance.ipynb", "05 imbalance", "balanced accuracy", "31.0%", "62.0%",
         "+31.0 points", results.NOT_RECORDED),
        ("05_imbalance.ipynb", "05 imbalance", "macro F1", "25.0%", "60.0%", "+35.0 points",
         results.NOT_RECORDED),
    ]


def test_main_writes_table_between_markers(course, capsys):
    readme = course / "README.md"
    assert results.main(["--readme", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith("# Course\n\nintro\n\n") and text.endswith("\n\nafter the table\n")
    assert "old table" not in text
    header, rule, *body = table_rows(text)
    assert header == list(results.HEADER)
    assert set(rule) == {"---"}
    assert len(body) == 3  # 00_start_here has no RESULT line: no row
    assert body[0] == ["[03_learning_rate](notebooks/03_learning_rate.ipynb)", "03 learning rate",
                       "val accuracy", "8.4%", "51.2%", "+42.8 points", "86 s", "not measured"]
    assert all(row[-1] == "not measured" for row in body)
    assert "3 rows" in capsys.readouterr().out
    # running again changes nothing, and --check agrees
    assert results.main(["--readme", str(readme)]) == 0
    assert readme.read_text() == text
    assert results.main(["--readme", str(readme), "--check"]) == 0


def test_check_detects_stale_table_without_writing(course, capsys):
    readme = course / "README.md"
    results.main(["--readme", str(readme)])
    stale = readme.read_text().replace("51.2%", "49.0%")
    readme.write_text(stale)
    assert results.main(["--readme", str(readme), "--check"]) == 1
    out = capsys.readouterr().out
    assert "out of date" in out and "python -m labkit.dev.results" in out and "51.2%" in out
    assert readme.read_text() == stale  # --check never writes


def test_check_detects_a_new_notebook(course):
    readme = course / "README.md"
    results.main(["--readme", str(readme)])
    write_notebook(course / "notebooks" / "07_new.ipynb",
                   [stream(LessonResult("07 new", "accuracy", 0.1, 0.9, 0.5).line() + "\n")])
    assert results.main(["--readme", str(readme), "--check"]) == 1


@pytest.mark.parametrize("text, missing", [
    ("# no markers at all\n", results.START_MARKER),
    (f"# half\n{results.START_MARKER}\n", results.END_MARKER),
])
def test_missing_markers_error_names_the_file(course, capsys, text, missing):
    readme = course / "README.md"
    readme.write_text(text)
    with pytest.raises(ValueError, match="README.md is missing") as info:
        blocks.replace_block(text, "results", "| t |", source=str(readme))
    assert missing in str(info.value)
    assert results.main(["--readme", str(readme)]) == 2
    err = capsys.readouterr().err
    assert str(readme) in err and missing in err
    assert readme.read_text() == text


def test_markers_in_wrong_order_are_an_error():
    text = f"{results.END_MARKER}\n{results.START_MARKER}\n"
    with pytest.raises(ValueError, match="before"):
        blocks.replace_block(text, "results", "| t |", source="README.md")


def test_unreadable_notebook_is_named(course, capsys):
    bad = course / "notebooks" / "04_broken.ipynb"
    bad.write_text("{not json")
    assert results.main(["--readme", str(course / "README.md")]) == 2
    assert "04_broken.ipynb" in capsys.readouterr().err


def test_links_are_relative_to_the_readme(course, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    readme = docs / "RESULTS.md"
    readme.write_text(f"{results.START_MARKER}\n{results.END_MARKER}\n")
    assert results.main(["--readme", str(readme), "--notebooks", str(course / "notebooks")]) == 0
    assert "(../notebooks/03_learning_rate.ipynb)" in readme.read_text()
