"""labkit.dev.seeds: the lessons' RESULT lines over seeds, docs/seeds.json and README's block."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labkit.dev import blocks, results, seeds
from labkit.dev import notebooks as nbtool
from labkit.report import LessonResult

README = "# Course\n\n{start}\nold table\n{end}\n\nafter the table\n"
LR_ERROR = ("AssertionError: lesson 03 learning rate: the fix (49.0%) beats the failure (9.0%) "
            "by only 24.0 points on val accuracy; the lesson promises at least 25.")


def _result(failure: float, fix: float, lesson: str = "03 learning rate",
            metric: str = "val accuracy") -> seeds.Result:
    return results.parse_result_line(LessonResult(lesson, metric, failure, fix, 0.25).line())


def _runs() -> list[seeds.Run]:
    """03: three seeds, 43 failed its check after printing; 11: 44 failed before any RESULT."""
    return [
        seeds.Run("00_start_here", 42, (), 3.0),
        seeds.Run("03_learning_rate", 42, (_result(0.084, 0.512),), 49.4),
        seeds.Run("03_learning_rate", 43, (_result(0.090, 0.330),), 51.0, LR_ERROR),
        seeds.Run("03_learning_rate", 44, (_result(0.088, 0.50),), 48.0),
        seeds.Run("11_capstone", 42, (_result(0.394, 0.624, "11 capstone", "test accuracy"),), 106),
        seeds.Run("11_capstone", 44, (), 12.0, "KeyError: 'a|b'"),
    ]


def _rows(text: str) -> list[list[str]]:
    block = text.split(seeds.START_MARKER)[1].split(seeds.END_MARKER)[0]
    lines = [line for line in block.strip().splitlines() if line.startswith("|")][2:]
    return [[cell.strip() for cell in line.strip().strip("|").split(" | ")] for line in lines]


@pytest.fixture
def course(tmp_path: Path) -> Path:
    (tmp_path / "README.md").write_text(
        README.format(start=seeds.START_MARKER, end=seeds.END_MARKER))
    return tmp_path


# ---- aggregation -----------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "value"), [("8.4%", 8.4), ("+42.8 points", 42.8),
                                             ("-3.0 points", -3.0), ("100.0%", 100.0)])
def test_number_reads_result_figures(text, value):
    assert seeds.number(text) == value


def test_number_refuses_what_is_not_a_figure():
    with pytest.raises(ValueError, match="not a RESULT figure: 'abc%'"):
        seeds.number("abc%")


def test_aggregate_keeps_values_per_seed_and_errors():
    doc = seeds.aggregate(_runs())
    lr = doc["notebooks"]["03_learning_rate"]
    assert lr["seeds"] == [42, 43, 44]
    assert lr["runs"]["43"] == {"wall_s": 51, "error": LR_ERROR}
    assert lr["results"] == [{"lesson": "03 learning rate", "metric": "val accuracy",
                              "failure": {"42": 8.4, "43": 9.0, "44": 8.8},
                              "fix": {"42": 51.2, "43": 33.0, "44": 50.0},
                              "margin": {"42": 42.8, "43": 24.0, "44": 41.2}}]
    assert doc["notebooks"]["11_capstone"]["runs"]["44"]["error"] == "KeyError: 'a|b'"
    assert list(doc["notebooks"]) == ["00_start_here", "03_learning_rate", "11_capstone"]
    assert json.loads(json.dumps(doc)) == doc


def test_aggregate_replaces_only_the_lessons_and_seeds_run_again():
    previous = seeds.aggregate(_runs())
    doc = seeds.aggregate([seeds.Run("03_learning_rate", 45, (_result(0.1, 0.6),), 50),
                           seeds.Run("03_learning_rate", 43, (_result(0.1, 0.5),), 40)],
                          previous)
    lr = doc["notebooks"]["03_learning_rate"]
    assert lr["seeds"] == [42, 43, 44, 45]  # 42 and 44 kept, 43 replaced, 45 added
    assert lr["runs"]["43"] == {"wall_s": 40, "error": None}
    fix = lr["results"][0]["fix"]
    assert set(fix) == {"42", "43", "44", "45"} and fix["42"] == 51.2
    assert fix["43"] != previous["notebooks"]["03_learning_rate"]["results"][0]["fix"]["43"]
    assert doc["notebooks"]["11_capstone"] == previous["notebooks"]["11_capstone"]


def test_table_shows_minimum_spread_and_failures():
    rows = _rows(seeds.START_MARKER + "\n" + seeds.render_table(seeds.aggregate(_runs()))
                 + "\n" + seeds.END_MARKER)
    assert rows[0] == [
        "[03_learning_rate](notebooks/03_learning_rate.ipynb)", "03 learning rate",
        "val accuracy", "8.4..9.0%", "33.0% (spread 18.2)", "+24.0 points (spread 18.8)",
        "42, 43, 44; failed (seed 43: AssertionError: lesson 03 learning rate: the fix "
        "(49.0%)...)"]
    assert rows[1][1:] == ["11 capstone", "test accuracy", "39.4%", "62.4% (spread 0.0)",
                           "+23.0 points (spread 0.0)", "42; failed (seed 44: KeyError: 'a\\|b')"]
    assert len(rows) == 2  # 00_start_here printed no RESULT line and failed nowhere


def test_a_lesson_that_failed_before_any_result_still_gets_a_row():
    doc = seeds.aggregate([seeds.Run("05_class_imbalance", 42, (), 2, "NameError: name 'x'")])
    assert "| - | - | - | - | - | failed (seed 42: NameError: name 'x') |" in (
        seeds.render_table(doc))


def test_error_text_is_the_cells_error_name_and_first_line():
    from nbclient.exceptions import CellExecutionError

    error = CellExecutionError("traceback ...", "AssertionError", "margin too small\nmore")
    assert seeds.error_text(error) == "AssertionError: margin too small"
    assert seeds.error_text(TimeoutError()) == "TimeoutError"
    assert seeds.error_text(RuntimeError("kernel died\nrestarting")) == (
        "RuntimeError: kernel died")


# ---- README block and --check ----------------------------------------------------------------
def test_without_a_json_the_block_says_how_to_measure(course, capsys):
    assert seeds.main(["--root", str(course), "--check"]) == 1
    assert "run `python -m labkit.dev.seeds --from-json" in capsys.readouterr().out
    assert seeds.main(["--root", str(course), "--from-json", str(course / "docs/seeds.json")]) == 0
    assert seeds.NOT_MEASURED in (course / "README.md").read_text()
    assert seeds.main(["--root", str(course), "--check"]) == 0


def test_from_json_writes_the_block_and_check_compares(course, capsys):
    path = course / "docs" / "seeds.json"
    seeds.save(seeds.aggregate(_runs()), path)
    assert seeds.main(["--root", str(course), "--check"]) == 1  # still "old table"
    assert "old table" in (course / "README.md").read_text()  # --check writes nothing
    assert seeds.main(["--root", str(course), "--from-json", str(path)]) == 0
    text = (course / "README.md").read_text()
    assert "8.4..9.0%" in text and text.endswith(f"{seeds.END_MARKER}\n\nafter the table\n")
    assert seeds.main(["--root", str(course), "--check"]) == 0
    seeds.save(seeds.aggregate(_runs()[:2]), path)
    capsys.readouterr()
    assert seeds.main(["--root", str(course), "--check"]) == 1
    assert "the seeds block is out of date" in capsys.readouterr().out


def test_missing_markers_or_bad_json_exit_2_naming_the_file(course, capsys):
    (course / "docs").mkdir()
    (course / "docs" / "seeds.json").write_text("{not json")
    assert seeds.main(["--root", str(course), "--check"]) == 2
    assert "seeds.json: not valid JSON" in capsys.readouterr().err
    (course / "docs" / "seeds.json").unlink()
    (course / "README.md").write_text("# no markers\n")
    assert seeds.main(["--root", str(course), "--check"]) == 2
    assert "is missing <!-- seeds:start -->" in capsys.readouterr().err


def test_notebooks_check_covers_the_seeds_block(course, capsys):
    block = next(block for block in nbtool.BLOCKS if block.name == "seeds")
    assert blocks.update(course, check=True, blocks=(block,)) == 1
    assert "run `python -m labkit.dev.seeds --from-json docs/seeds.json`" in (
        capsys.readouterr().out)
    assert blocks.update(course, blocks=(block,)) == 0
    assert seeds.NOT_MEASURED in (course / "README.md").read_text()


def test_make_test_checks_the_repository_seeds_block():
    assert seeds.write_readme(nbtool.ROOT / "README.md", nbtool.ROOT / seeds.JSON_FILE,
                              check=True) == 0


# ---- end to end: a tiny notebook, two seeds --------------------------------------------------
TINY = '''# %%
import labkit
from labkit import session

# no TensorFlow here: setup() still reads $LABKIT_SEED
session.seed_everything = session.quiet_tensorflow = lambda *args: None
session.gpu_names = list
lab = labkit.setup(quiet=True)
print(f"RESULT | 99 tiny | seed | failure {lab.seed / 10:.1f}% | fix 50.0% | "
      f"margin {50 - lab.seed / 10:+.1f} points")
assert lab.profile.name == "quick" and lab.seed != 43, "seed 43 is unlucky"
'''


def test_seeds_execute_copies_and_record_a_failing_seed(course, capsys):
    jupytext = pytest.importorskip("jupytext")
    (course / "notebooks" / "src").mkdir(parents=True)
    (course / "notebooks" / "src" / "99_tiny.py").write_text(TINY)
    stored = course / "notebooks" / "99_tiny.ipynb"
    jupytext.write(jupytext.reads(TINY, fmt="py:percent"), stored)
    before = stored.read_bytes()
    status = seeds.main(["--root", str(course), "--seeds", "42", "43", "--jobs", "2"])
    out, err = capsys.readouterr()
    assert status == 1, out + err
    assert "99_tiny seed 42: ok, 1 RESULT in" in out
    assert "99_tiny seed 43: FAILED (AssertionError: seed 43 is unlucky) in" in out
    assert "failed: 99_tiny seed 43: AssertionError: seed 43 is unlucky" in err
    entry = json.loads((course / "docs" / "seeds.json").read_text())["notebooks"]["99_tiny"]
    assert entry["results"][0]["failure"] == {"42": 4.2, "43": 4.3}
    assert entry["runs"]["43"]["error"] == "AssertionError: seed 43 is unlucky"
    assert _rows((course / "README.md").read_text())[0][3:] == [
        "4.2..4.3%", "50.0% (spread 0.0)", "+45.7 points (spread 0.1)",
        "42, 43; failed (seed 43: AssertionError: seed 43 is unlucky)"]
    assert stored.read_bytes() == before  # the lesson itself is never written
    copies = sorted(p.relative_to(course).as_posix() for p in course.glob("artifacts/**/*.ipynb"))
    assert copies == [f"artifacts/seeds/seed-{seed}/99_tiny.ipynb" for seed in (42, 43)]
    assert seeds.main(["--root", str(course), "--check"]) == 0
    # a later run of every lesson with another seed adds it and keeps the seeds measured before
    assert seeds.main(["--root", str(course), "--seeds", "44"]) == 0
    entry = json.loads((course / "docs" / "seeds.json").read_text())["notebooks"]["99_tiny"]
    assert sorted(entry["runs"]) == ["42", "43", "44"]
    assert entry["results"][0]["failure"] == {"42": 4.2, "43": 4.3, "44": 4.4}
