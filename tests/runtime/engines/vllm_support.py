"""Shared by the vLLM tests: seeded Table 1 episodes, the in-process reference, label agreement."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sklearn_icc.datasets import make_mixture

ROOT = Path(__file__).resolve().parents[3]
N_EPISODES = 24


def require_vllm():
    """Import vLLM, or skip with the reason; ``SKLEARN_ICC_REQUIRE_VLLM=1`` (``make test-engines``)
    turns a missing vLLM into a failure, so that job cannot pass by skipping."""
    if os.environ.get("SKLEARN_ICC_REQUIRE_VLLM") == "1":
        import vllm  # noqa: F401

        return
    pytest.importorskip("vllm", reason="vLLM is not installed here; `make test-engines` runs these in .venv-vllm")


def table1_episodes(count=N_EPISODES, seed=0):
    """The Table 1 setting: d=3, k=3, n in [10, 50], Student-t noise, df cycling 1, 2, 5."""
    rng = np.random.default_rng(seed)
    dfs = (1.0, 2.0, 5.0)
    return [make_mixture(int(rng.integers(10, 51)), 3, 3, df=dfs[i % 3], random_state=int(rng.integers(2**31 - 1)))[0]
            for i in range(count)]


def run_reference(*args):
    """Run inprocess_reference.py with the main venv's python (sklearn-icc's own transformers)."""
    python = os.environ.get("SKLEARN_ICC_REFERENCE_PYTHON")
    if not python:
        pytest.fail("Set SKLEARN_ICC_REFERENCE_PYTHON to a python with sklearn-icc's own transformers "
                    "(make test-engines sets the main .venv's).")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    subprocess.run([python, str(Path(__file__).with_name("inprocess_reference.py")), *map(str, args)],
                   check=True, cwd=ROOT, env=env, timeout=900)


def inprocess_reference(X_list, tmp_path, adapter=None):
    """The in-process engine's labels, probabilities and prompt ids (the adapter merged, if any)."""
    episodes, out = tmp_path / "episodes.npz", tmp_path / "reference.json"
    np.savez(episodes, count=len(X_list), **{f"X{i}": X for i, X in enumerate(X_list)})
    run_reference(episodes, out, *([adapter] if adapter else []))
    return json.loads(out.read_text())


def agreement(reference, labels, tie_tolerance=1e-3):
    """``(n_equal, ties, other)``: episodes whose labels differ are ties when, at the first
    point where they differ, the in-process probabilities of the two labels are within
    ``tie_tolerance`` (the decoders then differ by floating-point rounding)."""
    equal, ties, other = 0, [], []
    for e, (expected, got) in enumerate(zip(reference["labels"], labels)):
        got = list(map(int, got))
        if got == expected:
            equal += 1
            continue
        i = next(j for j, (a, b) in enumerate(zip(expected, got)) if a != b)
        row = reference["probabilities"][e][i]
        gap = abs(row[expected[i]] - row[got[i]])
        (ties if gap <= tie_tolerance else other).append((e, i, round(gap, 6)))
    print(f"\nlabel agreement: {equal}/{len(labels)} episodes equal; ties {ties}; other differences {other}",
          file=sys.stderr)
    return equal, ties, other
