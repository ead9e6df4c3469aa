"""``python -m labkit.dev.notebooks [--check] [--no-execute] [NN ...]``: build the lesson notebooks.

Each lesson is a pair: ``notebooks/src/NN_name.py`` (jupytext percent script, the source people
edit and review) and ``notebooks/NN_name.ipynb`` (executed, outputs kept for learners). A build:

1. syncs: the script's cells replace the notebook's inputs (outputs of unchanged cells are kept);
2. executes the notebook in place with the quick profile (skipped with ``--no-execute``);
3. cleans it: no TensorFlow C++ log lines, no execution timestamps, no absolute or kernel temp
   paths, no widget model ids, stable cell ids and metadata;
4. regenerates the README's generated blocks (results table, benchmark table, and the seeds
   table from ``docs/seeds.json``, which ``python -m labkit.dev.seeds`` measures).

``--check`` writes nothing: it exits 1 when sync + clean would change a notebook, or a generated
block is out of date (it never executes anything). ``make test`` runs it.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from labkit.dev import blocks
from labkit.quiet import LogLineFilter

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
SOURCES = NOTEBOOKS / "src"
PROFILE = "quick"
CELL_TIMEOUT_S = 600
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                 "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
                 "pygments_lexer": "ipython3"}
KEPT_CELL_METADATA = ("jupyter", "tags")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
EPOCH_SECONDS = re.compile(r" \(\d+(?:\.\d+)? s\)$", re.M)


@dataclass(frozen=True)
class Pair:
    """A lesson's source script and its executed notebook."""

    source: Path
    notebook: Path

    @property
    def name(self) -> str:
        return self.notebook.stem


def pairs(names: Sequence[str] = (), root: Path = ROOT) -> list[Pair]:
    """Every ``notebooks/src/*.py`` with its ``notebooks/*.ipynb``; ``names`` picks by prefix."""
    sources = sorted((root / "notebooks" / "src").glob("[0-9][0-9]_*.py"))
    notebooks = sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    unpaired = sorted({p.stem for p in notebooks} ^ {p.stem for p in sources})
    if unpaired:
        raise ValueError(
            f"notebooks without a source script or scripts without a notebook: {unpaired}. "
            "Each notebooks/NN_name.ipynb needs notebooks/src/NN_name.py: create the missing "
            "side with `jupytext --to py:percent -o notebooks/src/NN_name.py "
            "notebooks/NN_name.ipynb` (or the reverse with --to ipynb).")
    found = [Pair(s, root / "notebooks" / f"{s.stem}.ipynb") for s in sources]
    if not names:
        return found
    chosen = [p for p in found if any(p.name.startswith(n) for n in names)]
    missing = [n for n in names if not any(p.name.startswith(n) for p in found)]
    if missing:
        raise ValueError(f"no lesson notebook starts with {missing}; "
                         f"known: {[p.name for p in found]}")
    return chosen


# ---- the generated first cell ----------------------------------------------------------------
FIRST_CELL_HEADER = '# %% jupyter={"source_hidden": true}\n'


def first_cell_text() -> str:
    """The collapsed first cell every lesson starts with (``labkit.colab.FIRST_CELL``)."""
    from labkit import colab

    return FIRST_CELL_HEADER + colab.FIRST_CELL.rstrip("\n") + "\n\n"


def with_first_cell(script: str) -> str:
    """``script`` whose first code cell is the current first cell (inserted or replaced)."""
    start = script.index(FIRST_CELL_HEADER) if FIRST_CELL_HEADER in script else None
    if start is None:
        start = end = script.index("\n# %%\n") + 1
    else:
        end = script.index("\n# %%", start + len(FIRST_CELL_HEADER)) + 1
    return script[:start] + first_cell_text() + script[end:]


# ---- sync ------------------------------------------------------------------------------------
def read_notebook(path: Path):
    import nbformat

    return nbformat.read(path, as_version=4)


def synced(pair: Pair):
    """The notebook with the script's cells and the stored outputs of unchanged cells."""
    import jupytext
    from jupytext.combine import combine_inputs_with_outputs

    source = jupytext.read(pair.source, fmt="py:percent")
    if not pair.notebook.exists():
        return source
    return combine_inputs_with_outputs(source, read_notebook(pair.notebook), fmt="py:percent")


def same_inputs(a, b) -> bool:
    """True when two notebooks have the same cells (type and source), outputs aside."""
    def cells(nb):
        return [(c.cell_type, c.source.strip()) for c in nb.cells]
    return cells(a) == cells(b)


# ---- clean -----------------------------------------------------------------------------------
def _path_rules(root: Path) -> list[tuple[re.Pattern[str], str]]:
    venv_site = r"[^\s\"']*?/(?:site|dist)-packages/"
    rules = [
        (re.compile(r"/tmp/ipykernel_\d+/\d+\.py"), "<ipython-input>"),
        (re.compile(venv_site), "<site-packages>/"),
        (re.compile(re.escape(str(root)) + r"/?"), ""),
        (re.compile(r"/tmp/(?!ipykernel_)[^\s/\"'\\]+"), "<tmp>"),  # a temporary folder
        (EPOCH_SECONDS, ""),  # "... val_loss 2.304 (3.9 s)": wall time differs on every run
    ]
    home = os.path.expanduser("~")
    if home not in ("", "/"):
        rules.append((re.compile(re.escape(home) + r"(?=/)"), "~"))
    return rules


def clean_text(text: str, rules: Sequence[tuple[re.Pattern[str], str]]) -> str:
    for pattern, replacement in rules:
        text = pattern.sub(replacement, text)
    return text


def _strip_tf_logs(text: str) -> str:
    line_filter = LogLineFilter()
    data = text.encode()
    out = line_filter.feed(data) + line_filter.flush()
    return out.decode()


def _clean_output(output, rules):
    kind = output.get("output_type")
    if kind == "stream":
        text = output.get("text", "")
        if output.get("name") == "stderr":
            text = _strip_tf_logs(text)
        output["text"] = clean_text(text, rules)
        return output if output["text"] else None
    if kind in ("display_data", "execute_result"):
        data = output.get("data", {})
        data.pop(WIDGET_VIEW, None)
        for key, value in list(data.items()):
            if key.startswith("text/") and isinstance(value, str):
                data[key] = clean_text(value, rules)
        output.get("metadata", {}).pop(WIDGET_VIEW, None)
        return output if data else None
    if kind == "error":
        output["traceback"] = [clean_text(line, rules) for line in output.get("traceback", [])]
    return output


def clean(nb, root: Path = ROOT):
    """A copy of ``nb`` without machine noise: what is stored and reviewed."""
    nb = copy.deepcopy(nb)
    rules = _path_rules(root)
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": copy.deepcopy(LANGUAGE_INFO)}
    nb.nbformat, nb.nbformat_minor = 4, 5
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{index:03d}"
        cell["metadata"] = {k: v for k, v in cell.get("metadata", {}).items()
                            if k in KEPT_CELL_METADATA}
        if cell.cell_type == "code":
            outputs = (_clean_output(o, rules) for o in cell.get("outputs", []))
            cell["outputs"] = [o for o in outputs if o is not None]
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
            if not cell.get("attachments"):
                cell.pop("attachments", None)
    return nb


def dumps(nb) -> str:
    import nbformat

    return nbformat.writes(nb) + "\n"


# ---- execute ---------------------------------------------------------------------------------
def execute(nb, workdir: Path, timeout: int = CELL_TIMEOUT_S,
            env: Mapping[str, str] | None = None):
    """Run every cell in a fresh kernel of this Python, quick profile, seed 42, from ``workdir``;
    ``env`` adds to (or overrides) the kernel's environment, e.g. ``{"LABKIT_SEED": "43"}``."""
    from nbclient import NotebookClient

    from labkit.config import DEFAULT_SEED, SEED_ENV

    os.environ["LABKIT_PROFILE"] = PROFILE
    kernel_env = os.environ | {SEED_ENV: str(DEFAULT_SEED)} | dict(env or {})
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}})
    client.execute(env=kernel_env)
    return nb


# ---- generated blocks ------------------------------------------------------------------------
def _seeds_block(root: Path) -> str:
    from labkit.dev import seeds

    return seeds.render_block(root / seeds.JSON_FILE)


# The blocks this command writes and checks: labkit.dev.blocks' own, and the seeds table.
BLOCKS = blocks.BLOCKS + (
    blocks.Block(Path("README.md"), "seeds", _seeds_block,
                 "python -m labkit.dev.seeds --from-json docs/seeds.json"),
)


# ---- commands --------------------------------------------------------------------------------
def check(chosen: Sequence[Pair], root: Path = ROOT) -> int:
    """Exit status 1 (and the list) when sync + clean would change a notebook; writes nothing."""
    stale, dirty = [], []
    for pair in chosen:
        script = pair.source.read_text(encoding="utf-8")
        if with_first_cell(script) != script:
            print(f"{pair.source.relative_to(root)}: its first cell differs from "
                  "labkit.colab.FIRST_CELL (was the Repository setting changed?): "
                  "run `make notebooks`.")
            stale.append(pair)
            continue
        stored_text = pair.notebook.read_text(encoding="utf-8")
        stored = read_notebook(pair.notebook)
        merged = synced(pair)
        if not same_inputs(merged, stored):
            stale.append(pair)
        elif dumps(clean(merged, root)) != stored_text:
            dirty.append(pair)
    for pair in stale:
        print(f"{pair.source.relative_to(root)} differs from {pair.notebook.relative_to(root)}: "
              f"run `make notebooks` (or `python -m labkit.dev.notebooks {pair.name[:2]}`) "
              "to re-execute it, and commit both files.")
    for pair in dirty:
        print(f"{pair.notebook.relative_to(root)} holds machine noise or unstable metadata: "
              f"run `python -m labkit.dev.notebooks --no-execute {pair.name[:2]}` and commit it.")
    if not stale and not dirty:
        print(f"notebooks: {len(chosen)} pairs in sync and clean.")
    return 1 if stale or dirty else 0


def build(chosen: Sequence[Pair], run: bool = True) -> int:
    for pair in chosen:
        script = pair.source.read_text(encoding="utf-8")
        if with_first_cell(script) != script:
            pair.source.write_text(with_first_cell(script), encoding="utf-8")
        nb = synced(pair)
        if run:
            started = time.perf_counter()
            print(f"executing {pair.notebook.relative_to(ROOT)} ...", flush=True)
            execute(nb, pair.notebook.parent)
            print(f"  done in {time.perf_counter() - started:.0f} s", flush=True)
        pair.notebook.write_text(dumps(clean(nb)), encoding="utf-8")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labkit.dev.notebooks",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="lesson prefixes (e.g. 03 10); default: all")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a notebook or README block is stale")
    parser.add_argument("--no-execute", action="store_true",
                        help="sync and clean only (keeps the stored outputs)")
    args = parser.parse_args(argv)
    try:
        chosen = pairs(args.names)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.check:
        status = check(chosen)
        return max(status, blocks.update(ROOT, check=True, blocks=BLOCKS))
    build(chosen, run=not args.no_execute)
    return blocks.update(ROOT, blocks=BLOCKS)


if __name__ == "__main__":
    raise SystemExit(main())
