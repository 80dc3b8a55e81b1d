"""Order sensitivity (the paper's Table 5 setting) and clustering more points than a prompt holds.

    python benchmarks/order_and_scale.py order --episodes 10
    python benchmarks/order_and_scale.py scale --n 1000

``order``: k=2, d=3, Student-t df=1, n in [10, 50]. Each episode is clustered under 5
random row orders, with ``n_orderings=1`` and with consensus over ``n_orderings=3``;
reported: mean accuracy/ARI and the mean over episodes of the SD across the 5 orders.
``scale``: n points (d=3, k=3, df=2) clustered with chunking, against the same points
cut into episodes of 50 and clustered one prompt each. Reports seconds and ACC/ARI.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from sklearn_icc import InContextClustering, clustering_accuracy
from sklearn_icc.datasets import make_mixture


def order(args):
    rows = {}
    for episode in range(args.episodes):
        rng = np.random.default_rng([args.seed, episode])
        X, y = make_mixture(int(rng.integers(10, 51)), 2, 3, df=1.0, random_state=int(rng.integers(2**31)))
        perms = [rng.permutation(len(y)) for _ in range(5)]
        for name, params in (("ICC", {}), ("ICC, consensus of 3 orders", {"n_orderings": 3}),
                             ("KMeans", None)):
            accs, aris = [], []
            for i, perm in enumerate(perms):
                if params is None:
                    labels = KMeans(2, n_init=10, random_state=i).fit_predict(X[perm])
                else:
                    est = InContextClustering(2, model=args.model, point_format=args.point_format, random_state=i, **params)
                    labels = est.fit_predict(X[perm])
                accs.append(clustering_accuracy(y[perm], labels))
                aris.append(adjusted_rand_score(y[perm], labels))
            rows.setdefault(name, []).append((np.mean(accs), np.std(accs), np.mean(aris), np.std(aris)))
        print(f"episode {episode} done", flush=True)
    print(f"\nTable 5 setting (k=2, d=3, df=1), {args.episodes} episodes x 5 row orders, point_format={args.point_format}\n")
    print("| method | ACC | SD of ACC across orders | ARI | SD of ARI across orders |")
    print("|---|---|---|---|---|")
    for name, values in rows.items():
        v = np.array(values)
        print(f"| {name} | {v[:, 0].mean():.3f} | {v[:, 1].mean():.3f} | {v[:, 2].mean():.3f} | {v[:, 3].mean():.3f} |")


def scale(args):
    X, y = make_mixture(args.n, 3, 3, df=2.0, random_state=args.seed)
    start = time.perf_counter()
    labels = InContextClustering(3, model=args.model, point_format=args.point_format, random_state=0).fit_predict(X)
    chunked = time.perf_counter() - start
    print(f"| ICC, {args.n} points, chunked | {clustering_accuracy(y, labels):.3f} | "
          f"{adjusted_rand_score(y, labels):.3f} | {chunked:.1f} |")
    start = time.perf_counter()
    accs, aris = [], []
    for part in np.array_split(np.random.default_rng(args.seed).permutation(args.n), args.n // 50):
        part_labels = InContextClustering(3, model=args.model, point_format=args.point_format).fit_predict(X[part])
        accs.append(clustering_accuracy(y[part], part_labels))
        aris.append(adjusted_rand_score(y[part], part_labels))
    episodes = time.perf_counter() - start
    print(f"| ICC, episodes of 50 (mean over episodes) | {np.mean(accs):.3f} | {np.mean(aris):.3f} | {episodes:.1f} |")
    km = KMeans(3, n_init=10, random_state=0).fit_predict(X)
    print(f"| KMeans, {args.n} points | {clustering_accuracy(y, km):.3f} | {adjusted_rand_score(y, km):.3f} | |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["order", "scale"])
    parser.add_argument("--model", default="default")
    parser.add_argument("--point-format", default="compact")
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.what == "order":
        order(args)
    else:
        print("| method | ACC | ARI | seconds |\n|---|---|---|---|")
        scale(args)


if __name__ == "__main__":
    main()
