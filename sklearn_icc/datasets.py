"""Synthetic clustering episodes: the paper's mixtures with heavy-tailed noise."""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

NOISE_DISTRIBUTIONS = ("t", "normal", "lognormal")


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "n_features": [Interval(Integral, 1, None, closed="left")],
        "dist": [StrOptions(set(NOISE_DISTRIBUTIONS))],
        "df": [Interval(Real, 0, None, closed="neither")],
        "center_box": [tuple],
        "scale": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_mixture(
    n_samples=30,
    n_clusters=3,
    n_features=3,
    *,
    dist="t",
    df=2.0,
    center_box=(-10.0, 10.0),
    scale=1.0,
    random_state=None,
):
    """Draw one clustering episode: a mixture with independent noise per coordinate.

    Centres are uniform in ``center_box`` in every dimension; each point is its centre
    plus noise (Student-t with ``df`` degrees of freedom, normal, or centred lognormal)
    times ``scale``. Cluster sizes are random and non-empty; points come shuffled.
    This is the generator of the paper's training and test episodes (§3).

    Parameters
    ----------
    n_samples : int, default=30
    n_clusters : int, default=3
        Must not exceed ``n_samples``.
    n_features : int, default=3
    dist : {"t", "normal", "lognormal"}, default="t"
    df : float, default=2.0
        Degrees of freedom of the Student-t noise (1 is Cauchy); ignored otherwise.
    center_box : tuple of float, default=(-10.0, 10.0)
    scale : float, default=1.0
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,), dtype int64
        The true cluster of each point; every cluster has at least one point.

    Examples
    --------
    >>> from sklearn_icc.datasets import make_mixture
    >>> X, y = make_mixture(20, 3, 2, df=1.0, random_state=0)
    >>> X.shape, sorted(set(y.tolist()))
    ((20, 2), [0, 1, 2])
    """
    if n_clusters > n_samples:
        raise ValueError(f"n_clusters={n_clusters} must not exceed n_samples={n_samples}.")
    rng = check_random_state(random_state)
    centers = rng.uniform(center_box[0], center_box[1], size=(n_clusters, n_features))
    # Random non-empty sizes: one point per cluster, the rest by a random proportion.
    weights = rng.dirichlet(np.ones(n_clusters))
    sizes = 1 + rng.multinomial(n_samples - n_clusters, weights)
    y = np.repeat(np.arange(n_clusters, dtype=np.int64), sizes)
    rng.shuffle(y)
    shape = (n_samples, n_features)
    if dist == "t":
        noise = rng.standard_t(df, size=shape)
    elif dist == "normal":
        noise = rng.standard_normal(size=shape)
    else:
        noise = rng.lognormal(size=shape) - np.exp(0.5)
    return centers[y] + scale * noise, y


# Degrees of freedom the paper keeps out of training, to test generalisation (§3).
HELD_OUT_DFS = (1.25, 1.5, 1.75)


@dataclass(frozen=True)
class EpisodeGrid:
    """The grid that training episodes are drawn from (the paper's §3 defaults).

    Each episode draws ``n_clusters``, ``n_features`` and ``df`` uniformly from their
    tuples and ``n_samples`` uniformly in the closed range, then calls
    :func:`make_mixture`. ``n_permutations > 1`` repeats each drawn episode with its
    rows permuted (the paper's augmented variant). ``df`` values in
    :data:`HELD_OUT_DFS` are refused unless ``allow_held_out=True``.
    ``unknown_k_fraction`` is the share of episodes whose prompt states no k (see
    :func:`grid_states_k`), so that an adapter learns to choose the number of clusters.
    """

    n_clusters: tuple = (2, 3, 4, 5)
    n_features: tuple = (1, 2, 3, 4)
    dfs: tuple = (1.0, 2.0, 5.0, 100.0)
    n_samples: tuple = (10, 50)
    dist: str = "t"
    n_permutations: int = 1
    allow_held_out: bool = False
    unknown_k_fraction: float = 0.0

    def __post_init__(self):
        for name in ("n_clusters", "n_features", "dfs"):
            values = getattr(self, name)
            if not isinstance(values, (tuple, list)) or len(values) == 0:
                raise ValueError(f"EpisodeGrid.{name} must be a non-empty tuple, got {values!r}.")
            if min(values) <= 0:
                raise ValueError(f"EpisodeGrid.{name} must hold positive values, got {values!r}.")
        low, high = self.n_samples
        if not 1 <= low <= high:
            raise ValueError(f"EpisodeGrid.n_samples must be a range (low, high) with 1 <= low <= high, got {self.n_samples!r}.")
        if max(self.n_clusters) > low:
            raise ValueError(f"EpisodeGrid: max n_clusters={max(self.n_clusters)} exceeds the smallest n_samples={low}.")
        if self.dist not in NOISE_DISTRIBUTIONS:
            raise ValueError(f"EpisodeGrid.dist must be one of {NOISE_DISTRIBUTIONS}, got {self.dist!r}.")
        if self.n_permutations < 1:
            raise ValueError(f"EpisodeGrid.n_permutations must be >= 1, got {self.n_permutations}.")
        if not 0.0 <= self.unknown_k_fraction <= 1.0:
            raise ValueError(f"EpisodeGrid.unknown_k_fraction must lie in [0, 1], got {self.unknown_k_fraction!r}.")
        held = sorted(set(self.dfs) & set(HELD_OUT_DFS))
        if held and self.dist == "t" and not self.allow_held_out:
            raise ValueError(
                f"EpisodeGrid.dfs contains held-out df values {held}; they are kept for testing. "
                "Pass allow_held_out=True to train on them anyway."
            )


def grid_episode(grid, index, seed=0):
    """Draw training episode ``index`` of ``grid``: ``(X, y)``, the same for a given seed.

    Episodes are seeded by ``(seed, index)`` alone, so a resumed or sharded run sees the
    same data. With ``grid.n_permutations = m``, episodes ``m*i .. m*i+m-1`` are
    permutations of one drawn mixture (the first unpermuted).
    """
    base, permutation = divmod(int(index), grid.n_permutations)
    rng = np.random.default_rng([int(seed), base])
    k, d, df, n = _episode_shape(grid, rng)
    X, y = make_mixture(n, k, d, dist=grid.dist, df=df, random_state=int(rng.integers(2**31 - 1)))
    if permutation:
        order = np.random.default_rng([int(seed), base, permutation]).permutation(n)
        X, y = X[order], y[order]
    return X, y


def grid_states_k(grid, index, seed=0):
    """Whether the prompt of episode ``index`` states its k (else the model must choose it).

    Drawn from a stream of its own, seeded by ``(seed, index)`` like the episode, so
    that the episodes themselves do not change with ``grid.unknown_k_fraction``;
    the permutations of one drawn mixture share it.
    """
    if grid.unknown_k_fraction <= 0:
        return True
    base = int(index) // grid.n_permutations
    return bool(np.random.default_rng([int(seed), base, 107, 1]).random() >= grid.unknown_k_fraction)


def _episode_shape(grid, rng):
    k = int(rng.choice(grid.n_clusters))
    d = int(rng.choice(grid.n_features))
    df = float(rng.choice(grid.dfs))
    n = int(rng.integers(grid.n_samples[0], grid.n_samples[1] + 1))
    return k, d, df, n


def episode_shape(grid, index, seed=0):
    """``(n_clusters, n_features, df, n_samples)`` of episode ``index``, without drawing its points."""
    base = int(index) // grid.n_permutations
    return _episode_shape(grid, np.random.default_rng([int(seed), base]))


def iter_episodes(n_episodes, grid=None, *, seed=0, start=0):
    """Yield ``n_episodes`` training episodes ``(X, y)`` of ``grid``, from index ``start``.

    Examples
    --------
    >>> from sklearn_icc.datasets import EpisodeGrid, iter_episodes
    >>> episodes = list(iter_episodes(3, EpisodeGrid(n_clusters=(2,), n_features=(2,))))
    >>> [(X.shape[1], len(set(y.tolist()))) for X, y in episodes]
    [(2, 2), (2, 2), (2, 2)]
    """
    grid = grid or EpisodeGrid()
    for index in range(start, start + n_episodes):
        yield grid_episode(grid, index, seed=seed)
