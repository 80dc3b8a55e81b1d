import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_icc import InContextClustering, in_context_clustering
from sklearn_icc.datasets import make_mixture
from sklearn_icc.metrics import make_fitted_labels_scorer
from sklearn_icc.model_selection import episode_splits
from sklearn_icc.runtime import PromptTemplate


@pytest.fixture
def X():
    return make_mixture(20, 3, 2, random_state=0)[0]


def test_fit_sets_valid_labels_and_fitted_state(tiny_model, X):
    icc = InContextClustering(model=tiny_model, n_clusters=3, device="auto").fit(X)
    assert icc.labels_.dtype == np.int64 and icc.labels_.shape == (20,)
    assert icc.labels_.min() >= 0 and icc.labels_.max() <= 2
    assert icc.label_probabilities_.shape == (20, 3)
    np.testing.assert_allclose(icc.label_probabilities_.sum(axis=1), 1.0)
    assert icc.n_features_in_ == 2
    assert icc.device_ == "cpu" and icc.dtype_ == "float32"
    assert icc.device == "auto" and icc.dtype == "auto"  # parameters are never rewritten
    assert icc.n_prompt_tokens_ > 20 * 10
    assert icc.n_decoding_failures_ == 0
    assert set(icc.timings_) == {"prefill_seconds", "decode_seconds"}


def test_fit_predict_equals_labels(tiny_model, X):
    icc = InContextClustering(model=tiny_model, n_clusters=3)
    np.testing.assert_array_equal(icc.fit_predict(X), icc.labels_)


def test_function_and_estimator_agree(tiny_model, X):
    labels, proba = in_context_clustering(X, 3, model=tiny_model)
    icc = InContextClustering(3, model=tiny_model).fit(X)
    np.testing.assert_array_equal(labels, icc.labels_)
    np.testing.assert_allclose(proba, icc.label_probabilities_)


@pytest.mark.parametrize("point_format", ["paper", "compact"])
@pytest.mark.parametrize("prompt", ["paper", "short", PromptTemplate(system=None, instruction="{k} groups: {points}")])
def test_prompts_and_formats(tiny_model, X, prompt, point_format):
    labels = InContextClustering(2, model=tiny_model, prompt=prompt, point_format=point_format).fit_predict(X)
    assert labels.shape == (20,) and set(labels.tolist()) <= {0, 1}


def test_condition_changes_the_prompt(tiny_model, X):
    plain = InContextClustering(2, model=tiny_model).fit(X)
    conditioned = InContextClustering(2, model=tiny_model, condition="the second feature").fit(X)
    assert conditioned.n_prompt_tokens_ == plain.n_prompt_tokens_ + len(" based on the second feature")


def test_free_decoding_warns_and_counts(tiny_model, X):
    icc = InContextClustering(2, model=tiny_model, decoding="free")
    with pytest.warns(RuntimeWarning, match="Free decoding failed"):
        icc.fit(X)
    assert icc.n_decoding_failures_ == 20  # a random model writes no list
    assert icc.labels_.dtype == np.int64 and set(icc.labels_.tolist()) <= {0, 1}


def test_sampling_follows_random_state(tiny_model, X):
    a = InContextClustering(3, model=tiny_model, temperature=5.0, random_state=0).fit_predict(X)
    b = InContextClustering(3, model=tiny_model, temperature=5.0, random_state=0).fit_predict(X)
    np.testing.assert_array_equal(a, b)


def test_single_cluster(tiny_model, X):
    icc = InContextClustering(model=tiny_model, n_clusters=1).fit(X)
    np.testing.assert_array_equal(icc.labels_, 0)


def test_pickle_leaves_the_weights_out(tiny_model, X):
    icc = InContextClustering(3, model=tiny_model).fit(X)
    data = pickle.dumps(icc)
    assert len(data) < 20_000
    restored = pickle.loads(data)
    np.testing.assert_array_equal(restored.labels_, icc.labels_)
    np.testing.assert_array_equal(restored.fit(X).labels_, icc.labels_)


def test_in_a_pipeline_like_kmeans(tiny_model, X):
    pipe = make_pipeline(StandardScaler(), InContextClustering(3, model=tiny_model))
    labels = pipe.fit_predict(X)
    assert labels.shape == (20,) and labels.dtype == np.int64


def test_grid_search_over_prompt_and_format(tiny_model):
    """Episodes stacked into one table; each CV split fits and scores one labelled episode."""
    episodes = [make_mixture(12, 2, 2, random_state=seed) for seed in (1, 2)]
    X = np.vstack([e[0] for e in episodes])
    y = np.concatenate([e[1] for e in episodes])
    search = GridSearchCV(
        InContextClustering(2, model=tiny_model),
        {"prompt": ["paper", "short"], "point_format": ["paper", "compact"]},
        scoring=make_fitted_labels_scorer(),
        cv=episode_splits([12, 12]),
        refit=False,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    second = InContextClustering(2, model=tiny_model).fit(X[12:])
    assert search.cv_results_["split1_test_score"][0] == pytest.approx(adjusted_rand_score(y[12:], second.labels_))


@pytest.mark.parametrize(
    "bad, error, match",
    [
        (np.array([[1.0, np.nan], [2.0, 3.0]]), ValueError, "NaN"),
        (np.array([[1.0, np.inf], [2.0, 3.0]]), ValueError, "infinity"),
        (np.empty((0, 2)), ValueError, "0 sample"),
        (np.arange(5.0), ValueError, "Expected 2D array"),
        # Strings are texts, which must be 1-D (tests/cluster/test_texts.py).
        (np.array([["a", "b"], ["c", "d"]]), ValueError, "texts must be a 1-D sequence"),
        (np.array([[1.0, "x"], [2.0, 3.0]], dtype=object), ValueError, "texts must be a 1-D sequence"),
        (sp.csr_matrix(np.eye(3)), TypeError, "Sparse data"),
        (np.ones((2, 2)), ValueError, r"n_samples=2 should be >= n_clusters=3"),
    ],
)
def test_bad_input(tiny_model, bad, error, match):
    with pytest.raises(error, match=match):
        InContextClustering(3, model=tiny_model).fit(bad)


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"n_clusters": 0}, ValueError, "n_clusters"),
        ({"n_clusters": 2.5}, ValueError, "n_clusters"),
        ({"decoding": "beam"}, ValueError, "decoding"),
        ({"point_format": "morse"}, ValueError, "point_format"),
        ({"prompt": "limerick"}, ValueError, "prompt"),
        ({"temperature": -1.0}, ValueError, "temperature"),
        ({"dtype": "int8"}, ValueError, "dtype"),
    ],
)
def test_bad_parameters(tiny_model, X, params, error, match):
    with pytest.raises(error, match=match):
        InContextClustering(model=tiny_model, **params).fit(X)


def test_more_clusters_than_labels(tiny_model):
    X = np.random.default_rng(0).normal(size=(105, 2))
    with pytest.raises(ValueError, match="n_clusters=101 is above the 100 cluster labels"):
        InContextClustering(model=tiny_model, n_clusters=101).fit(X)


def test_prompt_over_the_context_window(tmp_path):
    from conftest import build_tiny_model_dir

    path = build_tiny_model_dir(tmp_path / "short", max_position_embeddings=200)
    with pytest.raises(ValueError, match=r"needs \d+ tokens .* context window of 200 tokens"):
        InContextClustering(2, model=path, point_format="paper").fit(np.zeros((20, 2)))


def test_unloadable_model_path(tmp_path, X):
    with pytest.raises(ValueError, match="no such file or folder"):
        InContextClustering(2, model=str(tmp_path / "missing")).fit(X)


def test_hub_id_without_opt_in(X):
    with pytest.raises(ValueError, match="downloading is off"):
        InContextClustering(2, model="nobody/not-a-cached-model").fit(X)


@pytest.mark.parametrize("n_orderings", [2, 3])
def test_consensus_over_orderings(tiny_model, X, n_orderings):
    icc = InContextClustering(3, model=tiny_model, n_orderings=n_orderings, random_state=0).fit(X)
    assert icc.labels_.dtype == np.int64 and icc.labels_.shape == (20,)
    assert icc.labels_.min() >= 0 and icc.labels_.max() <= 2
    np.testing.assert_allclose(icc.label_probabilities_.sum(axis=1), 1.0)
    np.testing.assert_array_equal(icc.label_probabilities_.argmax(axis=1), icc.labels_)
    again = InContextClustering(3, model=tiny_model, n_orderings=n_orderings, random_state=0).fit(X)
    np.testing.assert_array_equal(icc.labels_, again.labels_)


def test_chunked_fit_labels_every_point(tiny_model, monkeypatch):
    from sklearn_icc.cluster import _episodes

    X = make_mixture(45, 3, 2, random_state=4)[0]
    calls = []
    real = _episodes.label_after_anchors

    def spy(anchors, anchor_labels, new, n_clusters, loaded, spec, **kwargs):
        calls.append((len(anchors), len(new), kwargs["chunk_size"]))
        return real(anchors, anchor_labels, new, n_clusters, loaded, spec, **kwargs)

    monkeypatch.setattr(_episodes, "label_after_anchors", spy)
    icc = InContextClustering(3, model=tiny_model, chunk_size=15, random_state=0).fit(X)
    assert icc.labels_.shape == (45,) and icc.labels_.dtype == np.int64
    assert icc.labels_.min() >= 0 and icc.labels_.max() <= 2
    np.testing.assert_array_equal(icc.labels_, canonical(icc.labels_))
    np.testing.assert_allclose(icc.label_probabilities_.sum(axis=1), 1.0)
    n_anchors, n_rest, size = calls[0]
    assert n_rest == 30 and size == 15 and 1 <= n_anchors <= 15


def test_points_that_do_not_fit_one_prompt_are_chunked(tmp_path):
    from conftest import build_tiny_model_dir

    path = build_tiny_model_dir(tmp_path / "short", max_position_embeddings=1500)
    X = np.random.default_rng(0).normal(size=(90, 2))  # about 2600 tokens in one prompt
    icc = InContextClustering(2, model=path, point_format="paper", random_state=0).fit(X)
    assert icc.labels_.shape == (90,) and set(icc.labels_.tolist()) <= {0, 1}
    assert icc.n_prompt_tokens_ < 1500


def test_chunks_shrink_until_they_fit_unless_the_size_is_given(tmp_path):
    from conftest import build_tiny_model_dir

    path = build_tiny_model_dir(tmp_path / "short", max_position_embeddings=540)  # about 15 such points fit
    X = np.random.default_rng(0).normal(size=(60, 2))
    icc = InContextClustering(2, model=path, point_format="paper", random_state=0).fit(X)  # chunks of 50 would not fit
    assert icc.labels_.shape == (60,) and set(icc.labels_.tolist()) <= {0, 1}
    with pytest.raises(ValueError, match="A chunk of 40 of the 60 points needs .* give a smaller chunk_size"):
        InContextClustering(2, model=path, point_format="paper", chunk_size=40).fit(X)


def test_a_sliding_window_model_chunks_to_its_window(tmp_path):
    # Gemma 3's sliding-window layers: a prompt past the window is chunked as one past the
    # context; before, the decoding's cut of rejected guesses failed in the cache (RuntimeError).
    from conftest import build_tiny_gemma_dir

    path = build_tiny_gemma_dir(tmp_path / "gemma", sliding_window=600)
    X = np.random.default_rng(0).normal(size=(60, 2))  # about 1800 tokens in one prompt
    icc = InContextClustering(2, model=path, point_format="paper", random_state=0).fit(X)
    assert icc.labels_.shape == (60,) and icc.labels_.dtype == np.int64 and set(icc.labels_.tolist()) <= {0, 1}
    assert icc.n_prompt_tokens_ < 600


def test_chunk_size_below_n_clusters(tiny_model, X):
    with pytest.raises(ValueError, match="chunk_size=2 should be >= n_clusters=3"):
        InContextClustering(3, model=tiny_model, chunk_size=2).fit(X)


def canonical(labels):
    from sklearn_icc.runtime import canonical_labels

    return canonical_labels(labels)
