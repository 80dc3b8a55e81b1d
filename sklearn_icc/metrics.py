"""Clustering accuracy after Hungarian matching; ARI and NMI come from scikit-learn."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics.cluster import contingency_matrix


def clustering_accuracy(y_true, y_pred):
    """Fraction of points whose predicted cluster matches its true class after the best one-to-one matching.

    The matching maximises agreement on the contingency table (Hungarian algorithm);
    the numbers of true and predicted clusters may differ, and unmatched clusters count
    as wrong.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_pred : array-like of shape (n_samples,)

    Returns
    -------
    float
        In [0, 1].

    Examples
    --------
    >>> from sklearn_icc import clustering_accuracy
    >>> clustering_accuracy([0, 0, 1, 1], [1, 1, 0, 0])
    1.0
    >>> clustering_accuracy([0, 0, 1, 1], [0, 0, 0, 0])
    0.5
    """
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D of the same length, got {y_true.shape} and {y_pred.shape}.")
    if y_true.size == 0:
        raise ValueError("clustering_accuracy needs at least one sample.")
    table = contingency_matrix(y_true, y_pred)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / y_true.size)
