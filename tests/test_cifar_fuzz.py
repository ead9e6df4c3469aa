"""Fuzzing labkit.cifar's batch reader: damaged batches give a clear error or a correct read.

Mutated and truncated copies of the tiny fixture's batches are read in a subprocess, so a
segfault (NumPy 2.4 crashes on some malformed dtype states) fails this test instead of killing
pytest, and so the subprocess's peak memory can be checked (no amplification). ~400 mutations,
a few seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FUZZ = textwrap.dedent(r"""
    import json, pickletools, sys, tracemalloc
    from pathlib import Path
    import numpy as np
    from labkit import cifar

    work, n_mutations, seed = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    folder = cifar.write_fixture(work, n_per_batch=2, seed=seed)
    rng = np.random.default_rng(seed)
    outcomes, unexpected = {}, []
    originals = {name: (folder / name).read_bytes()
                 for name in ("data_batch_1", "test_batch", "batches.meta")}
    expected = {name: cifar.read_batch(folder / name) for name in ("data_batch_1", "test_batch")}

    def opcode_positions(payload):
        return [pos for _, _, pos in pickletools.genops(payload)]

    def mutate(payload):
        b = bytearray(payload)
        kind = rng.integers(7)
        ops = opcode_positions(payload)
        if kind == 0:  # truncate
            return bytes(b[: rng.integers(len(b))]), "truncate"
        if kind == 1:  # flip a bit near an opcode (dtype, shape, codec, labels)
            pos = min(int(rng.choice(ops)) + int(rng.integers(0, 6)), len(b) - 1)
            b[pos] ^= 1 << int(rng.integers(8))
            return bytes(b), "flip"
        if kind == 2:  # random byte anywhere
            b[rng.integers(len(b))] = rng.integers(256)
            return bytes(b), "byte"
        if kind == 3:  # replace an opcode byte by another opcode
            pos = int(rng.choice(ops))
            b[pos] = int(rng.choice(list(b"}](tRbhqXKJMN.\x85\x86\x87\x88\x89cue")))
            return bytes(b), "opcode"
        if kind == 4:  # duplicate a slice (repeated BUILD, APPENDS, ...)
            i = int(rng.integers(len(b)))
            j = min(len(b), i + int(rng.integers(1, 40)))
            return bytes(b[:j] + b[i:j] + b[j:]), "duplicate"
        if kind == 5:  # delete a slice
            i = int(rng.integers(len(b)))
            return bytes(b[:i] + b[i + int(rng.integers(1, 20)):]), "delete"
        # overwrite an int argument with an extreme value
        pos = min(int(rng.choice(ops)) + 1, len(b) - 4)
        b[pos:pos + 4] = bytes(rng.choice([b"\xff\xff\xff\x7f", b"\x00\x00\x00\x80",
                                           b"\xff\xff\xff\xff", b"\x00\x00\x00\x00"]))
        return bytes(b), "extreme"

    tracemalloc.start()
    for i in range(n_mutations):
        name = ("data_batch_1", "test_batch", "batches.meta")[i % 3]
        payload, kind = mutate(originals[name])
        path = folder / name
        path.write_bytes(payload)
        try:
            if name == "batches.meta":
                names = cifar.read_class_names(folder)
                assert all(isinstance(n, str) for n in names)
                outcome = "read"
            else:
                x, y = cifar.read_batch(path)
                assert x.dtype == np.uint8 and x.ndim == 4 and x.shape[1:] == (32, 32, 3)
                assert y.dtype == np.int64 and y.shape == (len(x),)
                assert y.min() >= 0 and y.max() <= 9
                outcome = "read"
        except cifar.CorruptBatchError as err:
            assert str(path) in str(err), err
            outcome = "CorruptBatchError"
        except Exception as err:  # anything else is a bug: not a clear error naming the file
            unexpected.append(f"{kind} {name}: {type(err).__name__}: {err}"[:300])
            outcome = type(err).__name__
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        path.write_bytes(originals[name])
    print(json.dumps({"outcomes": outcomes, "unexpected": unexpected,
                      "peak_mb": tracemalloc.get_traced_memory()[1] // 2**20}))
""")


def run_fuzz(tmp_path: Path, n_mutations: int, seed: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", FUZZ, str(tmp_path), str(n_mutations), str(seed)],
        capture_output=True, text=True, timeout=120, env=env, cwd=ROOT,
    )
    assert proc.returncode == 0, (
        f"the reader crashed the process (exit {proc.returncode}; negative = killed by a "
        f"signal, -11 a segfault):\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("seed", [0, 1])
def test_mutated_batches_give_a_clear_error_or_a_correct_read(tmp_path, seed):
    report = run_fuzz(tmp_path, n_mutations=200, seed=seed)
    assert report["unexpected"] == [], "\n".join(report["unexpected"])
    assert sum(report["outcomes"].values()) == 200
    assert report["outcomes"].get("CorruptBatchError", 0) > 50  # the mutations do damage
    assert report["peak_mb"] < 50, report  # no memory amplification (the fixture is ~10 KB)
