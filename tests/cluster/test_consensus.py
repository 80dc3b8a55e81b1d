"""Combining clusterings of the same points made under different orders."""

import numpy as np


def test_consensus_aligns_permuted_label_names():
    from sklearn_icc.cluster._consensus import align_labels, consensus_labels

    reference = np.array([0, 0, 1, 1, 2, 2])
    renamed = np.array([2, 2, 0, 0, 1, 1])
    np.testing.assert_array_equal(align_labels(reference, renamed, 3)[renamed], reference)
    one_hot = np.eye(3)
    labels, proba = consensus_labels([reference, renamed, renamed], [one_hot[reference], one_hot[renamed], one_hot[renamed]], 3)
    np.testing.assert_array_equal(labels, reference)
    np.testing.assert_allclose(proba, one_hot[reference])
    # A disagreement is settled by the majority, after alignment.
    odd = np.array([1, 1, 1, 2, 0, 0])
    labels, _ = consensus_labels([reference, renamed, odd], [one_hot[reference], one_hot[renamed], one_hot[odd]], 3)
    np.testing.assert_array_equal(labels, reference)
