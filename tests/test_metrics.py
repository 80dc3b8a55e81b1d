import numpy as np
import pytest

from sklearn_icc import clustering_accuracy


def test_perfect_up_to_permutation():
    assert clustering_accuracy([0, 0, 1, 1, 2], [2, 2, 0, 0, 1]) == 1.0


def test_constant_prediction_scores_the_largest_class():
    assert clustering_accuracy([0, 0, 0, 1, 2], [5, 5, 5, 5, 5]) == pytest.approx(0.6)


def test_more_predicted_clusters_than_classes():
    # Only one predicted cluster can match each class.
    assert clustering_accuracy([0, 0, 1, 1], [0, 1, 2, 3]) == pytest.approx(0.5)


def test_matches_brute_force_over_permutations():
    from itertools import permutations

    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 3, 40), rng.integers(0, 3, 40)
    best = max(np.mean(np.array(p)[y_pred] == y_true) for p in permutations(range(3)))
    assert clustering_accuracy(y_true, y_pred) == pytest.approx(best)


def test_bad_input():
    with pytest.raises(ValueError, match="same length"):
        clustering_accuracy([0, 1], [0])
    with pytest.raises(ValueError, match="at least one"):
        clustering_accuracy([], [])
