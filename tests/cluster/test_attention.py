import pickle

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import GridSearchCV

from sklearn_icc import AttentionSpectralClustering, attention_spectral_clustering
from sklearn_icc.cluster import layer_affinities
from sklearn_icc.cluster._affinity import eigengap_score
from sklearn_icc.datasets import make_mixture
from sklearn_icc.metrics import make_fitted_labels_scorer
from sklearn_icc.model_selection import episode_splits


@pytest.fixture
def X():
    return make_mixture(15, 3, 2, random_state=0)[0]


@pytest.mark.parametrize("affinity", ["attention", "hidden"])
@pytest.mark.parametrize("layer", [0, -1, "auto"])
def test_fit_sets_labels_affinity_and_layer(tiny_model, X, affinity, layer):
    asc = AttentionSpectralClustering(3, model=tiny_model, layer=layer, affinity=affinity, random_state=0).fit(X)
    assert asc.labels_.dtype == np.int64 and asc.labels_.shape == (15,)
    assert asc.labels_.min() >= 0 and asc.labels_.max() <= 2
    A = asc.affinity_matrix_
    assert A.shape == (15, 15) and np.allclose(A, A.T) and np.all(np.diag(A) == 0)
    assert asc.layer_ in (0, 1)
    assert asc.layer_ == {0: 0, -1: 1}.get(layer, asc.layer_)
    assert sorted(asc.layer_scores_) == ([0, 1] if layer == "auto" else [])
    assert asc.layer == layer  # parameters are never rewritten
    assert asc.device_ == "cpu"


@pytest.mark.parametrize("layer, heads", [("auto", None), (1, None), (0, [1, 2])])
def test_fit_equals_the_all_eager_fit(tiny_model, X, layer, heads):
    """Eager attention at the chosen layers only gives the affinity the all-eager pass gave."""
    from sklearn_icc.runtime import load_model
    from sklearn_icc.runtime.capture.attention import eager_attention

    def fit():
        return AttentionSpectralClustering(3, model=tiny_model, layer=layer, affinity="attention", heads=heads,
                                           random_state=0).fit(X)

    asc = fit()
    model = load_model(tiny_model, device="cpu").model
    assert asc._resolve_runtime()[0].model is model  # the reference below runs the same model
    with eager_attention(model):
        reference = fit()
    np.testing.assert_allclose(asc.affinity_matrix_, reference.affinity_matrix_, rtol=1e-5, atol=1e-7)
    assert asc.layer_ == reference.layer_
    assert asc.layer_scores_ == pytest.approx(reference.layer_scores_, rel=1e-5)
    np.testing.assert_array_equal(asc.labels_, reference.labels_)
    assert model.config._attn_implementation == "sdpa"


def test_function_matches_estimator(tiny_model, X):
    labels, A, layer, _ = attention_spectral_clustering(X, 3, model=tiny_model, layer=1, random_state=0)
    asc = AttentionSpectralClustering(3, model=tiny_model, layer=1, random_state=0).fit(X)
    np.testing.assert_array_equal(labels, asc.labels_)
    np.testing.assert_allclose(A, asc.affinity_matrix_)


def test_all_layer_affinities_from_one_pass(tiny_model, X):
    affinities = layer_affinities(X, 3, model=tiny_model, affinity="attention")
    assert sorted(affinities) == [0, 1]
    single = layer_affinities(X, 3, model=tiny_model, layers=[1], affinity="attention")
    np.testing.assert_allclose(affinities[1], single[1], rtol=1e-5)


def test_heads(tiny_model, X):
    every = AttentionSpectralClustering(3, model=tiny_model, layer=0, affinity="attention").fit(X)
    some = AttentionSpectralClustering(3, model=tiny_model, layer=0, affinity="attention", heads=[0, 2]).fit(X)
    assert some.labels_.shape == (15,)
    assert not np.allclose(every.affinity_matrix_, some.affinity_matrix_)
    with pytest.raises(ValueError, match="heads="):
        AttentionSpectralClustering(3, model=tiny_model, layer=0, affinity="attention", heads=[9]).fit(X)


def test_defaults_are_the_measured_best(tiny_model):
    asc = AttentionSpectralClustering()
    assert (asc.layer, asc.affinity) == (9, "hidden")
    with pytest.raises(ValueError, match="layer=9 is out of range for a model with 2 layers"):
        AttentionSpectralClustering(2, model=tiny_model).fit(np.zeros((4, 2)))


def test_layer_out_of_range(tiny_model, X):
    with pytest.raises(ValueError, match="layer=2 is out of range for a model with 2 layers"):
        AttentionSpectralClustering(3, model=tiny_model, layer=2).fit(X)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.array([[1.0, np.nan], [2.0, 3.0], [0.0, 1.0]]), "NaN"),
        (np.empty((0, 2)), "0 sample"),
        (np.ones((2, 2)), "n_samples=2 should be >= n_clusters=3"),
    ],
)
def test_bad_input_is_checked_like_the_generative_estimator(tiny_model, bad, match):
    with pytest.raises(ValueError, match=match):
        AttentionSpectralClustering(3, model=tiny_model, layer=0).fit(bad)


def test_pickle_leaves_the_weights_out(tiny_model, X):
    asc = AttentionSpectralClustering(3, model=tiny_model, layer=0, random_state=0).fit(X)
    data = pickle.dumps(asc)
    assert len(data) < 20_000
    np.testing.assert_array_equal(pickle.loads(data).labels_, asc.labels_)


def test_grid_search_over_layer_and_prompt_with_ari(tiny_model):
    """The documented recipe: one labelled episode per CV split, scored by ARI."""
    episodes = [make_mixture(10, 2, 2, random_state=seed) for seed in (1, 2)]
    X = np.vstack([e[0] for e in episodes])
    y = np.concatenate([e[1] for e in episodes])
    search = GridSearchCV(
        AttentionSpectralClustering(2, model=tiny_model, random_state=0),
        {"layer": [0, 1], "prompt": ["paper", "short"]},
        scoring=make_fitted_labels_scorer(),
        cv=episode_splits([10, 10]),
        refit=False,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    # Each split's score is the ARI of that episode's own fit.
    first = AttentionSpectralClustering(2, model=tiny_model, layer=0, random_state=0).fit(X[:10])
    assert search.cv_results_["split0_test_score"][0] == pytest.approx(adjusted_rand_score(y[:10], first.labels_))


def test_grid_search_without_labels(tiny_model):
    """A label-free score: the eigengap of the affinity the estimator built."""
    X = make_mixture(12, 2, 2, random_state=3)[0]

    def eigengap(estimator, X_episode, y=None):
        return eigengap_score(estimator.affinity_matrix_, estimator.n_clusters)

    search = GridSearchCV(
        AttentionSpectralClustering(2, model=tiny_model, random_state=0),
        {"layer": [0, 1]},
        scoring=eigengap,
        cv=episode_splits([12]),
        refit=False,
    ).fit(X)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and search.best_params_["layer"] == int(np.argmax(scores))
