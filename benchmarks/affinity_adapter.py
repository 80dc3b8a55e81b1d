"""The affinity adapter against classical clustering: Table 1 dfs, real data, fit time, unknown k.

    OMP_NUM_THREADS=1 python benchmarks/affinity_adapter.py [--adapter DIR ...] [--sections table1,real,speed,unknown_k,beyond,readout,views]

Table 1: for each df, ``--episodes`` seeded mixtures (d=3, k=3, n uniform in 10-50,
Student-t noise; df 1.25, 1.5 and 1.75 are never trained on), the same episodes for
every method: each ``--adapter`` folder (default: the shipped one; give several to
compare compressions) with spectral clustering on its learned affinity, KMeans
(n_init=10), GaussianMixture, spectral clustering on a kNN graph, HDBSCAN (noise as
one more cluster). Real data: iris, wine and breast cancer, standardised; the adapter
takes 4 features, so it reads their first 4 principal components (the classical
methods read all features, and PCA(4) too). Speed: the median fit time of
``AttentionSpectralClustering(3)`` on n=50 (d=3) after a warm-up. Unknown k: the share
of episodes (k 2-5) whose k is found, by the eigengap of the learned affinity, by HDBSCAN
and by KMeans with the best silhouette. Beyond the grid: k 8 and 10 (n=100) and n=200
(k=3), df=2. Readout (on request): KMeans on the head's vectors. Views (on request): the
affinity averaged over 1, 2, 4 and 8 signed permutations of the features. Prints
markdown tables.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.cluster import HDBSCAN, KMeans, SpectralClustering
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, silhouette_score
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import StandardScaler

from sklearn_icc.cluster import estimate_n_clusters
from sklearn_icc.cluster._affinity import spectral_labels
from sklearn_icc.datasets import make_mixture
from sklearn_icc.metrics import clustering_accuracy
from sklearn_icc.runtime import load_model
from sklearn_icc.runtime.capture.learned import learned_affinities
from sklearn_icc.runtime.model.affinity_files import SHIPPED_AFFINITY_DIR

DFS = (1.0, 1.25, 1.5, 1.75, 2.0, 5.0, 100.0)
SEED = 2026  # the benchmark's episodes; training draws (seed, index) and the curve (seed, 99, ...)


def episodes_for(df_index, df, n_episodes, k=3, d=3):
    out = []
    for i in range(n_episodes):
        rng = np.random.default_rng([SEED, df_index, i])
        n = int(rng.integers(10, 51))
        out.append(make_mixture(n, k, d, df=df, random_state=int(rng.integers(2**31 - 1))))
    return out


def classical(k, n):
    return {
        "KMeans": lambda X: KMeans(k, n_init=10, random_state=0).fit_predict(X),
        "GaussianMixture": lambda X: GaussianMixture(k, random_state=0).fit_predict(X),
        "kNN-graph spectral": lambda X: SpectralClustering(
            k, affinity="nearest_neighbors", n_neighbors=min(10, len(X) - 1), random_state=0).fit_predict(X),
        "HDBSCAN": lambda X: HDBSCAN(min_cluster_size=max(2, min(5, len(X) // (2 * k)))).fit_predict(X),
    }


def scores(y, labels):
    labels = np.asarray(labels)
    if (labels < 0).any():  # HDBSCAN noise: one more cluster
        labels = np.where(labels < 0, labels.max() + 1, labels)
    return clustering_accuracy(y, labels), adjusted_rand_score(y, labels), normalized_mutual_info_score(y, labels)


def adapter_labels(adapter, loaded, episodes, k, n_views=None):
    affinities = learned_affinities([X for X in episodes], adapter, loaded, n_views=n_views)
    return [spectral_labels(A, k, random_state=0) for A in affinities]


def table1(adapters, loaded, n_episodes):
    rows = {}
    data = {df: episodes_for(j, df, n_episodes) for j, df in enumerate(DFS)}
    for name, adapter in adapters.items():  # one adapter at a time: each holds a copy of the layers
        for df, episodes in data.items():
            labels = adapter_labels(adapter, loaded, [X for X, _ in episodes], 3)
            rows.setdefault(name, {})[df] = np.mean([scores(y, l) for (_, y), l in zip(episodes, labels)], axis=0)
        print(f"# {name} done", flush=True)
    for df, episodes in data.items():
        for name, method in classical(3, None).items():
            rows.setdefault(name, {})[df] = np.mean([scores(y, method(X)) for X, y in episodes], axis=0)
    header = "| method | " + " | ".join(f"df={df:g}" for df in DFS) + " |"
    print(f"\nTable 1 dfs, {n_episodes} episodes each (d=3, k=3, n 10-50): ACC / ARI / NMI\n")
    print(header)
    print("|" + "---|" * (len(DFS) + 1))
    for name, by_df in rows.items():
        print(f"| {name} | " + " | ".join("{:.3f} / {:.3f} / {:.3f}".format(*by_df[df]) for df in DFS) + " |")
    return rows


def real(adapters, loaded):
    from sklearn.datasets import load_breast_cancer, load_iris, load_wine

    print("\nReal data, standardised: ACC / ARI / NMI (adapter: first 4 principal components)\n")
    print("| method | iris (n=150, d=4) | wine (n=178, d=13) | breast cancer (n=569, d=30) |")
    print("|---|---|---|---|")
    results = {}
    for loader in (load_iris, load_wine, load_breast_cancer):
        X, y = loader(return_X_y=True)
        X = StandardScaler().fit_transform(X)
        X4 = PCA(4, random_state=0).fit_transform(X) if X.shape[1] > 4 else X
        k = len(np.unique(y))
        for name, adapter in adapters.items():
            (labels,) = adapter_labels(adapter, loaded, [X4], k)
            results.setdefault(name, []).append(scores(y, labels))
        for name, method in classical(k, len(X)).items():
            results.setdefault(name, []).append(scores(y, method(X)))
            if X.shape[1] > 4:
                results.setdefault(name + " on PCA(4)", []).append(scores(y, method(X4)))
            else:
                results.setdefault(name + " on PCA(4)", []).append(scores(y, method(X)))
    for name, row in results.items():
        print(f"| {name} | " + " | ".join("{:.3f} / {:.3f} / {:.3f}".format(*s) for s in row) + " |")


def speed(repeats=10):
    from sklearn_icc import AttentionSpectralClustering

    X, _ = make_mixture(50, 3, 3, df=1.0, random_state=0)
    AttentionSpectralClustering(3, random_state=0).fit(X)  # loads the model and the adapter
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        asc = AttentionSpectralClustering(3, random_state=0).fit(X)
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(repeats):
        KMeans(3, n_init=10, random_state=0).fit(X)
    kmeans = (time.perf_counter() - start) / repeats
    print(f"\nFit time, n=50, d=3 (adapter_={asc.adapter_!r}): median {np.median(times):.3f} s "
          f"(min {min(times):.3f}), KMeans(n_init=10) {kmeans:.3f} s\n")


def unknown_k(adapters, loaded, n_episodes):
    print(f"\nUnknown k: share of {n_episodes} episodes per df (k 2-5, d=3, n 10-50) whose k is found\n")
    print("| method | " + " | ".join(f"df={df:g}" for df in (1.0, 2.0, 5.0)) + " |")
    print("|---|---|---|---|")
    rows = {}
    for j, df in enumerate((1.0, 2.0, 5.0)):
        data = []
        for i in range(n_episodes):
            rng = np.random.default_rng([SEED, 50 + j, i])
            k, n = int(rng.integers(2, 6)), int(rng.integers(10, 51))
            data.append(make_mixture(n, k, 3, df=df, random_state=int(rng.integers(2**31 - 1))))
        truth = [len(np.unique(y)) for _, y in data]
        for name, adapter in adapters.items():
            affinities = learned_affinities([X for X, _ in data], adapter, loaded)
            found = [estimate_n_clusters(A, 10) for A in affinities]
            rows.setdefault(name + " (eigengap)", []).append(np.mean(np.equal(found, truth)))
        found = [len(set(HDBSCAN(min_cluster_size=5).fit_predict(X)) - {-1}) for X, _ in data]
        rows.setdefault("HDBSCAN", []).append(np.mean(np.equal(found, truth)))
        found = []
        for X, _ in data:
            ks = range(2, min(10, len(X) - 1) + 1)
            sil = [silhouette_score(X, KMeans(k, n_init=10, random_state=0).fit_predict(X)) for k in ks]
            found.append(list(ks)[int(np.argmax(sil))])
        rows.setdefault("KMeans + silhouette", []).append(np.mean(np.equal(found, truth)))
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(f"{v:.2f}" for v in row) + " |")


def beyond_grid(adapters, loaded, n_episodes):
    """k and n past the training grid (k 2-5, n 10-50): k 8 and 10 with n=100, k=3 with n=200."""
    print(f"\nBeyond the grid: {n_episodes} episodes per column, d=3, df=2; ACC / ARI / NMI\n")
    shapes = ((8, 100), (10, 100), (3, 200))
    print("| method | " + " | ".join(f"k={k}, n={n}" for k, n in shapes) + " |")
    print("|" + "---|" * (len(shapes) + 1))
    rows = {}
    for j, (k, n) in enumerate(shapes):
        data = [make_mixture(n, k, 3, df=2.0, random_state=int(np.random.default_rng([SEED, 80 + j, i]).integers(2**31 - 1)))
                for i in range(n_episodes)]
        for name, adapter in adapters.items():
            labels = adapter_labels(adapter, loaded, [X for X, _ in data], k)
            rows.setdefault(name, []).append(np.mean([scores(y, l) for (_, y), l in zip(data, labels)], axis=0))
        for name, method in classical(k, n).items():
            rows.setdefault(name, []).append(np.mean([scores(y, method(X)) for X, y in data], axis=0))
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join("{:.3f} / {:.3f} / {:.3f}".format(*r) for r in row) + " |")


def readout(adapter, loaded, n_episodes):
    """Another readout of the same model: KMeans on the head's unit vectors instead of
    spectral clustering on their affinity (Table 1 dfs; ACC / ARI)."""
    import torch

    from sklearn_icc.runtime.model.affinity import pad_episodes
    from sklearn_icc.runtime.model.affinity_files import load_affinity_model

    model = load_affinity_model(adapter, loaded)
    print(f"\nReadouts of the shipped adapter, {n_episodes} episodes per df: ACC / ARI\n")
    print("| readout | " + " | ".join(f"df={df:g}" for df in DFS) + " |")
    print("|" + "---|" * (len(DFS) + 1))
    rows = {}
    for j, df in enumerate(DFS):
        data = episodes_for(j, df, n_episodes)
        for start in range(0, len(data), 16):
            chunk = data[start:start + 16]
            points, _, mask = pad_episodes([(X, None) for X, _ in chunk], model.spec.max_features)
            with torch.no_grad():
                embeddings = model(points, mask).numpy()
            for row, (X, y) in enumerate(chunk):
                E = embeddings[row, : len(X)]
                labels = KMeans(3, n_init=10, random_state=0).fit_predict(E)
                rows.setdefault("KMeans on the head's vectors", {}).setdefault(df, []).append(scores(y, labels)[:2])
        spectral = adapter_labels(adapter, loaded, [X for X, _ in data], 3)
        rows.setdefault("spectral on the affinity (shipped)", {})[df] = [scores(y, l)[:2] for (_, y), l in zip(data, spectral)]
    for name, by_df in rows.items():
        print(f"| {name} | " + " | ".join("{:.3f} / {:.3f}".format(*np.mean(by_df[df], axis=0)) for df in DFS) + " |")


def views(adapter, loaded, n_episodes, counts=(1, 2, 4, 8), repeats=10):
    """Test-time ensembling: the affinity averaged over n signed permutations of the features
    (Table 1 dfs, the same episodes; ACC / ARI), and the median time of one n=50 affinity."""
    print(f"\nViews of the first adapter, {n_episodes} episodes per df: ACC / ARI; seconds per n=50 affinity\n")
    print("| views | " + " | ".join(f"df={df:g}" for df in DFS) + " | s, n=50 |")
    print("|" + "---|" * (len(DFS) + 2))
    data = {df: episodes_for(j, df, n_episodes) for j, df in enumerate(DFS)}
    X50, _ = make_mixture(50, 3, 3, df=1.0, random_state=0)
    for count in counts:
        cells = []
        for df, episodes in data.items():
            labels = adapter_labels(adapter, loaded, [X for X, _ in episodes], 3, n_views=count)
            cells.append("{:.3f} / {:.3f}".format(*np.mean([scores(y, l)[:2] for (_, y), l in zip(episodes, labels)], axis=0)))
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            learned_affinities([X50], adapter, loaded, n_views=count)
            times.append(time.perf_counter() - start)
        print(f"| {count} | " + " | ".join(cells) + f" | {np.median(times):.3f} |", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--adapter", action="append", default=None, help="NAME=DIR (repeatable)")
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--unknown-k-episodes", type=int, default=40)
    parser.add_argument("--sections", default="table1,real,speed,unknown_k,beyond")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message="Graph is not fully connected")
    warnings.filterwarnings("ignore", message="The default value of `copy`", category=FutureWarning)  # HDBSCAN
    adapters = dict(a.split("=", 1) for a in args.adapter) if args.adapter else {"adapter": str(SHIPPED_AFFINITY_DIR)}
    loaded = load_model("default", device="cpu")
    sections = args.sections.split(",")
    if "table1" in sections:
        table1(adapters, loaded, args.episodes)
    if "real" in sections:
        real(adapters, loaded)
    if "speed" in sections:
        speed()
    if "unknown_k" in sections:
        unknown_k(adapters, loaded, args.unknown_k_episodes)
    if "readout" in sections:
        readout(next(iter(adapters.values())), loaded, args.episodes)
    if "beyond" in sections:
        beyond_grid(adapters, loaded, args.unknown_k_episodes)
    if "views" in sections:
        views(next(iter(adapters.values())), loaded, args.episodes)


if __name__ == "__main__":
    main()
