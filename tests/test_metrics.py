import numpy as np
import pytest
from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score, normalized_mutual_info_score

from sklearn_icc import clustering_accuracy
from sklearn_icc.metrics import clustering_scores, make_fitted_labels_scorer


def test_perfect_up_to_permutation():
    assert clustering_accuracy([0, 0, 1, 1, 2], [2, 2, 0, 0, 1]) == 1.0


def test_constant_prediction_scores_the_largest_class():
    assert clustering_accuracy([0, 0, 0, 1, 2], [5, 5, 5, 5, 5]) == pytest.approx(0.6)


def test_more_predicted_clusters_than_classes():
    # Only one predicted cluster can match each class.
    assert clustering_accuracy([0, 0, 1, 1], [0, 1, 2, 3]) == pytest.approx(0.5)


def test_fewer_predicted_clusters_than_classes():
    # Two predicted clusters for three classes: the best two classes are matched, the third is wrong.
    assert clustering_accuracy([0, 0, 0, 1, 1, 2], [7, 7, 7, 3, 3, 3]) == pytest.approx(5 / 6)


def test_noise_label_is_one_more_cluster():
    # HDBSCAN's -1 is scored as a cluster: it can match a class of its own...
    assert clustering_accuracy([0, 0, 1, 1, 2, 2], [0, 0, 1, 1, -1, -1]) == 1.0
    # ...and otherwise its points count as wrong.
    assert clustering_accuracy([0, 0, 1, 1, 1, 0], [0, 0, 1, 1, -1, -1]) == pytest.approx(4 / 6)


def test_invariant_to_renaming_labels():
    rng = np.random.default_rng(1)
    y_true, y_pred = rng.integers(0, 4, 60), rng.integers(0, 3, 60)
    renamed = np.array([10, -1, 4])[y_pred]
    assert clustering_accuracy(y_true, y_pred) == clustering_accuracy(y_true, renamed)
    assert clustering_scores(y_true, y_pred) == pytest.approx(clustering_scores(y_true, renamed))


@pytest.mark.parametrize("k_true, k_pred", [(3, 3), (2, 4), (4, 2)])
def test_matches_brute_force_over_assignments(k_true, k_pred):
    from itertools import permutations

    rng = np.random.default_rng(k_true * 10 + k_pred)
    y_true, y_pred = rng.integers(0, k_true, 40), rng.integers(0, k_pred, 40)
    # Each predicted cluster goes to a distinct class (or to none, counted wrong).
    slots = list(range(k_true)) + [-1] * k_pred
    best = max(np.mean(np.array(p)[y_pred] == y_true) for p in permutations(slots, k_pred))
    assert clustering_accuracy(y_true, y_pred) == pytest.approx(best)


def test_scores_are_scikit_learns():
    rng = np.random.default_rng(2)
    y_true, y_pred = rng.integers(0, 3, 50), rng.integers(0, 4, 50)
    scores = clustering_scores(y_true, y_pred)
    assert scores["ari"] == adjusted_rand_score(y_true, y_pred)
    assert scores["nmi"] == normalized_mutual_info_score(y_true, y_pred)
    assert scores["ami"] == adjusted_mutual_info_score(y_true, y_pred)
    assert scores["acc"] == clustering_accuracy(y_true, y_pred)


def test_fitted_labels_scorer_in_grid_search():
    from sklearn.cluster import KMeans
    from sklearn.model_selection import GridSearchCV

    from sklearn_icc.datasets import make_mixture

    X, y = make_mixture(40, 3, 2, df=100.0, random_state=0)
    everything = [(np.arange(len(y)), np.arange(len(y)))]
    search = GridSearchCV(KMeans(n_init=3, random_state=0), {"n_clusters": [1, 3]},
                          scoring=make_fitted_labels_scorer(clustering_accuracy), cv=everything).fit(X, y)
    assert search.best_params_ == {"n_clusters": 3}
    assert search.cv_results_["mean_test_score"][0] == pytest.approx(np.bincount(y).max() / len(y))


def test_bad_input():
    with pytest.raises(ValueError, match="same length"):
        clustering_accuracy([0, 1], [0])
    with pytest.raises(ValueError, match="at least one"):
        clustering_accuracy([], [])


def test_fitted_labels_scorer_reads_a_pipelines_final_step():
    """The README's pipeline under the documented episode_splits recipe: finite scores, no NaN."""
    import warnings

    from sklearn.cluster import KMeans
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sklearn_icc.datasets import make_mixture
    from sklearn_icc.model_selection import episode_splits

    episodes = [make_mixture(30, 3, 2, df=100.0, random_state=seed) for seed in (0, 1)]
    X = np.vstack([e[0] for e in episodes])
    y = np.concatenate([e[1] for e in episodes])
    pipe = make_pipeline(StandardScaler(), KMeans(n_init=3, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # GridSearchCV warns when a split's score fails
        search = GridSearchCV(pipe, {"kmeans__n_clusters": [1, 3]}, scoring=make_fitted_labels_scorer(clustering_accuracy),
                              cv=episode_splits([30, 30]), refit=False, error_score="raise").fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores))
    assert search.best_params_ == {"kmeans__n_clusters": 3}
    first = make_pipeline(StandardScaler(), KMeans(1, n_init=3, random_state=0)).fit(X[:30])
    assert search.cv_results_["split0_test_score"][0] == pytest.approx(clustering_accuracy(y[:30], first[-1].labels_))


def test_fitted_labels_scorer_refuses_what_it_cannot_score():
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler

    X, y = np.array([[0.0], [0.1], [5.0], [5.1]]), np.array([0, 0, 1, 1])
    scorer = make_fitted_labels_scorer()
    with pytest.raises(TypeError, match="no labels_"):
        scorer(StandardScaler().fit(X), X, y)
    km = KMeans(2, n_init=1, random_state=0).fit(X)
    with pytest.raises(ValueError, match="one label per fitted point"):
        scorer(km, X[:3], y[:3])
