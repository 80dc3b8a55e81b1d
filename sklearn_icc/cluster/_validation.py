"""Input checks shared by every ICC estimator."""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import validate_data


def validate_episode(estimator, X):
    """Validate one episode's points for ``estimator.fit``; return them as float64.

    Rejects NaN and inf, empty and 1-D input, strings, sparse matrices, and fewer
    points than ``estimator.n_clusters``; sets ``n_features_in_``.
    """
    X = validate_data(estimator, X, dtype=np.float64, accept_sparse=False, ensure_min_samples=1)
    if X.shape[0] < estimator.n_clusters:
        raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={estimator.n_clusters}.")
    return X
