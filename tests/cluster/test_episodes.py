"""The episode mechanics: orderings, chunks and labelled anchors, on the tiny model."""

import numpy as np

from sklearn_icc import InContextClustering
from sklearn_icc.cluster import _episodes
from sklearn_icc.datasets import make_mixture


def _spy_decodes(monkeypatch):
    calls = []
    real = _episodes.constrained_decode

    def spy(loaded, prompt, n_clusters, **kwargs):
        calls.append({"n_points": prompt.n_points, **kwargs})
        return real(loaded, prompt, n_clusters, **kwargs)

    monkeypatch.setattr(_episodes, "constrained_decode", spy)
    return calls


def test_temperature_and_seeds_reach_every_chunk(tiny_model, monkeypatch):
    # The chunks after the first used to be decoded greedily, whatever the temperature.
    X = make_mixture(40, 3, 2, random_state=0)[0]
    calls = _spy_decodes(monkeypatch)
    InContextClustering(3, model=tiny_model, chunk_size=10, temperature=0.8, random_state=0).fit(X)
    assert len(calls) >= 4  # the first chunk, then at least three more
    assert all(call["temperature"] == 0.8 for call in calls)
    assert len({call["seed"] for call in calls}) == len(calls)  # each prompt its own seed


def test_sampled_chunks_depend_on_the_seed_and_repeat_with_it(tiny_model):
    X = make_mixture(40, 3, 2, random_state=0)[0]

    def fit(seed):
        return InContextClustering(3, model=tiny_model, chunk_size=10, temperature=5.0, random_state=seed).fit(X)

    a, b, c = fit(0), fit(0), fit(1)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_allclose(a.label_probabilities_, b.label_probabilities_)
    assert not np.array_equal(a.labels_[10:], c.labels_[10:]) or not np.allclose(
        a.label_probabilities_, c.label_probabilities_
    )


def test_greedy_predict_ignores_the_seed(tiny_model):
    X = make_mixture(20, 3, 2, random_state=1)[0]
    a = InContextClustering(3, model=tiny_model, random_state=0).fit(X).predict(X[:6])
    b = InContextClustering(3, model=tiny_model, random_state=7).fit(X).predict(X[:6])
    np.testing.assert_array_equal(a, b)


def test_orderings_are_the_given_order_then_permutations():
    rng = np.random.RandomState(0)
    orders = _episodes.orderings(5, 3, rng)
    np.testing.assert_array_equal(orders[0], np.arange(5))
    assert all(sorted(order) == list(range(5)) for order in orders)
    np.testing.assert_array_equal(orders[1], np.random.RandomState(0).permutation(5))


def test_representatives_are_bounded_per_cluster_and_nearest_the_median():
    X = np.concatenate([np.arange(10.0), 100 + np.arange(7.0)])[:, None]
    labels = np.array([0] * 10 + [1] * 7)
    chosen = _episodes.representatives(X, labels, chunk_size=12, n_clusters=2)  # 12 // 4 = 3 per cluster
    np.testing.assert_array_equal(chosen, [3, 4, 5, 12, 13, 14])
    assert len(_episodes.representatives(X, labels, chunk_size=1, n_clusters=2)) == 2  # at least one each


def test_anchor_labels_in_any_order_map_back(tiny_loaded, monkeypatch):
    from sklearn_icc.runtime.spec import PromptSpec

    spec = PromptSpec.from_params()
    anchors = np.array([[0.0, 0.0], [5.0, 5.0], [0.1, 0.1]])
    calls = _spy_decodes(monkeypatch)
    labels, proba = _episodes.label_after_anchors(anchors, np.array([2, 0, 2]), np.array([[1.0, 1.0]]), 3,
                                                  tiny_loaded, spec)
    # The prompt's anchors are canonical (0, 1, 0); answers come back in the given ids.
    assert list(calls[0]["forced_labels"]) == [0, 1, 0]
    assert labels.shape == (1,) and labels[0] in (0, 1, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert proba.argmax(axis=1)[0] == labels[0]


def test_orderings_decoded_in_one_batch_match_one_at_a_time(tiny_model, monkeypatch):
    X = make_mixture(24, 2, 3, random_state=3)[0]
    batches = []
    real = _episodes.batched_constrained_decode

    def spy(loaded, prompts, n_clusters, **kwargs):
        batches.append(len(prompts))
        return real(loaded, prompts, n_clusters, **kwargs)

    monkeypatch.setattr(_episodes, "batched_constrained_decode", spy)
    for temperature in (0.0, 3.0):
        settings = dict(model=tiny_model, n_orderings=3, temperature=temperature, random_state=5)
        together = InContextClustering(3, **settings).fit(X)
        assert batches == [3]
        with monkeypatch.context() as m:
            m.setattr(_episodes, "_decode_orderings_together", lambda *args: None)
            alone = InContextClustering(3, **settings).fit(X)
        assert batches == [3]
        np.testing.assert_array_equal(together.labels_, alone.labels_)
        np.testing.assert_allclose(together.label_probabilities_, alone.label_probabilities_, atol=1e-5)
        batches.clear()
