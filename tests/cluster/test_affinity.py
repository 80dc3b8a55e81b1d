"""Point affinities, spectral labels and label-free layer scores (no model needed)."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics.pairwise import rbf_kernel

from sklearn_icc.cluster import affinity_from_attention, affinity_from_hidden
from sklearn_icc.cluster._affinity import (eigengap_score, estimate_n_clusters, score_layers, span_coordinates,
                                          spectral_labels)


def test_attention_affinity_follows_the_paper():
    A = np.array([[2.0, 0, 0], [1.0, 3.0, 0], [0.2, 0.2, 0.6]])
    expected_lower = np.array([[0, 0, 0], [0.25 * 2, 0, 0], [0.2 * 3, 0.2 * 3, 0]])
    np.testing.assert_allclose(affinity_from_attention(A), expected_lower + expected_lower.T)


def test_attention_affinity_ignores_the_upper_triangle():
    A = np.tril(np.random.default_rng(0).random((5, 5)))
    noisy = A + np.triu(np.ones((5, 5)), k=1)
    np.testing.assert_allclose(affinity_from_attention(A), affinity_from_attention(noisy))


def test_hidden_affinity_is_a_clipped_centred_cosine():
    H = np.random.default_rng(0).normal(size=(6, 4)) + 100.0  # a large shared offset
    S = affinity_from_hidden(H)
    assert np.allclose(S, S.T) and np.all(np.diag(S) == 0)
    assert S.min() >= 0 and S.max() <= 1
    assert S.mean() < 0.5  # centring removed the offset that made every cosine ~1


def test_spectral_labels_recover_blocks_and_eigengap_sees_them():
    blocks = np.kron(np.eye(3), np.ones((4, 4)))
    np.fill_diagonal(blocks, 0)
    noisy = blocks + 0.01
    np.fill_diagonal(noisy, 0)
    labels = spectral_labels(noisy, 3, random_state=0)
    np.testing.assert_array_equal(labels, np.repeat([0, 1, 2], 4))
    flat = np.ones((12, 12)) - np.eye(12)
    assert eigengap_score(noisy, 3) > eigengap_score(flat, 3)
    scores = score_layers({0: flat, 5: noisy}, 3)
    assert max(scores, key=scores.get) == 5
    silhouettes = score_layers({0: flat + 0.01 * np.cos(np.add.outer(np.arange(12), np.arange(12))), 5: noisy}, 3, rule="silhouette", random_state=0)
    assert max(silhouettes, key=silhouettes.get) == 5
    with pytest.raises(ValueError, match="rule must be one of"):
        score_layers({0: flat}, 3, rule="oracle")


def blob_affinity(k, seed, spread=0.3):
    X, _ = make_blobs(n_samples=12 * k, centers=k, cluster_std=spread, center_box=(-20, 20), random_state=seed)
    A = rbf_kernel(X, gamma=0.5)
    np.fill_diagonal(A, 0.0)
    return A


@pytest.mark.parametrize("k", [2, 3, 5, 8])
def test_the_eigengap_finds_well_separated_clusters(k):
    assert estimate_n_clusters(blob_affinity(k, seed=k), max_clusters=10) == k


def test_the_estimate_stays_within_max_clusters_and_the_points():
    assert estimate_n_clusters(blob_affinity(5, seed=0), max_clusters=3) <= 3
    assert estimate_n_clusters(blob_affinity(2, seed=1)[:3, :3], max_clusters=10) == 2
    assert estimate_n_clusters(np.ones((2, 2)) - np.eye(2), max_clusters=10) == 2


def test_the_estimate_maximises_the_scored_gap():
    A = blob_affinity(4, seed=2, spread=2.0)
    k = estimate_n_clusters(A, max_clusters=8)
    assert eigengap_score(A, k) == max(eigengap_score(A, j) for j in range(2, 9))


@pytest.mark.parametrize("max_clusters", [1, 0, -3])
def test_max_clusters_below_two_is_refused(max_clusters):
    with pytest.raises(ValueError, match="max_clusters"):
        estimate_n_clusters(blob_affinity(2, seed=0), max_clusters=max_clusters)


@pytest.mark.parametrize(
    "affinity, message",
    [
        (np.zeros((3, 2)), "square"),
        (np.zeros((1, 1)), "at least 2 points"),
        (np.array([[0.0, np.nan], [np.nan, 0.0]]), "finite"),
        (np.array([[0.0, -1.0], [-1.0, 0.0]]), "non-negative"),
        (np.array([[0.0, 1.0], [0.0, 0.0]]), "symmetric"),
    ],
)
def test_bad_affinities_are_refused(affinity, message):
    with pytest.raises(ValueError, match=message):
        estimate_n_clusters(affinity)


def test_layers_are_scored_at_their_own_k_when_k_is_unknown():
    clear, blurred = blob_affinity(3, seed=4), blob_affinity(3, seed=4, spread=6.0)
    scores = score_layers({0: blurred, 1: clear}, None, max_clusters=6)
    assert scores[1] == eigengap_score(clear, estimate_n_clusters(clear, 6))
    assert max(scores, key=scores.get) == 1


def test_span_coordinates_keep_every_dot_product_in_fewer_columns():
    rng = np.random.default_rng(0)
    F = rng.normal(size=(12, 90))
    F[5] = F[4]  # a repeated row and a zero row: a rank-deficient span
    F[7] = 0.0
    Z = span_coordinates(F)
    assert Z.shape == (12, 12) and np.isfinite(Z).all()
    np.testing.assert_allclose(Z @ Z.T, F @ F.T, atol=1e-10)
    tall = rng.normal(size=(30, 4))
    assert np.array_equal(span_coordinates(tall), tall)  # no more columns than rows: unchanged
