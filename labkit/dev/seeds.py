"""``python -m labkit.dev.seeds [--seeds 42 43 44] [NN ...] [--jobs 1] [--out artifacts/seeds]``.

The lessons' figures over several seeds (``make seeds``). Each lesson (``notebooks/src/NN_name.py``,
as ``make notebooks`` would build it) is executed once per seed in a fresh kernel with
``LABKIT_SEED=<seed>`` and ``LABKIT_PROFILE=quick``; the executed copies go to
``--out/seed-<seed>/`` and ``notebooks/*.ipynb`` is never touched. Every ``RESULT`` line is kept
per seed in ``docs/seeds.json`` (a partial run, ``NN ...`` or ``--seeds ...``, replaces only
those lessons and seeds), and
README's block between ``<!-- seeds:start -->`` and ``<!-- seeds:end -->`` shows one row per
RESULT line: the failure's range, the fix's and the margin's minimum and spread over the seeds.

A lesson that fails for a seed is recorded (the failing cell's error, first line), shown in the
table, and the command exits 1 once everything is written. ``--from-json PATH`` rewrites the
README block from a kept file without executing anything; ``--check`` (also run by
``python -m labkit.dev.notebooks --check``, i.e. ``make test``) exits 1 when the block differs
from ``docs/seeds.json``.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit.config import PROFILE_ENV, SEED_ENV
from labkit.dev import notebooks, results
from labkit.dev.blocks import markers, replace_block

START_MARKER, END_MARKER = markers("seeds")
BLOCK = "seeds"
JSON_FILE = Path("docs/seeds.json")
OUT_DIR = Path("artifacts/seeds")
DEFAULT_SEEDS = (42, 43, 44)
NOT_MEASURED = "not measured yet: run `make seeds`"
HEADER = ("notebook", "lesson", "metric", "failure (min..max)", "fix (min, spread)",
          "margin (min, spread)", "seeds measured")
ERROR_CHARS = 60  # an error's first line, cut to this in the table (kept whole in the json)

Result = tuple[str, str, str, str, str]  # lesson, metric, failure, fix, margin (as printed)


@dataclass(frozen=True)
class Run:
    """One lesson executed with one seed."""

    notebook: str  # the notebook's stem, e.g. "03_learning_rate"
    seed: int
    results: tuple[Result, ...]
    wall_s: float
    error: str | None = None  # "AssertionError: lesson 03 ...": the failing cell's error

    def progress(self) -> str:
        status = f"FAILED ({self.error})" if self.error else f"ok, {len(self.results)} RESULT"
        return f"{self.notebook} seed {self.seed}: {status} in {self.wall_s:.0f} s"


# ---- execute ---------------------------------------------------------------------------------
def error_text(error: BaseException) -> str:
    """``"<name>: <first line>"`` of a failed execution (nbclient's cell error, or any other)."""
    name = getattr(error, "ename", None) or type(error).__name__
    value = str(getattr(error, "evalue", error) or "").strip()
    first = value.splitlines()[0].strip() if value else ""
    return f"{name}: {first}" if first else name


def run_lesson(pair: notebooks.Pair, seed: int, out: Path) -> Run:
    """Execute one lesson with ``seed`` in ``out/seed-<seed>/`` and keep the executed copy there."""
    folder = out / f"seed-{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    nb, error = notebooks.synced(pair), None
    started = time.perf_counter()
    try:
        notebooks.execute(nb, folder, env={SEED_ENV: str(seed), PROFILE_ENV: notebooks.PROFILE})
    except Exception as exc:  # a lesson's failure is a finding: recorded, the others still run
        error = error_text(exc)
    wall_s = time.perf_counter() - started
    copy = folder / pair.notebook.name
    copy.write_text(notebooks.dumps(notebooks.clean(nb)), encoding="utf-8")
    try:
        found = tuple(row_result(row) for row in results.notebook_rows(copy))
    except ValueError as exc:
        found, error = (), error or error_text(exc)
    return Run(pair.name, seed, found, wall_s, error)


def row_result(row: results.Row) -> Result:
    return row.lesson, row.metric, row.failure, row.fix, row.margin


def run_all(chosen: Sequence[notebooks.Pair], seeds: Sequence[int], out: Path,
            jobs: int = 1) -> list[Run]:
    """Every lesson with every seed (``jobs`` at a time), printing one line per run."""
    tasks = [(pair, seed) for pair in chosen for seed in seeds]
    print(f"executing {len(chosen)} lesson(s) x {len(seeds)} seed(s) "
          f"({notebooks.PROFILE} profile, {jobs} at a time) into {_shown(out)}/", flush=True)

    def one(index: int, pair: notebooks.Pair, seed: int) -> Run:
        run = run_lesson(pair, seed, out)
        print(f"[{index}/{len(tasks)}] {run.progress()}", flush=True)
        return run

    if jobs <= 1:
        return [one(i, pair, seed) for i, (pair, seed) in enumerate(tasks, 1)]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(one, i, pair, seed) for i, (pair, seed) in enumerate(tasks, 1)]
        return [future.result() for future in futures]


# ---- aggregate -------------------------------------------------------------------------------
def number(text: str) -> float:
    """The value of a RESULT field: ``"8.4%"`` -> 8.4, ``"+42.8 points"`` -> 42.8."""
    value = text.strip().removesuffix("%").removesuffix("points").strip()
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"not a RESULT figure: {text!r} (expected e.g. '8.4%' or "
                         "'+42.8 points')") from None


def lesson_entry(runs: Sequence[Run]) -> dict[str, Any]:
    """The json entry of one notebook from its runs: per RESULT line, the values per seed."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for run in runs:
        for lesson, metric, *texts in run.results:
            row = rows.setdefault((lesson, metric), {"lesson": lesson, "metric": metric,
                                                     **{f: {} for f in results.RESULT_FIELDS}})
            for field, text in zip(results.RESULT_FIELDS, texts, strict=True):
                row[field][str(run.seed)] = number(text)
    return {"seeds": [run.seed for run in runs],
            "runs": {str(run.seed): {"wall_s": round(run.wall_s), "error": run.error}
                     for run in runs},
            "results": list(rows.values())}


def merge_entries(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """``new``'s seeds replace the same seeds in ``old``; ``old``'s other seeds are kept (so
    ``--seeds 43 44`` adds to a kept seed-42 run instead of dropping it)."""
    if not old:
        return new
    replaced = {str(seed) for seed in new["seeds"]}
    seeds = sorted({*(s for s in old["seeds"] if str(s) not in replaced), *new["seeds"]})
    runs = {k: v for k, v in old["runs"].items() if k not in replaced} | new["runs"]
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for row in old["results"]:
        kept = {f: {k: v for k, v in row[f].items() if k not in replaced}
                for f in results.RESULT_FIELDS}
        if any(kept.values()):
            rows[(row["lesson"], row["metric"])] = {"lesson": row["lesson"],
                                                    "metric": row["metric"], **kept}
    for row in new["results"]:
        key = (row["lesson"], row["metric"])
        target = rows.setdefault(key, {"lesson": row["lesson"], "metric": row["metric"],
                                       **{f: {} for f in results.RESULT_FIELDS}})
        for field in results.RESULT_FIELDS:
            target[field] = dict(sorted({**target[field], **row[field]}.items()))
    return {"seeds": seeds, "runs": dict(sorted(runs.items())), "results": list(rows.values())}


def aggregate(runs: Iterable[Run], previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """The json document: ``previous``'s lessons, with the seeds in ``runs`` replaced."""
    by_notebook: dict[str, list[Run]] = {}
    for run in runs:
        by_notebook.setdefault(run.notebook, []).append(run)
    lessons = dict((previous or {}).get("notebooks", {}))
    for name, group in by_notebook.items():
        lessons[name] = merge_entries(lessons.get(name), lesson_entry(group))
    return {"profile": notebooks.PROFILE, "notebooks": dict(sorted(lessons.items()))}


# ---- json ------------------------------------------------------------------------------------
def load(path: Path) -> dict[str, Any] | None:
    """The kept document, or None when ``path`` does not exist; ValueError when malformed."""
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ValueError(f"{path}: not valid JSON ({error}); rerun `make seeds`") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("notebooks"), dict):
        raise ValueError(f"{path}: no 'notebooks' mapping; rerun `make seeds`")
    return doc


def save(doc: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


# ---- table -----------------------------------------------------------------------------------
def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _short(error: str) -> str:
    return error if len(error) <= ERROR_CHARS else error[:ERROR_CHARS - 3].rstrip() + "..."


def _min_spread(values: Sequence[float], fmt: str, unit: str) -> str:
    return f"{min(values):{fmt}}{unit} (spread {max(values) - min(values):.1f})"


def figures(row: dict[str, Any], seeds: Sequence[str]) -> tuple[str, str, str]:
    """The failure, fix and margin cells of one RESULT line over ``seeds`` that measured it."""
    failure, fix, margin = ([row[f][s] for s in seeds] for f in results.RESULT_FIELDS)
    low, high = min(failure), max(failure)
    failure_text = f"{low:.1f}%" if f"{low:.1f}" == f"{high:.1f}" else f"{low:.1f}..{high:.1f}%"
    return failure_text, _min_spread(fix, ".1f", "%"), _min_spread(margin, "+.1f", " points")


def lesson_rows(name: str, entry: dict[str, Any]) -> list[tuple[str, ...]]:
    """The table rows of one notebook: one per RESULT line, or one saying it failed."""
    link = f"[{name}](notebooks/{name}.ipynb)"
    failures = "; ".join(f"failed (seed {seed}: {_short(run['error'])})"
                         for seed, run in entry["runs"].items() if run.get("error"))
    rows = []
    for row in entry["results"]:
        seeds = [str(s) for s in entry["seeds"] if str(s) in row["margin"]]
        measured = ", ".join(seeds) + (f"; {failures}" if failures else "")
        rows.append((link, row["lesson"], row["metric"], *figures(row, seeds), measured))
    if failures and not rows:
        rows.append((link, "-", "-", "-", "-", "-", failures))
    return [tuple(_cell(c) for c in r) for r in rows]


def render_table(doc: dict[str, Any] | None) -> str:
    """README's seeds block for ``doc`` (``NOT_MEASURED`` when there is none)."""
    if doc is None:
        return NOT_MEASURED
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for name, entry in doc["notebooks"].items():
        lines += ["| " + " | ".join(r) + " |" for r in lesson_rows(name, entry)]
    return "\n".join(lines)


def render_block(json_path: Path) -> str:
    """README's seeds block from the kept file ``json_path`` (which may not exist yet)."""
    return render_table(load(json_path))


# ---- command ---------------------------------------------------------------------------------
def _shown(path: Path) -> Path:
    """``path`` relative to the current folder where it is below it (shorter messages)."""
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


def write_readme(readme: Path, json_path: Path, check: bool = False) -> int:
    """Rewrite (or, with ``check``, compare) README's seeds block: 0 when it is up to date."""
    current = readme.read_text(encoding="utf-8")
    readme, json_path = _shown(readme), _shown(json_path)
    updated = replace_block(current, BLOCK, render_block(json_path), source=str(readme))
    if not check:
        if updated != current:
            readme.write_text(updated, encoding="utf-8")
        print(f"{readme}: seeds block written from {json_path}.")
        return 0
    if updated == current:
        print(f"{readme}: seeds block is up to date with {json_path}.")
        return 0
    diff = difflib.unified_diff(current.splitlines(), updated.splitlines(), f"{readme} (now)",
                                f"{readme} (from {json_path})", lineterm="", n=1)
    print(f"{readme}: the seeds block is out of date with {json_path}; run "
          f"`python -m labkit.dev.seeds --from-json {json_path}`.\n" + "\n".join(diff))
    return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m labkit.dev.seeds",
        description="Execute the lessons once per seed; keep every RESULT line in "
                    f"{JSON_FILE} and write README's seeds table (min and spread).")
    parser.add_argument("names", nargs="*", help="lesson prefixes (e.g. 03 10); default: all")
    parser.add_argument("--seeds", nargs="+", type=int, default=list(DEFAULT_SEEDS),
                        metavar="SEED", help="seeds to run (default: 42 43 44)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="lessons executed at once (default 1; each uses every core)")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"folder for the executed copies (default: {OUT_DIR})")
    parser.add_argument("--json", type=Path, default=None,
                        help=f"the kept figures, read and rewritten (default: {JSON_FILE})")
    parser.add_argument("--from-json", type=Path, metavar="PATH",
                        help="execute nothing: rewrite README's block from PATH")
    parser.add_argument("--check", action="store_true",
                        help="execute and write nothing; exit 1 if README's block is stale")
    parser.add_argument("--root", type=Path, default=notebooks.ROOT, help=argparse.SUPPRESS)
    return parser


def _measure(args: argparse.Namespace, json_path: Path) -> int:
    seeds = list(dict.fromkeys(args.seeds))
    if min(seeds) < 0 or args.jobs < 1:
        raise ValueError(f"--seeds must be non-negative and --jobs at least 1, got --seeds "
                         f"{' '.join(map(str, args.seeds))} --jobs {args.jobs}")
    chosen = notebooks.pairs(args.names, args.root)
    runs = run_all(chosen, seeds, args.out or args.root / OUT_DIR, args.jobs)
    doc = aggregate(runs, load(json_path))  # other lessons' and other seeds' figures are kept
    save(doc, json_path)
    print(f"{_shown(json_path)}: {len(doc['notebooks'])} lesson(s) kept.")
    status = write_readme(args.root / "README.md", json_path)
    errors = [run for run in runs if run.error]
    for run in errors:
        print(f"failed: {run.notebook} seed {run.seed}: {run.error}", file=sys.stderr)
    return 1 if errors else status


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    json_path = args.from_json or args.json or args.root / JSON_FILE
    try:
        if args.check or args.from_json:
            return write_readme(args.root / "README.md", json_path, check=args.check)
        return _measure(args, json_path)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
