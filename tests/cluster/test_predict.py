"""InContextClustering.predict: new points after the fitted points as labelled anchors."""

import numpy as np
import pytest

from sklearn_icc import InContextClustering
from sklearn_icc.datasets import make_mixture


@pytest.fixture
def X():
    return make_mixture(20, 3, 2, random_state=0)[0]


def test_predict_labels_new_points_with_fitted_anchors(tiny_model, X, monkeypatch):
    from sklearn_icc.cluster import _episodes

    icc = InContextClustering(3, model=tiny_model).fit(X)
    X_new = X[:5] + 0.01
    seen = []
    real = _episodes.constrained_decode

    def spy(loaded, prompt, n_clusters, **kwargs):
        seen.append((prompt.n_points, list(kwargs["forced_labels"])))
        return real(loaded, prompt, n_clusters, **kwargs)

    monkeypatch.setattr(_episodes, "constrained_decode", spy)
    labels = icc.predict(X_new)
    proba = icc.predict_proba(X_new)
    assert labels.dtype == np.int64 and labels.shape == (5,)
    assert labels.min() >= 0 and labels.max() <= 2
    assert proba.shape == (5, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(proba.argmax(axis=1), labels)
    # One prompt: the 20 fitted points, then the 5 new ones; the answer starts with labels_.
    assert seen[0] == (25, icc.labels_.tolist())


def test_predict_chunks_new_points_to_fit_the_context(tmp_path):
    from conftest import build_tiny_model_dir

    path = build_tiny_model_dir(tmp_path / "short", max_position_embeddings=700)
    X_fit = np.random.default_rng(0).normal(size=(8, 2))
    icc = InContextClustering(2, model=path, point_format="paper").fit(X_fit)
    labels = icc.predict(np.random.default_rng(1).normal(size=(40, 2)))  # 48 points do not fit at once
    assert labels.shape == (40,) and set(labels.tolist()) <= {0, 1}


def test_predict_after_a_fit_that_fills_the_context_uses_representatives(tmp_path, monkeypatch):
    from conftest import build_tiny_model_dir

    from sklearn_icc.cluster import _episodes

    path = build_tiny_model_dir(tmp_path / "short", max_position_embeddings=540)  # 20 points fit, 21 do not
    X_fit = np.zeros((20, 2))
    icc = InContextClustering(2, model=path, point_format="paper").fit(X_fit)
    seen = []
    real = _episodes.constrained_decode

    def spy(loaded, prompt, n_clusters, **kwargs):
        seen.append(len(kwargs["forced_labels"]))
        return real(loaded, prompt, n_clusters, **kwargs)

    monkeypatch.setattr(_episodes, "constrained_decode", spy)
    labels = icc.predict(np.random.default_rng(1).normal(size=(30, 2)))
    assert labels.shape == (30,) and labels.dtype == np.int64 and set(labels.tolist()) <= set(icc.labels_.tolist())
    # At most 50 // (2 k) = 12 representatives of each cluster, never all 20 fitted points.
    assert seen and all(n <= 12 * len(set(icc.labels_.tolist())) and n < 20 for n in seen)


def test_predict_after_a_chunked_fit_of_many_points(tiny_model):
    X = make_mixture(300, 3, 2, random_state=1)[0]
    icc = InContextClustering(3, model=tiny_model, chunk_size=60, random_state=0).fit(X)
    labels = icc.predict(X[:20])
    assert labels.shape == (20,) and labels.min() >= 0 and labels.max() <= 2


def test_predict_checks_features(tiny_model, X):
    icc = InContextClustering(3, model=tiny_model).fit(X)
    with pytest.raises(ValueError, match="features"):
        icc.predict(np.zeros((2, 3)))
