"""The benchmark suites: which episodes each one draws, seeded so every method sees the same data.

A suite is a list of cells (a setting such as ``{"df": 1.5}`` or ``{"dataset": "iris"}``)
and a function that draws episode ``e`` of a cell from ``(seed, cell, e)`` alone, so a
``--quick`` run's episodes are the first episodes of a full run, whatever methods or
cells a run asks for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

import numpy as np

PAPER_DFS = (1.0, 1.25, 1.5, 1.75, 2.0, 5.0, 100.0)
TABLE6_DFS = (1.0, 1.5, 2.0, 5.0, 100.0)
N_SAMPLES_RANGE = (10, 50)
# Table 1's setting; ``episode_data`` keeps the seeding of the first benchmark.
N_FEATURES = 3
N_CLUSTERS = 3
REAL_DATASETS = ("iris", "wine", "breast_cancer", "digits")
DIGITS_COMPONENTS = 10


@dataclass(frozen=True)
class Episode:
    """One clustering problem: points, true classes, and the seed the methods get."""

    X: np.ndarray
    y: np.ndarray
    n_clusters: int
    random_state: int
    orderings: tuple = ()  # row permutations to run (order suite); empty means the given order


@dataclass(frozen=True)
class Suite:
    """A named set of cells and the episode generator behind them."""

    name: str
    description: str
    cells: tuple
    draw: Callable  # draw(cell, episode, seed) -> Episode
    axis: str  # the cell parameter the plots put on the x-axis
    default_methods: tuple
    episodes: int = 100
    quick_cells: tuple = ()  # indices into ``cells`` for --quick; empty means all
    quick_episodes: int = 3
    standardize: bool = False  # StandardScaler before the clusterer, in a Pipeline
    notes: str = field(default="")


def cell_id(cell):
    """The cell's name in the result files, e.g. ``"k=2,d=3,df=1.5"`` or ``"dataset=iris"``."""
    return ",".join(f"{key}={value:g}" if isinstance(value, float) else f"{key}={value}"
                    for key, value in cell.items())


def _df_key(df):
    return int(round(float(df) * 1000))


def _mixture_episode(entropy, n_clusters, n_features, dist, df):
    from ..datasets import make_mixture

    n_seed, data_seed, method_seed = np.random.SeedSequence(entropy).generate_state(3)
    low, high = N_SAMPLES_RANGE
    n_samples = int(np.random.default_rng(n_seed).integers(low, high, endpoint=True))
    X, y = make_mixture(n_samples, n_clusters, n_features, dist=dist, df=float(df), random_state=int(data_seed))
    return Episode(X, y, n_clusters, int(method_seed))


def episode_data(df, episode, seed=0):
    """Draw one Table 1 episode (d=3, k=3, Student-t noise), the same for every method.

    The seed depends on ``seed``, the value of ``df`` (in thousandths) and ``episode``,
    not on which other ``df`` values are run.

    Parameters
    ----------
    df : float
        Degrees of freedom of the Student-t noise.
    episode : int
        Index of the episode within its ``df``.
    seed : int, default=0
        Base seed of the benchmark.

    Returns
    -------
    X : ndarray of shape (n, 3)
    y : ndarray of shape (n,)
        The true clusters.
    """
    episode = _mixture_episode([int(seed), _df_key(df), int(episode)], N_CLUSTERS, N_FEATURES, "t", df)
    return episode.X, episode.y


def _draw_paper_t(cell, episode, seed):
    return _mixture_episode([int(seed), _df_key(cell["df"]), int(episode)], N_CLUSTERS, N_FEATURES, "t", cell["df"])


def _draw_mixture(suite_code, dist):
    def draw(cell, episode, seed):
        entropy = [int(seed), suite_code, cell["k"], cell["d"], _df_key(cell.get("df", 0)), int(episode)]
        return _mixture_episode(entropy, cell["k"], cell["d"], dist, cell.get("df", 1.0))

    return draw


def _draw_order(cell, episode, seed):
    base = _draw_mixture(5, "t")(cell, episode, seed)
    rng = np.random.default_rng([int(seed), 5, 99, int(episode)])
    orderings = tuple(rng.permutation(len(base.y)) for _ in range(cell["orderings"]))
    return Episode(base.X, base.y, base.n_clusters, base.random_state, orderings)


@lru_cache(maxsize=None)
def load_real_dataset(name):
    """A small labelled data set that ships with scikit-learn: ``(X, y)``.

    ``breast_cancer`` keeps its 10 "mean" features (the other 20 are their errors and
    extremes); ``digits`` is reduced to its first 10 principal components. Nothing is
    downloaded.
    """
    from sklearn import datasets

    if name not in REAL_DATASETS:
        raise ValueError(f"Unknown data set {name!r}; choose one of {list(REAL_DATASETS)}.")
    bunch = getattr(datasets, f"load_{name}")()
    X, y = bunch.data.astype(float), bunch.target.astype(np.int64)
    if name == "breast_cancer":
        X = X[:, :10]
    elif name == "digits":
        from sklearn.decomposition import PCA

        X = PCA(DIGITS_COMPONENTS, svd_solver="full").fit_transform(X)
    return X, y


def _draw_real(cell, episode, seed):
    """Sample ``n`` points with every class present: one of each class, the rest at random."""
    X, y = load_real_dataset(cell["dataset"])
    classes = np.unique(y)
    k = len(classes)
    code = REAL_DATASETS.index(cell["dataset"])
    n_seed, sample_seed, method_seed = np.random.SeedSequence([int(seed), 6, code, int(episode)]).generate_state(3)
    n_samples = int(np.random.default_rng(n_seed).integers(max(N_SAMPLES_RANGE[0], 2 * k), N_SAMPLES_RANGE[1],
                                                           endpoint=True))
    rng = np.random.default_rng(sample_seed)
    first = np.array([rng.choice(np.flatnonzero(y == c)) for c in classes])
    rest = rng.choice(np.setdiff1d(np.arange(len(y)), first), n_samples - k, replace=False)
    rows = rng.permutation(np.concatenate([first, rest]))
    # Classes renumbered 0..k-1 so labels and k agree whatever the data set's coding.
    return Episode(X[rows], np.searchsorted(classes, y[rows]).astype(np.int64), k, int(method_seed))


CLASSICAL = ("kmeans", "gmm", "spectral-rbf", "spectral-nn", "agglomerative-ward", "hdbscan", "birch", "chance")

SUITES = {
    suite.name: suite
    for suite in (
        Suite(
            "paper-t", "Table 1: Student-t noise, d=3, k=3, n in [10, 50], raw X.",
            tuple({"df": df} for df in PAPER_DFS), _draw_paper_t, "df",
            CLASSICAL + ("icc-compact", "asc-hidden", "asc-affinity"), quick_cells=(0, 5),
        ),
        Suite(
            "paper-grid", "The training grid: k in 2..5, d in 1..4, Student-t noise of each df, raw X.",
            tuple({"k": k, "d": d, "df": df} for k in range(2, 6) for d in range(1, 5) for df in PAPER_DFS),
            _draw_mixture(2, "t"), "df", CLASSICAL, episodes=20,
            quick_cells=(0, 5, 7 * 16 - 1), quick_episodes=2,
        ),
        Suite(
            "lognormal", "Lognormal noise (centred), d=3, k in 2..5, n in [10, 50], raw X.",
            tuple({"k": k, "d": 3} for k in range(2, 6)), _draw_mixture(3, "lognormal"), "k",
            CLASSICAL + ("icc-compact", "asc-hidden"), quick_cells=(0, 1),
        ),
        Suite(
            "order", "Table 5: k=2, d=3, Student-t df=1; each episode under 5 row orders.",
            ({"k": 2, "d": 3, "df": 1.0, "orderings": 5},), _draw_order, "df",
            ("kmeans", "gmm", "chance", "icc-compact", "icc-compact-consensus3"), episodes=30,
            quick_episodes=2,
        ),
        Suite(
            "attention", "Table 6: k=2, d=2, Student-t noise, n in [10, 50], raw X.",
            tuple({"k": 2, "d": 2, "df": df} for df in TABLE6_DFS), _draw_mixture(4, "t"), "df",
            ("kmeans", "chance", "asc-hidden", "asc-attention", "asc-hidden-auto", "icc-compact"),
            episodes=50, quick_cells=(0, 3),
        ),
        Suite(
            "real", "scikit-learn's iris, wine, breast cancer (mean features), digits (10 PCs); "
            "n in [max(10, 2k), 50], every class present, StandardScaler -> clusterer.",
            tuple({"dataset": name} for name in REAL_DATASETS), _draw_real, "dataset",
            CLASSICAL + ("icc-compact", "asc-hidden"), episodes=30, quick_cells=(0, 1), standardize=True,
        ),
    )
}


def get_suite(name):
    """The suite called ``name``; a ValueError lists the others."""
    if name not in SUITES:
        raise ValueError(f"Unknown suite {name!r}; choose one of {list(SUITES)}.")
    return SUITES[name]
