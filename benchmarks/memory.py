"""Peak resident memory of one default-model fit of each estimator, a fresh process per case.

    python benchmarks/memory.py --n 50

Each case runs in its own Python process (so one case's memory does not count in the
next), loads the default model (SmolLM2-135M-Instruct, float32 on the CPU, from the
converted cache), fits ``n`` points (Student-t mixture, d=3, k=3) and reports its peak
RSS (``resource.getrusage``: ``ru_maxrss``), with the RSS after the imports and after
the load for scale. Goal: at most 2 GB.

Measured (2 shared CPU cores, torch 2.13 CPU, Dec 2026; ``python benchmarks/memory.py
--n 50`` and ``--n 200``), peak RSS in GiB:

========================================  ======  =======
case                                      n=50    n=200
========================================  ======  =======
InContextClustering                       1.08    1.57
AttentionSpectralClustering (hidden)      0.93    0.93
AttentionSpectralClustering (attention)   0.94    1.83
========================================  ======  =======

0.93 GiB is the loaded model (the float32 weights are 0.50 GiB of it), 0.17 GiB the
imports. The prompt's forward pass adds the rest: with ``affinity="attention"`` the
eager attention of one layer, heads x tokens x tokens floats (200 points are about
3,700 tokens), so at n=200 it is near the 2 GB goal (1.83 GiB = 1.97 GB) and above it
for more points.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CASES = {
    "InContextClustering": "InContextClustering(n_clusters=3, device='cpu')",
    "AttentionSpectralClustering (hidden)": "AttentionSpectralClustering(n_clusters=3, affinity='hidden', device='cpu')",
    "AttentionSpectralClustering (attention)":
        "AttentionSpectralClustering(n_clusters=3, affinity='attention', device='cpu')",
}

CHILD = """
import json, resource, sys, time
def rss_gib():  # ru_maxrss is in KiB on Linux (bytes on macOS)
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**30
import numpy as np
from sklearn_icc import AttentionSpectralClustering, InContextClustering
from sklearn_icc.datasets import make_mixture
from sklearn_icc.runtime import load_model
after_imports = rss_gib()
load_model("default", device="cpu")
after_load = rss_gib()
X, y = make_mixture({n}, 3, 3, df=2.0, random_state=0)
start = time.perf_counter()
labels = {estimator}.fit(X).labels_
print(json.dumps({{"after_imports": after_imports, "after_load": after_load, "peak": rss_gib(),
                  "fit_seconds": time.perf_counter() - start, "n_labels": len(labels)}}))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50, help="points per fit")
    args = parser.parse_args()
    print(f"n={args.n}, d=3, k=3; GiB")
    print(f"{'case':<42} {'imports':>8} {'loaded':>8} {'peak':>8} {'fit s':>7}")
    for name, estimator in CASES.items():
        code = CHILD.format(n=args.n, estimator=estimator)
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"{name} failed:\n{done.stderr}")
        row = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{name:<42} {row['after_imports']:8.2f} {row['after_load']:8.2f} {row['peak']:8.2f} "
              f"{row['fit_seconds']:7.1f}")


if __name__ == "__main__":
    main()
