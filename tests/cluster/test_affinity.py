import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics.pairwise import rbf_kernel

from sklearn_icc.cluster._affinity import eigengap_score, estimate_n_clusters, score_layers


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
