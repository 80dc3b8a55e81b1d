"""Cross-validation over episodes: one clustering problem per split."""

from __future__ import annotations

import numpy as np


def episode_splits(episode_lengths):
    """CV splits for episodes stacked into one array: each split fits and scores one episode.

    A clusterer labels the points it is fitted on, so each split's test indices are its
    training indices. Use with ``GridSearchCV(..., cv=episode_splits(lengths),
    scoring=make_fitted_labels_scorer(), refit=False)``.

    Parameters
    ----------
    episode_lengths : sequence of int
        Number of points in each stacked episode, in order.

    Returns
    -------
    list of (ndarray, ndarray)

    Examples
    --------
    >>> from sklearn_icc.model_selection import episode_splits
    >>> [train.tolist() for train, test in episode_splits([2, 3])]
    [[0, 1], [2, 3, 4]]
    """
    lengths = [int(n) for n in episode_lengths]
    if not lengths or min(lengths) < 1:
        raise ValueError("episode_lengths must be a non-empty list of positive lengths.")
    ends = np.cumsum(lengths)
    return [(np.arange(end - n, end), np.arange(end - n, end)) for end, n in zip(ends, lengths)]
