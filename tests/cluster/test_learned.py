"""AttentionSpectralClustering's learned numeric path: when "auto" takes it, and the shipped adapter."""

import numpy as np
import pytest

from sklearn_icc import AttentionSpectralClustering
from sklearn_icc.cluster._learned import model_adapter, resolve_affinity_adapter
from sklearn_icc.datasets import make_mixture
from sklearn_icc.runtime.model.affinity_files import SHIPPED_AFFINITY_DIR, read_affinity_config

X = np.array([[0.0, 0.1], [5.0, 5.1], [0.1, 0.0], [5.1, 5.0]])


def test_adapter_auto_is_kept_and_resolved_into_adapter_(tiny_model):
    asc = AttentionSpectralClustering(2, model=tiny_model, layer=-1, random_state=0)
    assert asc.adapter == "auto"
    asc.fit(X)
    assert asc.adapter == "auto" and asc.adapter_ is None  # a model other than the default: zero-shot


@pytest.mark.parametrize("params", [dict(layer=3), dict(affinity="attention"), dict(condition="the first feature"),
                                    dict(model="other"), dict(layer="auto")])
def test_auto_takes_the_zero_shot_path_for_zero_shot_options(params):
    asc = AttentionSpectralClustering(2, **params)
    assert resolve_affinity_adapter(asc, X, 9) is None


def test_auto_takes_the_zero_shot_path_for_texts():
    asc = AttentionSpectralClustering(2)
    assert resolve_affinity_adapter(asc, np.array(["a", "b"], dtype=object), 9) is None


def test_the_language_model_never_loads_an_affinity_adapter(tmp_path):
    (tmp_path / "affinity_adapter.json").write_text("{}")
    assert model_adapter("auto") is None and model_adapter(tmp_path) is None
    assert model_adapter("some/lora") == "some/lora" and model_adapter(None) is None


def test_an_affinity_adapter_refuses_texts(tmp_path):
    (tmp_path / "affinity_adapter.json").write_text("{}")
    asc = AttentionSpectralClustering(2, adapter=tmp_path)
    with pytest.raises(ValueError, match="affinity adapter, which clusters numeric points only"):
        resolve_affinity_adapter(asc, np.array(["a", "b"], dtype=object), 9)


def test_the_shipped_adapter_is_whole_and_small():
    config = read_affinity_config(SHIPPED_AFFINITY_DIR)  # checks sizes and checksums
    assert config["spec"]["n_layers"] >= 1 and config["spec"]["max_features"] == 4
    total = sum(p.stat().st_size for p in SHIPPED_AFFINITY_DIR.iterdir())
    assert total <= 25 * 2**20
    assert config["card"]["run"]["episodes"] > 0 and config["card"]["run"]["learning_curve"]


@pytest.mark.default_model
def test_the_default_estimator_clusters_a_heavy_tailed_mixture_with_the_shipped_adapter():
    X, y = make_mixture(40, 3, 2, df=5.0, random_state=3)
    asc = AttentionSpectralClustering(3, random_state=0, device="cpu").fit(X)
    assert asc.adapter == "auto" and asc.adapter_ == str(SHIPPED_AFFINITY_DIR)
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(y, asc.labels_) > 0.8
    assert asc.layer_ == read_affinity_config(SHIPPED_AFFINITY_DIR)["spec"]["n_layers"] - 1
    assert np.mean(asc.predict(X[:10]) == asc.labels_[:10]) >= 0.8
    unknown = AttentionSpectralClustering(None, random_state=0, device="cpu").fit(X)
    assert 2 <= unknown.n_clusters_ <= 10 and unknown.labels_.max() < unknown.n_clusters_
    zero_shot = AttentionSpectralClustering(3, adapter=None, random_state=0, device="cpu").fit(X)
    assert zero_shot.adapter_ is None and zero_shot.layer_ == 9


@pytest.mark.default_model
def test_more_features_than_the_adapter_takes():
    X, _ = make_mixture(20, 2, 6, df=5.0, random_state=0)
    with pytest.warns(UserWarning, match="takes at most 4 features and X has 6; using the zero-shot path"):
        asc = AttentionSpectralClustering(2, random_state=0, device="cpu").fit(X)
    assert asc.adapter_ is None
    with pytest.raises(ValueError, match="at most 4 features; X has 6"):
        AttentionSpectralClustering(2, adapter=SHIPPED_AFFINITY_DIR, device="cpu").fit(X)
