"""Property tests over the estimators' inputs, on the tiny model.

Whatever the data (shapes, dtypes, scales from 1e-8 to 1e8, duplicate rows, constant
columns) and settings (k, chunking, orderings, temperature), a fit and a predict give
valid labels (int64, one per point, in 0..k-1, finite probabilities whose rows sum to
1) or a clear ``ValueError``/``TypeError``; nothing else.
"""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sklearn_icc import AttentionSpectralClustering, InContextClustering

# CI runs a fixed set of 30 examples per test; SKLEARN_ICC_PROPERTY_EXAMPLES=500 hunts with fresh random ones.
HUNT = os.environ.get("SKLEARN_ICC_PROPERTY_EXAMPLES")
FAST = settings(
    max_examples=int(HUNT or 30), deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=not HUNT
)
CLEAR_ERRORS = (ValueError, TypeError)
# scikit-learn's spectral embedding says so when a graph has few nodes; it then solves it densely.
pytestmark = pytest.mark.filterwarnings("ignore:k >= N for N \\* N square matrix:RuntimeWarning")


@st.composite
def point_sets(draw, max_points=14):
    """A data set with the awkward cases drawn in: scale, duplicates, constant columns, dtypes."""
    n = draw(st.integers(1, max_points))
    d = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    X = rng.normal(size=(n, d)) * 10.0 ** draw(st.integers(-8, 8)) + draw(st.sampled_from([0.0, 1.0, -1e3]))
    if n > 1 and draw(st.booleans()):
        X[rng.integers(0, n, size=n // 2)] = X[0]  # duplicate rows
    if draw(st.booleans()):
        X[:, rng.integers(0, d)] = draw(st.sampled_from([0.0, 3.5, -1e6]))  # a constant column
    dtype = draw(st.sampled_from(["float64", "float32", "int64", "int8", "bool", "list"]))
    if dtype == "list":
        return X.tolist()
    with np.errstate(over="ignore", invalid="ignore"):
        return X.astype(dtype) if dtype != "int8" else np.clip(X, -128, 127).astype(np.int8)


def assert_valid_labels(labels, n, k):
    labels = np.asarray(labels)
    assert labels.dtype == np.int64 and labels.shape == (n,)
    assert labels.min() >= 0 and labels.max() < k


def fit_or_clear_error(estimator, X):
    """The fitted estimator, or ``None`` after a clear error (a non-empty message)."""
    try:
        fitted = estimator.fit(X)
    except CLEAR_ERRORS as exc:
        assert str(exc).strip(), f"{type(exc).__name__} without a message"
        event(f"{type(exc).__name__}: {str(exc)[:60]}")
        return None
    event("fitted")
    return fitted


@FAST
@given(
    X=point_sets(),
    k=st.integers(1, 11),
    chunk_size=st.sampled_from([None, 3, 5]),
    n_orderings=st.integers(1, 3),
    temperature=st.sampled_from([0.0, 0.7]),
    point_format=st.sampled_from(["paper", "compact"]),
    seed=st.integers(0, 10),
)
def test_in_context_clustering_gives_valid_labels_or_a_clear_error(
    tiny_model, X, k, chunk_size, n_orderings, temperature, point_format, seed
):
    estimator = InContextClustering(
        model=tiny_model, n_clusters=k, chunk_size=chunk_size, n_orderings=n_orderings,
        temperature=temperature, point_format=point_format, random_state=seed, device="cpu",
    )
    fitted = fit_or_clear_error(estimator, X)
    if fitted is None:
        return
    n = len(X)
    assert_valid_labels(fitted.labels_, n, k)
    proba = fitted.label_probabilities_
    assert proba.shape == (n, k) and np.isfinite(proba).all() and (proba >= 0).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    new = np.asarray(X, dtype=np.float64)[: min(3, n)] * 1.01
    try:
        predicted = fitted.predict(new)
    except CLEAR_ERRORS as exc:
        assert str(exc).strip()
        return
    assert_valid_labels(predicted, len(new), k)


@FAST
@given(
    X=point_sets(),
    k=st.integers(1, 6),
    layer=st.sampled_from([0, 1, -1]),
    affinity=st.sampled_from(["hidden", "attention"]),
    seed=st.integers(0, 10),
)
def test_attention_spectral_clustering_gives_valid_labels_or_a_clear_error(tiny_model, X, k, layer, affinity, seed):
    estimator = AttentionSpectralClustering(
        model=tiny_model, n_clusters=k, layer=layer, affinity=affinity, random_state=seed, device="cpu",
    )
    fitted = fit_or_clear_error(estimator, X)
    if fitted is None:
        return
    n = len(X)
    assert_valid_labels(fitted.labels_, n, k)
    matrix = fitted.affinity_matrix_
    assert matrix.shape == (n, n) and np.isfinite(matrix).all()
    new = np.asarray(X, dtype=np.float64)[: min(3, n)] * 1.01
    try:
        proba, predicted = fitted.predict_proba(new), fitted.predict(new)
    except CLEAR_ERRORS as exc:
        assert str(exc).strip()
        return
    assert proba.shape == (len(new), k) and np.isfinite(proba).all() and (proba >= 0).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert_valid_labels(predicted, len(new), k)


@FAST
@given(
    bad=st.sampled_from(
        [
            [[np.nan, 1.0], [0.0, 1.0]],
            [[np.inf, 1.0], [0.0, 1.0]],
            [[1.0, 2.0], [3.0]],
            [["a", "b"], ["c", "d"]],
            np.zeros((0, 2)),
            np.zeros((3, 0)),
            np.zeros(4),
            np.zeros((2, 2, 2)),
        ]
    ),
    estimator=st.sampled_from(["icc", "attention"]),
)
def test_bad_points_give_a_clear_error(tiny_model, bad, estimator):
    if estimator == "icc":
        model = InContextClustering(model=tiny_model, n_clusters=2, device="cpu")
    else:
        model = AttentionSpectralClustering(model=tiny_model, n_clusters=2, layer=1, device="cpu")
    with pytest.raises(CLEAR_ERRORS):
        model.fit(bad)
