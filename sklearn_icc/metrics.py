"""Clustering accuracy after Hungarian matching; ARI, NMI and AMI come from scikit-learn."""

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


def clustering_scores(y_true, y_pred):
    """Accuracy (Hungarian), ARI, NMI and AMI of one clustering, as a dict.

    ARI, NMI and AMI are scikit-learn's (``adjusted_rand_score``,
    ``normalized_mutual_info_score``, ``adjusted_mutual_info_score``); every distinct
    predicted value is a cluster, so a noise label such as HDBSCAN's ``-1`` counts as
    one more cluster.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_pred : array-like of shape (n_samples,)

    Returns
    -------
    dict
        ``acc``, ``ari``, ``nmi`` and ``ami``, floats.

    Examples
    --------
    >>> from sklearn_icc.metrics import clustering_scores
    >>> clustering_scores([0, 0, 1, 1], [1, 1, 0, 0])
    {'acc': 1.0, 'ari': 1.0, 'nmi': 1.0, 'ami': 1.0}
    """
    from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score, normalized_mutual_info_score

    return {
        "acc": clustering_accuracy(y_true, y_pred),
        "ari": float(adjusted_rand_score(y_true, y_pred)),
        "nmi": float(normalized_mutual_info_score(y_true, y_pred)),
        "ami": float(adjusted_mutual_info_score(y_true, y_pred)),
    }


def make_fitted_labels_scorer(score_func=None):
    """A GridSearchCV scorer that scores the labels the clusterer gave the points it was fitted on.

    A clusterer's ``labels_`` belong to the points it was fitted on, so pair it with
    :func:`sklearn_icc.model_selection.episode_splits`, whose splits test on the
    points they train on. On a :class:`~sklearn.pipeline.Pipeline` the labels are the
    final step's ``labels_``.

    Parameters
    ----------
    score_func : callable, default=None
        ``score_func(y_true, labels)``; ``None`` means adjusted Rand index.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.cluster import KMeans
    >>> from sklearn_icc.metrics import make_fitted_labels_scorer
    >>> X, y = np.array([[0.0], [0.1], [5.0], [5.1]]), np.array([0, 0, 1, 1])
    >>> km = KMeans(2, n_init=1, random_state=0).fit(X)
    >>> make_fitted_labels_scorer()(km, X, y)
    1.0
    """
    if score_func is None:
        from sklearn.metrics import adjusted_rand_score as score_func

    def fitted_labels_score(estimator, X, y):
        labels = fitted_labels(estimator)
        if y is None or len(labels) != len(y):
            raise ValueError(
                f"The fitted-labels scorer needs y with one label per fitted point ({len(labels)}); got "
                f"{'no y' if y is None else len(y)}. Use cv=episode_splits(...), whose splits test on the "
                "points they fit."
            )
        return float(score_func(y, labels))

    return fitted_labels_score


def fitted_labels(estimator):
    """The ``labels_`` of a fitted clusterer, or of a Pipeline's final step.

    Parameters
    ----------
    estimator : estimator
        A fitted clusterer, or a fitted Pipeline whose last step is one.

    Returns
    -------
    ndarray of shape (n_samples,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.cluster import KMeans
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_icc.metrics import fitted_labels
    >>> X = np.array([[0.0], [0.1], [5.0], [5.1]])
    >>> pipe = make_pipeline(StandardScaler(), KMeans(2, n_init=1, random_state=0)).fit(X)
    >>> sorted(np.bincount(fitted_labels(pipe)).tolist())
    [2, 2]
    """
    final = estimator
    # A Pipeline (or a nested one) keeps the clusterer, and its labels_, in the last step.
    while not hasattr(final, "labels_") and hasattr(final, "steps"):
        final = final.steps[-1][1]
    if not hasattr(final, "labels_"):
        raise TypeError(
            f"{type(estimator).__name__} has no labels_ (nor does a Pipeline's final step): "
            "the fitted-labels scorer needs a fitted clusterer."
        )
    return np.asarray(final.labels_)
