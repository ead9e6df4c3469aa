"""Generated blocks in the docs: the text between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``.

These blocks are written by commands, never by hand:

- ``README.md`` ``results``: the results table, from the notebooks' own ``RESULT`` lines;
- ``README.md`` ``badges``: "Open in Colab" / Binder links from ``[project.urls] Repository``
  (empty while no public URL is declared);
- ``README.md`` ``bench``: ``docs/bench.md``, the last kept output of
  ``python -m labkit.dev.bench --markdown`` (figures, speed targets, a panel click's parts);
- ``README.md`` ``seeds``: margins over seeds 42-44, from ``docs/seeds.json``
  (``python -m labkit.dev.seeds``, which adds it to the blocks ``notebooks`` checks).

``python -m labkit.dev.notebooks`` rewrites them; ``--check`` (``make test``) fails when one is
out of date.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BENCH_FILE = Path("docs/bench.md")


def markers(name: str) -> tuple[str, str]:
    """The start and end markers of block ``name``."""
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def replace_block(text: str, name: str, body: str, source: str = "README.md") -> str:
    """``text`` with block ``name``'s content replaced by ``body`` (an empty body is allowed)."""
    start_marker, end_marker = markers(name)
    start, end = text.find(start_marker), text.find(end_marker)
    if start < 0 or end < 0 or end < start:
        missing = [m for m, i in ((start_marker, start), (end_marker, end)) if i < 0]
        problem = (f"is missing {' and '.join(missing)}" if missing
                   else f"has {end_marker} before {start_marker}")
        raise ValueError(
            f"{source} {problem}. Put the two markers on their own lines where the {name} block "
            f"goes:\n{start_marker}\n{end_marker}")
    inner = f"\n{body.strip(chr(10))}\n" if body.strip() else "\n"
    return f"{text[:start]}{start_marker}{inner}{text[end:]}"


@dataclass(frozen=True)
class Block:
    """A generated block: where it lives, and how its content is made from the repository."""

    path: Path  # relative to the repository root
    name: str
    render: Callable[[Path], str]  # repository root -> block content
    command: str  # what a person runs to regenerate it


def _results(root: Path) -> str:
    from labkit.dev import results

    return results.render_table(results.collect(root / "notebooks"), root)


def _badges(root: Path) -> str:
    from labkit import colab

    return colab.badges_markdown(colab.repository_url(root / "pyproject.toml"))


def _bench(root: Path) -> str:
    path = root / BENCH_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: run `python -m labkit.dev.bench --markdown > {BENCH_FILE}` on "
            "an idle machine and commit it")
    return path.read_text(encoding="utf-8")


BLOCKS = (
    Block(Path("README.md"), "results", _results, "python -m labkit.dev.notebooks --no-execute"),
    Block(Path("README.md"), "badges", _badges, "python -m labkit.dev.notebooks --no-execute"),
    Block(Path("README.md"), "bench", _bench,
          f"python -m labkit.dev.bench --markdown > {BENCH_FILE}, then "
          "python -m labkit.dev.notebooks --no-execute"),
)


def update(root: Path, check: bool = False, blocks: tuple[Block, ...] = BLOCKS) -> int:
    """Rewrite every block (or, with ``check``, only compare): 0 when all are up to date."""
    stale = 0
    texts: dict[Path, str] = {}
    for block in blocks:
        path = root / block.path
        current = texts.get(path) or path.read_text(encoding="utf-8")
        updated = replace_block(current, block.name, block.render(root), source=str(block.path))
        texts[path] = updated
        if updated != current:
            stale += 1
            if check:
                diff = difflib.unified_diff(current.splitlines(), updated.splitlines(),
                                            f"{block.path} (now)", f"{block.path} (generated)",
                                            lineterm="", n=1)
                print(f"{block.path}: the {block.name} block is out of date; run "
                      f"`{block.command}`.\n" + "\n".join(diff))
    if not check:
        for path, text in texts.items():
            if path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
        print(f"generated blocks: {len(blocks)} written ({stale} changed).")
        return 0
    if not stale:
        print(f"generated blocks: {len(blocks)} up to date.")
    return 1 if stale else 0
