import pickle

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_icc import InContextClustering, in_context_clustering, in_context_clustering_many
from sklearn_icc.datasets import make_mixture
from sklearn_icc.runtime import load_model

SIZES = [(12, 3, 2), (25, 2, 3), (7, 4, 2), (18, 3, 1), (30, 3, 3)]  # (n, k, d) per episode


@pytest.fixture(scope="module")
def episodes():
    return [make_mixture(n, k, d, random_state=i)[0] for i, (n, k, d) in enumerate(SIZES)]


@pytest.fixture(scope="module")
def ks():
    return [k for _, k, _ in SIZES]


def seeds_of(random_state, n):
    return np.random.RandomState(random_state).randint(np.iinfo(np.int32).max, size=n)


def assert_same(expected, labels, probabilities):
    assert len(labels) == len(expected) == len(probabilities)
    for (e_labels, e_proba), got, proba in zip(expected, labels, probabilities):
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, e_labels)
        np.testing.assert_allclose(proba, e_proba, atol=1e-5)


def test_many_equals_one_episode_at_a_time(tiny_model, episodes, ks):
    expected = [in_context_clustering(X, k, model=tiny_model, device="cpu") for X, k in zip(episodes, ks)]
    for batch_size in (1, 2, 8):
        labels, proba = in_context_clustering_many(episodes, ks, model=tiny_model, device="cpu", batch_size=batch_size)
        assert_same(expected, labels, proba)
        assert [p.shape for p in proba] == [(n, k) for n, k, _ in SIZES]


def test_orderings_and_sampling_follow_each_episodes_seed(tiny_model, episodes, ks):
    seeds = seeds_of(3, len(episodes))
    settings = dict(model=tiny_model, device="cpu", n_orderings=2, temperature=2.0)
    expected = [in_context_clustering(X, k, random_state=s, **settings) for X, k, s in zip(episodes, ks, seeds)]
    labels, proba = in_context_clustering_many(episodes, ks, random_state=3, batch_size=3, **settings)
    assert_same(expected, labels, proba)
    other, _ = in_context_clustering_many(episodes, ks, random_state=4, batch_size=3, **settings)
    assert any(not np.array_equal(a, b) for a, b in zip(labels, other))


def test_episodes_that_need_chunks_are_clustered_alone(tiny_model, episodes, ks):
    seeds = seeds_of(0, len(episodes))
    expected = [
        in_context_clustering(X, k, model=tiny_model, device="cpu", chunk_size=10, random_state=s)
        for X, k, s in zip(episodes, ks, seeds)
    ]
    labels, proba = in_context_clustering_many(episodes, ks, model=tiny_model, device="cpu", chunk_size=10, random_state=0)
    assert_same(expected, labels, proba)


def test_joblib_workers_give_the_sequential_labels(tiny_model, episodes):
    sequential, _ = in_context_clustering_many(episodes, 2, model=tiny_model, device="cpu", random_state=0)
    with joblib.parallel_config(backend="threading"):
        parallel, _ = in_context_clustering_many(episodes, 2, model=tiny_model, device="cpu", random_state=0, n_jobs=2)
    for a, b in zip(sequential, parallel):
        np.testing.assert_array_equal(a, b)


def test_worker_tasks_pickle_without_the_model(tiny_model, episodes, monkeypatch):
    # Process backends (loky, Dask, Ray) pickle each task: it must hold data and settings,
    # never weights. (A loky run, 40 s here, mostly starting workers, is in the docs.)
    from sklearn_icc.cluster import _many

    tasks = []
    monkeypatch.setattr(_many, "Parallel", lambda n_jobs: lambda calls: tasks.extend(calls) or [])
    in_context_clustering_many(episodes, 2, model=tiny_model, n_jobs=2)
    assert len(tasks) == 2
    for function, args, kwargs in tasks:
        assert function is _many._cluster_in_worker
        assert len(pickle.dumps((args, kwargs))) < 20_000


def test_a_loaded_model_is_used_as_it_is(tiny_loaded, tiny_model, episodes):
    by_path, _ = in_context_clustering_many(episodes[:2], 2, model=tiny_model, device="cpu")
    by_object, _ = in_context_clustering_many(episodes[:2], 2, model=tiny_loaded)
    for a, b in zip(by_path, by_object):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("device_map", ["cpu", {"": "cpu"}])
def test_device_map_loads_through_accelerate(tiny_model, tiny_loaded, episodes, device_map):
    sharded = load_model(tiny_model, device="cpu", device_map=device_map)
    assert sharded is not tiny_loaded and sharded.device.type == "cpu"
    assert load_model(tiny_model, device="cpu", device_map=device_map) is sharded
    plain, _ = in_context_clustering_many(episodes[:2], 2, model=tiny_loaded)
    mapped, _ = in_context_clustering_many(episodes[:2], 2, model=tiny_model, device="cpu", device_map=device_map)
    for a, b in zip(plain, mapped):
        np.testing.assert_array_equal(a, b)


def test_estimator_fit_predict_many_equals_fit_predict(tiny_model, episodes):
    icc = InContextClustering(model=tiny_model, n_clusters=2, device="cpu")
    labels = icc.fit_predict_many(episodes, batch_size=4)
    for X, got in zip(episodes, labels):
        np.testing.assert_array_equal(got, clone(icc).fit_predict(X))
    assert not hasattr(icc, "labels_")  # one estimator holds one episode's fit


def test_estimator_fit_predict_many_checks(tiny_model, episodes):
    with pytest.raises(ValueError, match="decoding='constrained' only"):
        InContextClustering(model=tiny_model, decoding="free").fit_predict_many(episodes)
    with pytest.raises(InvalidParameterError):
        InContextClustering(model=tiny_model, n_orderings=0).fit_predict_many(episodes)


def test_bad_episodes(tiny_model, episodes):
    bad = [episodes[0], episodes[1].copy()]
    bad[1][0, 0] = np.nan
    with pytest.raises(ValueError, match="X_list\\[1\\] contains NaN"):
        in_context_clustering_many(bad, model=tiny_model)
    with pytest.raises(ValueError, match="X_list is empty"):
        in_context_clustering_many([], model=tiny_model)
    with pytest.raises(ValueError, match="n_samples=2, which should be >= n_clusters=3"):
        in_context_clustering_many([episodes[0], np.zeros((2, 2))], 3, model=tiny_model)
    with pytest.raises(ValueError, match="one such int per episode"):
        in_context_clustering_many(episodes, [2, 3], model=tiny_model)
    with pytest.raises(ValueError, match="chunk_size=2 should be >= n_clusters=3"):
        in_context_clustering_many(episodes, 3, chunk_size=2, model=tiny_model)
    with pytest.raises(InvalidParameterError):
        in_context_clustering_many(episodes, batch_size=0, model=tiny_model)
    with pytest.raises(InvalidParameterError):
        in_context_clustering_many(episodes[0], model=tiny_model)  # one array, not a list of them
