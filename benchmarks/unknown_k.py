"""An unknown number of clusters, and more than ten of them.

    python benchmarks/unknown_k.py unknown-k --noise separated --episodes 10
    python benchmarks/unknown_k.py unknown-k --noise overlapping --episodes 10
    python benchmarks/unknown_k.py many --n 200 --ks 20 50

``unknown-k``: Gaussian blobs (``sklearn.datasets.make_blobs``) in d=2, k from 2 to 8,
``--per-cluster`` (8) points in each cluster (balanced, so that every cluster can be
found), centres uniform in [-10, 10]^2, ``--episodes`` seeded episodes per k.
``separated``: standard deviation 0.5; ``overlapping``: 1.5. Every method is told at
most ``--max-clusters`` (10):

- ICC: ``InContextClustering(None, max_clusters=10)`` on the default model, zero-shot:
  a prompt that states no k, constrained decoding that may open labels up to
  max_clusters;
- ASC: ``AttentionSpectralClustering(None, max_clusters=10)`` with ``layer=9`` (the
  default) and ``layer="auto"``, computed as the estimator does from one forward pass
  of the k-free prompt (:func:`layer_affinities`): k from the layer's eigengap
  (:func:`estimate_n_clusters`); "auto" takes the layer whose own eigengap is largest;
- GaussianMixture with the lowest BIC over k = 1..max_clusters;
- KMeans with the best silhouette over k = 2..max_clusters;
- HDBSCAN (min_cluster_size=4); its noise points are not a cluster.

Reported per method: the share of episodes whose k is right, mean |k found - k|, and
mean ARI of the labels (HDBSCAN's noise as one more label).

``many``: k = 20 and 50 (``--ks``), ``--n`` points (d=2, normal noise of scale 0.5,
centres in [-50, 50]^2), ICC with ``n_clusters=k`` on the default model: seconds,
whether the labels are valid (int64, one per point, canonical, in 0..k-1, probability
rows summing to 1), how many clusters it used, ACC and ARI; KMeans beside it.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from sklearn.cluster import HDBSCAN, KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.mixture import GaussianMixture

from sklearn_icc import InContextClustering, clustering_accuracy
from sklearn_icc.cluster import estimate_n_clusters, layer_affinities
from sklearn_icc.cluster._affinity import score_layers, spectral_labels
from sklearn_icc.cluster._attention import DEFAULT_LAYER
from sklearn_icc.datasets import make_mixture
from sklearn_icc.runtime import canonical_labels, load_model

NOISE_SCALES = {"separated": 0.5, "overlapping": 1.5}


def icc_unknown_k(model, X, max_clusters):
    return InContextClustering(None, max_clusters=max_clusters, model=model, device="cpu").fit(X).labels_


def asc_unknown_k(model, X, max_clusters, seed):
    """AttentionSpectralClustering(None, layer=9) and (None, layer="auto"), from one forward pass."""
    affinities = layer_affinities(X, None, model=model, layers="all", affinity="hidden", device="cpu")
    fixed = affinities[DEFAULT_LAYER]
    k_fixed = estimate_n_clusters(fixed, max_clusters)
    scores = score_layers(affinities, None, max_clusters=max_clusters)
    best = max(scores, key=scores.get)
    k_best = estimate_n_clusters(affinities[best], max_clusters)
    return (spectral_labels(fixed, k_fixed, random_state=seed),
            spectral_labels(affinities[best], k_best, random_state=seed))


def gmm_bic(X, max_clusters, seed):
    fits = [GaussianMixture(k, random_state=seed).fit(X) for k in range(1, max_clusters + 1)]
    return min(fits, key=lambda g: g.bic(X)).predict(X)


def kmeans_silhouette(X, max_clusters, seed):
    best, best_score = None, -np.inf
    for k in range(2, min(max_clusters, len(X) - 1) + 1):
        labels = KMeans(k, n_init=10, random_state=seed).fit_predict(X)
        score = silhouette_score(X, labels)
        if score > best_score:
            best, best_score = labels, score
    return best


def n_found(labels):
    return len(set(int(v) for v in labels) - {-1})


def unknown_k(args):
    loaded = load_model(args.model, device="cpu")
    rows = {}
    start = time.perf_counter()
    for k in range(2, 9):
        for episode in range(args.episodes):
            seed = 1000 * k + episode
            X, y = make_blobs([args.per_cluster] * k, 2, cluster_std=NOISE_SCALES[args.noise],
                              center_box=(-10.0, 10.0), random_state=seed)
            timed = {}
            t = time.perf_counter()
            timed["ICC (zero-shot, n_clusters=None)"] = icc_unknown_k(args.model, X, args.max_clusters)
            icc_seconds = time.perf_counter() - t
            fixed, auto = asc_unknown_k(args.model, X, args.max_clusters, seed)
            timed[f"ASC hidden, layer {DEFAULT_LAYER}"] = fixed
            timed["ASC hidden, auto layer"] = auto
            timed["GaussianMixture, BIC"] = gmm_bic(X, args.max_clusters, seed)
            timed["KMeans, silhouette"] = kmeans_silhouette(X, args.max_clusters, seed)
            timed["HDBSCAN"] = HDBSCAN(min_cluster_size=4, copy=True).fit_predict(X)
            for name, labels in timed.items():
                rows.setdefault(name, []).append((k, n_found(labels), adjusted_rand_score(y, labels)))
            print(f"k={k} episode {episode}: ICC found {n_found(timed['ICC (zero-shot, n_clusters=None)'])} "
                  f"({icc_seconds:.1f} s), {time.perf_counter() - start:.0f} s so far", flush=True)
    print(f"\nUnknown k, {args.noise} blobs (sd {NOISE_SCALES[args.noise]}), d=2, {args.per_cluster} points per cluster, "
          f"{args.episodes} episodes per k, max_clusters={args.max_clusters}, model {loaded.name}\n")
    print("| method | " + " | ".join(f"k={k} right" for k in range(2, 9)) + " | right | mean abs(k found - k) | mean k found | ARI |")
    print("|---|" + "---|" * 11)
    for name, values in rows.items():
        v = np.array(values, dtype=float)
        right = v[:, 0] == v[:, 1]
        per_k = [right[v[:, 0] == k].mean() for k in range(2, 9)]
        print(f"| {name} | " + " | ".join(f"{r:.1f}" for r in per_k)
              + f" | {right.mean():.2f} | {np.abs(v[:, 0] - v[:, 1]).mean():.2f} | {v[:, 1].mean():.2f} | {v[:, 2].mean():.3f} |")
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


def valid(labels, probabilities, n, k):
    return bool(
        labels.dtype == np.int64 and labels.shape == (n,) and labels.min() >= 0 and labels.max() < k
        and np.array_equal(labels, canonical_labels(labels)) and probabilities.shape == (n, k)
        and np.allclose(probabilities.sum(axis=1), 1.0)
    )


def many(args):
    from sklearn_icc import in_context_clustering

    load_model(args.model, device="cpu")
    print(f"| k | n | method | seconds | valid | clusters used | ACC | ARI |\n|---|---|---|---|---|---|---|---|")
    for k in args.ks:
        X, y = make_mixture(args.n, k, 2, dist="normal", scale=0.5, center_box=(-50.0, 50.0), random_state=k)
        start = time.perf_counter()
        labels, probabilities = in_context_clustering(X, k, model=args.model, device="cpu")
        seconds = time.perf_counter() - start
        ok = valid(labels, probabilities, args.n, k)
        print(f"| {k} | {args.n} | ICC (default model, zero-shot) | {seconds:.1f} | {ok} | {n_found(labels)} | "
              f"{clustering_accuracy(y, labels):.3f} | {adjusted_rand_score(y, labels):.3f} |", flush=True)
        start = time.perf_counter()
        labels = KMeans(k, n_init=10, random_state=0).fit_predict(X)
        seconds = time.perf_counter() - start
        print(f"| {k} | {args.n} | KMeans | {seconds:.2f} | - | {n_found(labels)} | "
              f"{clustering_accuracy(y, labels):.3f} | {adjusted_rand_score(y, labels):.3f} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default")
    parser.add_argument("--threads", type=int, default=1)
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("unknown-k")
    a.add_argument("--noise", choices=sorted(NOISE_SCALES), default="separated")
    a.add_argument("--episodes", type=int, default=10)
    a.add_argument("--per-cluster", type=int, default=8)
    a.add_argument("--max-clusters", type=int, default=10)
    b = sub.add_parser("many")
    b.add_argument("--n", type=int, default=200)
    b.add_argument("--ks", type=int, nargs="+", default=[20, 50])
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    unknown_k(args) if args.command == "unknown-k" else many(args)


if __name__ == "__main__":
    main()
