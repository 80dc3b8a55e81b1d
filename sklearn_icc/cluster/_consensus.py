"""Combine clusterings of the same points, made under different input orders."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..runtime import canonical_labels


def align_labels(reference, labels, n_clusters):
    """Return ``mapping`` such that ``mapping[labels]`` agrees best with ``reference``.

    Hungarian matching on the ``(n_clusters, n_clusters)`` contingency table.
    """
    table = np.zeros((n_clusters, n_clusters))
    np.add.at(table, (np.asarray(labels), np.asarray(reference)), 1)
    rows, cols = linear_sum_assignment(table, maximize=True)
    mapping = np.empty(n_clusters, dtype=np.int64)
    mapping[rows] = cols
    return mapping


def consensus_labels(labelings, probabilities, n_clusters):
    """Average label probabilities after aligning every clustering to the first one.

    Parameters
    ----------
    labelings : list of ndarray of shape (n,)
    probabilities : list of ndarray of shape (n, n_clusters)
    n_clusters : int

    Returns
    -------
    labels : ndarray of shape (n,), int64, canonical (numbered by first appearance)
    probabilities : ndarray of shape (n, n_clusters)
        The averaged, aligned probabilities, columns in the order of ``labels``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_icc.cluster._consensus import consensus_labels
    >>> a, b = np.array([0, 0, 1, 1]), np.array([1, 1, 0, 0])
    >>> labels, _ = consensus_labels([a, b], [np.eye(2)[a], np.eye(2)[b]], 2)
    >>> labels
    array([0, 0, 1, 1])
    """
    reference = np.asarray(labelings[0])
    total = np.zeros_like(np.asarray(probabilities[0], dtype=np.float64))
    for labels, proba in zip(labelings, probabilities):
        mapping = align_labels(reference, labels, n_clusters)
        aligned = np.zeros_like(total)
        aligned[:, mapping] = proba
        total += aligned
    average = total / len(labelings)
    return canonical_order(average.argmax(axis=1), average)


def combine_orderings(runs, n_clusters):
    """One clustering from the ``(labels, probabilities)`` of each ordering, all in row order.

    A single run is returned as it is; several are combined by :func:`consensus_labels`.
    Labels are checked: int64, one per row, in ``0..n_clusters-1``.
    """
    if len(runs) == 1:
        labels, probabilities = runs[0]
    else:
        labels, probabilities = consensus_labels([r[0] for r in runs], [r[1] for r in runs], n_clusters)
    labels = np.asarray(labels, dtype=np.int64)
    if labels.shape != (len(runs[0][0]),) or labels.min() < 0 or labels.max() >= n_clusters:
        raise RuntimeError("Decoding produced invalid labels; this is a bug in sklearn-icc.")
    return labels, probabilities


def canonical_order(labels, probabilities):
    """Renumber clusters by first appearance, reordering the probability columns to match.

    Unused clusters keep the remaining columns, in their old order.
    """
    labels = np.asarray(labels)
    order = list(dict.fromkeys(labels.tolist()))
    order += [c for c in range(probabilities.shape[1]) if c not in order]
    return canonical_labels(labels), probabilities[:, order]
