"""labkit.dev.blocks: generated blocks are rewritten by a command and checked by make test."""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit.dev import blocks


def _repo(tmp_path: Path) -> tuple[Path, tuple[blocks.Block, ...]]:
    (tmp_path / "README.md").write_text("# t\n<!-- one:start -->\nold\n<!-- one:end -->\nend\n")
    made = (blocks.Block(Path("README.md"), "one", lambda root: "new table", "make it"),)
    return tmp_path, made


def test_check_names_the_stale_block_and_update_rewrites_it(tmp_path, capsys):
    root, made = _repo(tmp_path)
    assert blocks.update(root, check=True, blocks=made) == 1
    out = capsys.readouterr().out
    assert "README.md: the one block is out of date; run `make it`" in out and "+new table" in out
    assert (root / "README.md").read_text().count("old") == 1  # --check writes nothing
    assert blocks.update(root, blocks=made) == 0
    assert (root / "README.md").read_text() == (
        "# t\n<!-- one:start -->\nnew table\n<!-- one:end -->\nend\n")
    assert blocks.update(root, check=True, blocks=made) == 0


def test_missing_or_misordered_markers_name_the_file_and_the_fix():
    with pytest.raises(ValueError, match="docs/x.md is missing <!-- bench:end -->"):
        blocks.replace_block("<!-- bench:start -->\n", "bench", "b", source="docs/x.md")
    with pytest.raises(ValueError, match="before"):
        blocks.replace_block("<!-- a:end -->\n<!-- a:start -->\n", "a", "b")


def test_a_missing_bench_file_says_how_to_make_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m labkit.dev.bench --markdown"):
        blocks._bench(tmp_path)


def test_the_repository_blocks_are_up_to_date():
    assert blocks.update(Path(__file__).resolve().parents[2], check=True) == 0
