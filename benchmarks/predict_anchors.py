"""predict with every fitted point as an anchor, or with representatives of each cluster.

When the fitted points fill the context window, ``InContextClustering.predict`` writes
up to ``chunk_size // (2 k)`` representatives of each cluster (those nearest its
coordinate-wise median; 8 per cluster for k=3 and the default chunk of 50) instead of
every fitted point. This measures, on fits small enough for both, how often the two
give the same labels, and how accurate each is::

    OMP_NUM_THREADS=1 python benchmarks/predict_anchors.py --episodes 10

Measured (2026-12-01, default model, compact format, k=3, d=2, df=5, 60 fitted and 20
new points per episode, 10 episodes, 1 thread on a heavily shared machine)::

    | anchors | agreement with all | ACC | ARI | predict seconds |
    |---|---|---|---|---|
    | all 60 fitted points | 1.000 | 0.535 | -0.028 | 9.27 |
    | representatives (13.6 on average) | 0.725 | 0.565 | -0.004 | 5.49 |

Zero-shot, the default model labels new points at chance either way (ARI about 0), so
the agreement (72.5% of new points get the same label) says how much the anchors
change the answer, not which is better; that needs a model that clusters.
"""

import argparse
import time

import numpy as np
from sklearn.metrics import adjusted_rand_score

from sklearn_icc import InContextClustering
from sklearn_icc.cluster._episodes import DEFAULT_CHUNK_SIZE, label_after_anchors, representatives
from sklearn_icc.datasets import make_mixture
from sklearn_icc.metrics import clustering_accuracy


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--model", default="default")
    parser.add_argument("--point-format", default="compact")
    args = parser.parse_args()
    k, rows = 3, []
    for seed in range(args.episodes):
        X, y = make_mixture(80, k, 2, df=5.0, random_state=seed)
        icc = InContextClustering(k, model=args.model, point_format=args.point_format, device="cpu").fit(X[:60])
        loaded, spec = icc._resolve_runtime()
        keep = representatives(icc.X_fit_, icc.labels_, DEFAULT_CHUNK_SIZE, k)
        start = time.perf_counter()
        every, _ = label_after_anchors(icc.X_fit_, icc.labels_, X[60:], k, loaded, spec)
        middle = time.perf_counter()
        some, _ = label_after_anchors(icc.X_fit_[keep], icc.labels_[keep], X[60:], k, loaded, spec)
        end = time.perf_counter()
        rows.append((np.mean(every == some), clustering_accuracy(y[60:], every), adjusted_rand_score(y[60:], every),
                     clustering_accuracy(y[60:], some), adjusted_rand_score(y[60:], some), middle - start,
                     end - middle, len(keep)))
    r = np.array(rows)
    print(f"{args.episodes} episodes, k={k}, 60 fitted + 20 new points, {args.point_format} format")
    print("| anchors | agreement with all | ACC | ARI | predict seconds |")
    print("|---|---|---|---|---|")
    print(f"| all 60 fitted points | 1.000 | {r[:, 1].mean():.3f} | {r[:, 2].mean():.3f} | {r[:, 5].mean():.2f} |")
    print(f"| representatives ({r[:, 7].mean():.1f} on average) | {r[:, 0].mean():.3f} | {r[:, 3].mean():.3f} | "
          f"{r[:, 4].mean():.3f} | {r[:, 6].mean():.2f} |")


if __name__ == "__main__":
    main()
