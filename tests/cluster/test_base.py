"""What both estimators share: KMeans-shaped calls, validated public functions, scores, pickles."""

import pickle

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_icc import AttentionSpectralClustering, InContextClustering
from sklearn_icc import attention_spectral_clustering, in_context_clustering
from sklearn_icc.cluster import layer_affinities
from sklearn_icc.datasets import make_mixture


@pytest.fixture
def X():
    return make_mixture(12, 2, 2, random_state=0)[0]


@pytest.mark.parametrize("Estimator", [InContextClustering, AttentionSpectralClustering])
def test_n_clusters_is_the_first_positional_parameter(Estimator, tiny_model, X):
    estimator = Estimator(2, model=tiny_model).set_params(**({"layer": 0} if Estimator is AttentionSpectralClustering else {}))
    assert estimator.n_clusters == 2 and estimator.model == tiny_model
    assert estimator.fit(X).labels_.max() <= 1


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda X, m: in_context_clustering(X, 2, model=m, decoding="Free"), "decoding"),
        (lambda X, m: in_context_clustering(X, 2, model=m, point_format="binary"), "point_format"),
        (lambda X, m: in_context_clustering(X, 0, model=m), "n_clusters"),
        (lambda X, m: attention_spectral_clustering(X, 2, model=m, affinity="Hidden"), "affinity"),
        (lambda X, m: attention_spectral_clustering(X, 2, model=m, layer="best"), "layer"),
        (lambda X, m: layer_affinities(X, 2, model=m, layers="some"), "layers"),
        (lambda X, m: layer_affinities(X, 2, model=m, dtype="float8"), "dtype"),
    ],
)
def test_public_functions_validate_their_parameters(call, match, tiny_model, X):
    with pytest.raises(InvalidParameterError, match=match):
        call(X, tiny_model)


def test_layer_true_is_no_layer_one(tiny_model, X):
    with pytest.raises(ValueError, match="layer must be an int or 'auto', got True"):
        AttentionSpectralClustering(2, model=tiny_model, layer=True).fit(X)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"heads": ["a"], "affinity": "attention"}, r"heads=\['a'\] must be a list of attention head indices"),
        ({"heads": [0], "affinity": "hidden"}, "applies to affinity='attention' only"),
    ],
)
def test_heads_are_checked(params, match, tiny_model, X):
    with pytest.raises(ValueError, match=match):
        AttentionSpectralClustering(2, model=tiny_model, layer=0, **params).fit(X)


def test_auto_layer_on_one_point_is_a_clear_error(tiny_model):
    with pytest.raises(ValueError, match="needs n_samples >= 2"):
        AttentionSpectralClustering(1, model=tiny_model, layer="auto").fit(np.zeros((1, 2)))
    assert AttentionSpectralClustering(1, model=tiny_model, layer=0).fit(np.zeros((1, 2))).labels_.tolist() == [0]


def test_attention_predict_labels_new_points_by_affinity_to_the_clusters(tiny_model, X):
    asc = AttentionSpectralClustering(2, model=tiny_model, layer=-1, random_state=0).fit(X)
    proba = asc.predict_proba(X[:5] + 0.01)
    assert proba.shape == (5, 2) and np.all(proba >= 0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    labels = asc.predict(X[:5] + 0.01)
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels, proba.argmax(axis=1))
    with pytest.raises(ValueError, match="features"):
        asc.predict(np.zeros((2, 3)))


def test_attention_predict_after_a_fit_that_fills_the_context(tmp_path):
    from conftest import build_tiny_model_dir

    path = build_tiny_model_dir(tmp_path / "short", max_position_embeddings=540)
    X_fit = np.zeros((20, 2))
    asc = AttentionSpectralClustering(2, model=path, layer=0, random_state=0).fit(X_fit)
    labels = asc.predict(np.random.default_rng(1).normal(size=(30, 2)))
    assert labels.shape == (30,) and set(labels.tolist()) <= {0, 1}


def test_scores_need_no_labels_and_serve_grid_search(tiny_model):
    X = make_mixture(24, 2, 2, random_state=1)[0]
    icc = InContextClustering(2, model=tiny_model).fit(X)
    assert icc.score(X[:6]) <= 0.0
    asc = AttentionSpectralClustering(2, model=tiny_model, layer=0, random_state=0).fit(X)
    assert np.isfinite(asc.score(X[:8]))
    search = GridSearchCV(AttentionSpectralClustering(2, model=tiny_model, random_state=0), {"layer": [0, 1]}, cv=2)
    search.fit(X)
    assert search.best_params_["layer"] in (0, 1) and np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    grid = GridSearchCV(InContextClustering(2, model=tiny_model), {"point_format": ["paper", "compact"]}, cv=2)
    assert np.all(np.isfinite(grid.fit(X).cv_results_["mean_test_score"]))


def test_verbose_shows_progress_over_chunks(tiny_model, capsys):
    X = make_mixture(30, 2, 2, random_state=2)[0]
    InContextClustering(2, model=tiny_model, chunk_size=10, verbose=1, random_state=0).fit(X)
    assert "labelling points" in capsys.readouterr().err
    InContextClustering(2, model=tiny_model, chunk_size=10, random_state=0).fit(X)
    assert "labelling points" not in capsys.readouterr().err


def test_function_details_and_small_pickles(tiny_model, X):
    labels, proba, details = in_context_clustering(X, 2, model=tiny_model, n_orderings=2, random_state=0,
                                                   return_details=True)
    assert len(details["prompts"]) == len(details["results"]) == 2 and details["loaded"].model is not None
    icc = InContextClustering(2, model=tiny_model, n_orderings=2, random_state=0).fit(X)
    np.testing.assert_array_equal(icc.labels_, labels)
    restored = pickle.loads(pickle.dumps(icc))
    assert not hasattr(restored, "_fit_details")
    np.testing.assert_array_equal(restored.predict(X[:3]), icc.predict(X[:3]))


def test_probabilities_are_each_points_own_label_probability(tiny_model, X):
    icc = InContextClustering(2, model=tiny_model).fit(X)
    np.testing.assert_allclose(icc.probabilities_, icc.label_probabilities_[np.arange(len(X)), icc.labels_])
    assert icc.probabilities_.shape == (len(X),) and np.all((icc.probabilities_ > 0) & (icc.probabilities_ <= 1))
