"""Measure the tables and plots of docs/benchmarks.rst, then copy them into docs/_static/benchmarks/.

    OMP_NUM_THREADS=1 python benchmarks/docs_benchmarks.py

Resumable: every step appends to benchmarks/results/<suite>/results.csv and skips what is
there. Steps (the default model, zero-shot):

- ``paper-t``: every classical method, 100 episodes per df; ICC compact and attention
  spectral clustering (hidden states, layer 9), 30 episodes per df;
- ``real``: every classical method, 30 episodes per data set; the two LLM methods, 20
  (on the shared 2-core machine a compact ICC fit of a 13-feature wine episode took 8.4 s
  on average, against 5.9 s on paper-t).

``--copy-only`` skips the measuring and only rewrites the tables, plots and copies.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from sklearn_icc.benchmarking import main as bench

OUT = "benchmarks/results"
DOCS = Path("docs/_static/benchmarks")
LLM_METHODS = ["icc-compact", "asc-hidden"]
STEPS = [
    ["paper-t", "--methods", "classical", "--episodes", "100"],
    ["paper-t", "--methods", *LLM_METHODS, "--episodes", "30", "--threads", "1"],
    ["real", "--methods", "classical", "--episodes", "30"],
    ["real", "--methods", *LLM_METHODS, "--episodes", "20", "--threads", "1"],
]


def main(argv):
    if "--copy-only" not in argv:
        for step in STEPS:
            print("\n## sklearn-icc bench " + " ".join(step + ["--out", OUT]), flush=True)
            bench(step + ["--out", OUT])
    DOCS.mkdir(parents=True, exist_ok=True)
    for suite in ("paper-t", "real"):
        bench([suite, "--out", OUT, "--report-only"])
        for name in ("accuracy.csv", "table.csv", "accuracy.png", "time.png"):
            shutil.copyfile(Path(OUT) / suite / name, DOCS / f"{suite}-{name}")
    print(f"copied the tables and plots to {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
