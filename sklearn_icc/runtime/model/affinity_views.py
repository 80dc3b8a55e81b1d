"""Symmetry views of an episode: the same points with their features permuted and signs flipped.

A clustering does not change when the features are reordered or mirrored, but the
learned affinity model (:mod:`.affinity`) is not exactly invariant to either: its
encoder reads feature ``j`` in slot ``j`` and standardises each feature by its own
median and IQR. :func:`~.affinity.affinity_matrices` averages the affinity over
``AffinitySpec.n_views`` such views of each episode (test-time ensembling); the views
are fixed (the same for every episode with the same number of features), so a fit
stays deterministic. Measured in ``docs/learned_affinity.rst`` (views).
"""

from __future__ import annotations

from itertools import permutations, product

import numpy as np

# The order of the non-identity views: a fixed shuffle, so that the first few views
# mix permutations and sign flips rather than listing all sign flips of one order.
VIEW_SEED = 0


def signed_permutations(n_features, n_views):
    """The first ``n_views`` signed permutations of ``n_features`` features, identity first.

    Each is ``(order, signs)``: view ``X[:, order] * signs``. There are
    ``n_features! * 2 ** n_features`` distinct ones; asking for more returns them all.

    Examples
    --------
    >>> from sklearn_icc.runtime.model.affinity_views import signed_permutations
    >>> [(o.tolist(), s.tolist()) for o, s in signed_permutations(1, 4)]
    [([0], [1.0]), ([0], [-1.0])]
    >>> len(signed_permutations(3, 4)), len(signed_permutations(2, 100))
    (4, 8)
    """
    if not isinstance(n_views, int) or isinstance(n_views, bool) or n_views < 1:
        raise ValueError(f"n_views must be an integer >= 1, got {n_views!r}.")
    identity = (tuple(range(n_features)), (1.0,) * n_features)
    others = [(order, signs) for order in permutations(range(n_features))
              for signs in product((1.0, -1.0), repeat=n_features) if (order, signs) != identity]
    picked = np.random.default_rng(VIEW_SEED).permutation(len(others))[: n_views - 1]
    return [(np.array(o), np.array(s)) for o, s in [identity] + [others[i] for i in picked]]


def episode_views(X, n_views):
    """The views of one episode ``X`` (an ``(n, d)`` array), the episode itself first."""
    X = np.asarray(X, dtype=np.float64)
    return [X[:, order] * signs for order, signs in signed_permutations(X.shape[1], n_views)]
