"""Point affinities, spectral labels and label-free layer scores (no model needed)."""

import numpy as np
import pytest

from sklearn_icc.cluster import affinity_from_attention, affinity_from_hidden
from sklearn_icc.cluster._affinity import eigengap_score, score_layers, spectral_labels


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
