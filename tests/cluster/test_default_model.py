"""The estimators on the shipped default model, SmolLM2-135M-Instruct (its loading is
tested in tests/runtime/model/test_default_model.py)."""

import numpy as np
import pytest

from sklearn_icc import InContextClustering
from sklearn_icc.datasets import make_mixture
from sklearn_icc.runtime import load_model

pytestmark = pytest.mark.default_model


@pytest.fixture(scope="module")
def default_loaded():
    return load_model("default", device="cpu")


@pytest.mark.parametrize("point_format", ["paper", "compact"])
def test_default_model_gives_one_valid_label_per_point(default_loaded, point_format):
    X, _ = make_mixture(50, 3, 3, df=1.5, random_state=0)
    icc = InContextClustering(n_clusters=3, point_format=point_format, device="cpu").fit(X)
    assert icc.labels_.dtype == np.int64 and icc.labels_.shape == (50,)
    assert icc.labels_.min() >= 0 and icc.labels_.max() <= 2
    np.testing.assert_allclose(icc.label_probabilities_.sum(axis=1), 1.0)
    tokens_per_point = icc.n_prompt_tokens_ / 50
    assert (14 < tokens_per_point < 22) if point_format == "paper" else (6 < tokens_per_point < 12)


def test_default_model_labels_any_valid_shape(default_loaded):
    rng = np.random.default_rng(0)
    for n, d, k in [(2, 1, 2), (7, 5, 4), (12, 2, 10)]:
        X = rng.standard_cauchy(size=(n, d)) * 100
        labels = InContextClustering(n_clusters=k, device="cpu").fit_predict(X)
        assert labels.shape == (n,) and labels.dtype == np.int64
        assert labels.min() >= 0 and labels.max() < k


@pytest.mark.parametrize("layer, affinity", [(15, "attention"), ("auto", "attention"), (-20, "hidden"), (9, "hidden")])
def test_attention_spectral_clustering_on_the_default_model(default_loaded, layer, affinity):
    from sklearn_icc import AttentionSpectralClustering

    X, _ = make_mixture(30, 2, 2, df=5.0, random_state=0)
    asc = AttentionSpectralClustering(n_clusters=2, layer=layer, affinity=affinity, adapter=None, random_state=0,
                                      device="cpu")
    asc.fit(X)
    assert asc.labels_.dtype == np.int64 and asc.labels_.shape == (30,)
    assert set(asc.labels_.tolist()) <= {0, 1}
    assert asc.affinity_matrix_.shape == (30, 30)
    assert 0 <= asc.layer_ < 30
    assert asc.layer_ == {15: 15, -20: 10, 9: 9}.get(layer, asc.layer_)
    assert len(asc.layer_scores_) == (30 if layer == "auto" else 0)
    assert default_loaded.model.config._attn_implementation == "sdpa"
