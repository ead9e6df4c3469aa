"""``python -m labkit.dev.smoke [--profile full] [--jobs N] [NN ...]``: every lesson notebook, end
to end, on the full profile's code path, in a few minutes on CPU and without internet.

The full profile (real CIFAR-10, VGG16 and ResNet50 with ImageNet weights) needs downloads, and
at its real sizes hours of CPU. A smoke run checks that its code path works:

1. stand-ins for the downloads are written into a temporary folder (``labkit.dev.standins``:
   a tiny CIFAR-10 archive in the real format, random-valued VGG16/ResNet50 no-top weights under
   the file names Keras looks for);
2. copies of the stored notebooks (``notebooks/NN_name.ipynb``; never the originals) are
   executed there, each in a fresh kernel, with ``LABKIT_PROFILE=full``, ``LABKIT_SMOKE=1``
   (tiny counts, 1 epoch, 64x64 base: ``labkit.config.smoke_profile``; verdicts printed, not
   asserted), ``LABKIT_DATA_DIR`` and ``KERAS_HOME`` on the stand-ins and ``LABKIT_CACHE_DIR``
   in the temporary folder;
3. per notebook it prints the seconds taken and the RESULT lines (``--jobs 2`` runs two kernels
   at a time: a smoke notebook is mostly single-threaded start-up and tracing). It exits 1 when a
   cell raises or shows an error, or when a lesson notebook (01 onwards) prints no RESULT line.

Accuracies on random pixels with random weights mean nothing; only "runs and reports" is tested.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from labkit.config import PROFILE_ENV, SMOKE_ENV
from labkit.dev.notebooks import pairs as lesson_pairs
from labkit.report import RESULT_PREFIX

CELL_TIMEOUT_S = 600
CACHE_ENV = "LABKIT_CACHE_DIR"


@dataclass(frozen=True)
class Outcome:
    """One notebook's smoke run."""

    name: str
    seconds: float
    results: tuple[str, ...]
    errors: tuple[str, ...]

    @property
    def is_lesson(self) -> bool:
        return self.name[:2] != "00"

    @property
    def failures(self) -> list[str]:
        found = list(self.errors)
        if self.is_lesson and not self.results:
            found.append(f"no {RESULT_PREFIX} line printed")
        return found


def smoke_env(standins_env: dict[str, str], cache_dir: Path, profile: str = "full") -> dict:
    """The variables a smoke run's kernels get."""
    return {**standins_env, PROFILE_ENV: profile, SMOKE_ENV: "1", CACHE_ENV: str(cache_dir)}


def _text(output: dict) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    data = output.get("data", {})
    return data.get("text/plain", "") if output.get("output_type") in (
        "execute_result", "display_data") else ""


def scan(nb) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The RESULT lines and the error outputs of an executed notebook."""
    results, errors = [], []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                errors.append(f"cell {index}: {output.get('ename')}: {output.get('evalue')}")
            text = _text(output)
            if isinstance(text, list):
                text = "".join(text)
            results += [line for line in text.splitlines() if line.startswith(RESULT_PREFIX)]
    return tuple(results), tuple(errors)


def run_notebook(path: Path, workdir: Path, timeout: int = CELL_TIMEOUT_S) -> Outcome:
    """Execute a copy of ``path`` in ``workdir`` (the kernel inherits ``os.environ``)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:  # the stored outputs must not count as this run's
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    copy = workdir / path.name
    nbformat.write(nb, copy)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}})
    start = time.perf_counter()
    failure = []
    try:
        client.execute()
    except CellExecutionError as err:
        failure.append(str(err).strip().splitlines()[-1][:500] if str(err).strip() else repr(err))
    except Exception as err:  # noqa: BLE001 (kernel died, timeout, ...): report, go on
        failure.append(f"{type(err).__name__}: {str(err)[:500]}")
    seconds = time.perf_counter() - start
    nbformat.write(nb, copy)
    results, errors = scan(nb)
    return Outcome(path.stem, seconds, results, errors or tuple(failure))


def _report(outcome: Outcome) -> None:
    status = "FAILED" if outcome.failures else "ok"
    lines = [f"smoke: {outcome.name}: {status} in {outcome.seconds:.0f} s"]
    lines += [f"    {line}" for line in outcome.results]
    lines += [f"    ERROR {failure}" for failure in outcome.failures]
    print("\n".join(lines), flush=True)


# Lesson numbers by their smoke-run seconds, longest first (measured with --jobs 2 on 2 cores:
# 11 about 280 s, 02 about 245 s, ..., 00 about 10 s). With several kernels the long ones start
# first, so no kernel is left running one long notebook alone at the end.
LONGEST_FIRST = ("11", "02", "07", "10", "01", "09", "12", "03", "08", "04", "05", "06", "00")


def longest_first(paths: Sequence[Path]) -> list[Path]:
    """``paths`` in ``LONGEST_FIRST`` order; a notebook not listed there goes first (its cost is
    unknown, so it may be long)."""
    rank = {number: i for i, number in enumerate(LONGEST_FIRST)}
    return sorted(paths, key=lambda path: rank.get(path.name[:2], -1))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", metavar="NN",
                        help="notebook number prefixes (default: all)")
    parser.add_argument("--profile", default="full", help="profile to smoke-run (default full)")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (executed copies)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="notebooks executed at a time, each in its own kernel (default 1)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        print(f"error: --jobs must be >= 1, got {args.jobs}", file=sys.stderr)
        return 2
    try:
        chosen = [pair.notebook for pair in lesson_pairs(args.notebooks)]
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    from labkit.dev import standins

    with tempfile.TemporaryDirectory(prefix="labkit-smoke-") as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        made = standins.write(work / "standins")
        env = smoke_env(made.env(), work / "cache", args.profile)
        os.environ.update(env)
        print(f"smoke: stand-ins written in {time.perf_counter() - t0:.0f} s; "
              + " ".join(f"{k}={v}" for k, v in env.items()), flush=True)
        copies = work / "notebooks"
        copies.mkdir(exist_ok=True)
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            running = [pool.submit(run_notebook, path, copies) for path in longest_first(chosen)]
            for future in as_completed(running):
                _report(future.result())
        outcomes = [future.result() for future in running]
        total = time.perf_counter() - t0
    failed = [o.name for o in outcomes if o.failures]
    print(f"smoke: {len(outcomes) - len(failed)}/{len(outcomes)} notebooks ok in {total:.0f} s "
          f"(profile {args.profile}, smoke run)" + (f"; FAILED: {', '.join(failed)}"
                                                     if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
