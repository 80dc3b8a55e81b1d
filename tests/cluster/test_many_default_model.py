"""Batched decoding on the shipped default model gives the labels of one episode at a time."""

import numpy as np
import pytest

from sklearn_icc import in_context_clustering, in_context_clustering_many
from sklearn_icc.datasets import make_mixture

pytestmark = pytest.mark.default_model


def test_batches_equal_one_episode_at_a_time_on_the_default_model():
    episodes = [make_mixture(n, 3, 3, df=2.0, random_state=n)[0] for n in (10, 19)]
    expected = [in_context_clustering(X, 3, device="cpu") for X in episodes]
    for prefill in ("padded", "apart"):
        labels, proba = in_context_clustering_many(episodes, 3, device="cpu", batch_size=2, prefill=prefill)
        for (e_labels, e_proba), got, got_proba in zip(expected, labels, proba):
            np.testing.assert_array_equal(got, e_labels)
            np.testing.assert_allclose(got_proba, e_proba, atol=1e-4)
