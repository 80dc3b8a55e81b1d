"""Synthetic clustering episodes: the paper's mixtures with heavy-tailed noise."""

from __future__ import annotations

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
