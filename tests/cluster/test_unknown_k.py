"""Both estimators with n_clusters=None (k found, up to max_clusters) and with more than ten clusters."""

import numpy as np
import pytest

from sklearn_icc import AttentionSpectralClustering, InContextClustering
from sklearn_icc.runtime import canonical_labels


def assert_valid(labels, probabilities, n, k):
    assert labels.dtype == np.int64 and labels.shape == (n,)
    assert labels.min() >= 0 and labels.max() < k
    np.testing.assert_array_equal(labels, canonical_labels(labels))
    assert probabilities.shape == (n, k)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).normal(size=(30, 2))


def test_icc_finds_k_up_to_max_clusters(tiny_model, X):
    icc = InContextClustering(None, max_clusters=4, model=tiny_model, temperature=20.0, random_state=0).fit(X)
    assert 1 <= icc.n_clusters_ <= 4 and icc.n_clusters_ == icc.labels_.max() + 1
    assert_valid(icc.labels_, icc.label_probabilities_, 30, icc.n_clusters_)
    new = icc.predict(X[:5])
    assert new.dtype == np.int64 and new.max() < icc.n_clusters_
    assert icc.predict_proba(X[:5]).shape == (5, icc.n_clusters_)


def test_icc_unknown_k_in_chunks_and_orderings(tiny_model, X):
    icc = InContextClustering(None, max_clusters=5, model=tiny_model, temperature=20.0, chunk_size=12, n_orderings=3,
                              random_state=1).fit(X)
    assert 1 <= icc.n_clusters_ <= 5
    assert_valid(icc.labels_, icc.label_probabilities_, 30, icc.n_clusters_)
    assert icc.get_params()["n_clusters"] is None  # the parameter is not rewritten


def test_icc_records_the_given_k(tiny_model, X):
    icc = InContextClustering(3, model=tiny_model).fit(X)
    assert icc.n_clusters_ == 3 and icc.label_probabilities_.shape == (30, 3)


def test_icc_with_twenty_clusters(tiny_model):
    X = np.random.default_rng(1).normal(size=(60, 2))
    icc = InContextClustering(20, model=tiny_model, temperature=50.0, random_state=0).fit(X)
    assert icc.n_clusters_ == 20
    assert_valid(icc.labels_, icc.label_probabilities_, 60, 20)
    chunked = InContextClustering(20, model=tiny_model, temperature=50.0, chunk_size=25, n_orderings=2,
                                  random_state=0).fit(X)
    assert_valid(chunked.labels_, chunked.label_probabilities_, 60, 20)
    new = chunked.predict(X[:7])
    assert new.shape == (7,) and new.dtype == np.int64 and new.max() < 20


def test_asc_estimates_k_from_the_eigengap(tiny_model, X):
    asc = AttentionSpectralClustering(None, max_clusters=6, model=tiny_model, layer=-1, random_state=0).fit(X)
    assert 2 <= asc.n_clusters_ <= 6
    assert asc.labels_.dtype == np.int64 and asc.labels_.max() < asc.n_clusters_
    assert asc.predict_proba(X[:4]).shape == (4, asc.n_clusters_)
    auto = AttentionSpectralClustering(None, max_clusters=6, model=tiny_model, layer="auto", random_state=0).fit(X)
    assert 2 <= auto.n_clusters_ <= 6 and set(auto.layer_scores_) == {0, 1}
    assert AttentionSpectralClustering(4, model=tiny_model, layer=-1).fit(X).n_clusters_ == 4


@pytest.mark.parametrize("estimator", [InContextClustering, AttentionSpectralClustering])
@pytest.mark.parametrize("max_clusters", [1, 0])
def test_max_clusters_below_two_is_refused(tiny_model, X, estimator, max_clusters):
    with pytest.raises(ValueError, match="max_clusters"):
        estimator(None, max_clusters=max_clusters, model=tiny_model).fit(X)


def test_max_clusters_beyond_the_labels_is_refused(tiny_model, X):
    with pytest.raises(ValueError, match="max_clusters=101 is above the 100 cluster labels"):
        InContextClustering(None, max_clusters=101, model=tiny_model).fit(X)


def test_max_clusters_beyond_the_context_is_refused(tmp_path):
    from conftest import build_tiny_model_dir

    path = build_tiny_model_dir(tmp_path / "short", max_position_embeddings=256)
    X = np.random.default_rng(2).normal(size=(40, 2))
    with pytest.raises(ValueError, match=r"context window of 256 tokens; give a smaller chunk_size, lower max_clusters"):
        InContextClustering(None, max_clusters=30, model=path, point_format="paper").fit(X)


def test_batches_of_unknown_k_are_refused(tiny_model, X):
    with pytest.raises(ValueError, match="fit_predict_many needs n_clusters"):
        InContextClustering(None, model=tiny_model).fit_predict_many([X, X])


def test_chunk_size_below_max_clusters_is_refused(tiny_model, X):
    with pytest.raises(ValueError, match="chunk_size=4 should be >= max_clusters=5"):
        InContextClustering(None, max_clusters=5, chunk_size=4, model=tiny_model).fit(X)


@pytest.mark.default_model
def test_default_model_with_twenty_clusters_and_unknown_k():
    from sklearn_icc.datasets import make_mixture

    X, _ = make_mixture(30, 20, 2, dist="normal", scale=0.5, center_box=(-50.0, 50.0), random_state=0)
    icc = InContextClustering(20, device="cpu").fit(X)
    assert_valid(icc.labels_, icc.label_probabilities_, 30, 20)
    unknown = InContextClustering(None, max_clusters=15, device="cpu").fit(X[:20])
    assert 1 <= unknown.n_clusters_ <= 15
    assert_valid(unknown.labels_, unknown.label_probabilities_, 20, unknown.n_clusters_)
    asc = AttentionSpectralClustering(None, max_clusters=8, device="cpu", random_state=0).fit(X[:20])
    assert 2 <= asc.n_clusters_ <= 8 and asc.labels_.max() < asc.n_clusters_


def test_many_episodes_need_a_given_k(tiny_model, X):
    from sklearn_icc import in_context_clustering_many

    with pytest.raises(ValueError, match="n_clusters should be an int >= 1"):
        in_context_clustering_many([X, X], None, model=tiny_model)


def test_free_decoding_with_unknown_k_counts_its_failures(tiny_model, X):
    # A random tiny model writes no list: every point fails, gets the one imputed label, and is counted.
    with pytest.warns(RuntimeWarning, match="Free decoding failed"):
        icc = InContextClustering(None, decoding="free", model=tiny_model).fit(X[:6])
    assert icc.n_decoding_failures_ == 6
    assert icc.n_clusters_ == 1 and icc.label_probabilities_.shape == (6, 1)
    assert (icc.labels_ == 0).all()


TEXTS = ["a cat sleeps", "the dog barks", "stocks fell", "a kitten naps", "markets rose", "puppies play"]


@pytest.mark.parametrize("estimator", [InContextClustering, AttentionSpectralClustering])
def test_texts_with_unknown_k(tiny_model, estimator):
    extra = {"layer": -1} if estimator is AttentionSpectralClustering else {}
    fitted = estimator(None, max_clusters=4, model=tiny_model, random_state=0, **extra).fit(TEXTS)
    assert 1 <= fitted.n_clusters_ <= 4
    assert fitted.labels_.dtype == np.int64 and fitted.labels_.max() < fitted.n_clusters_
    assert fitted.predict(["a bird sings"]).max() < fitted.n_clusters_


def test_text_prompts_leave_k_out(tiny_loaded):
    from sklearn_icc.runtime.prompts.texts import build_text_prompt

    prompt, _ = build_text_prompt(TEXTS, None, tiny_loaded.tokenizer)
    assert "choose the number of groups yourself" in prompt.text and "Texts:" in prompt.text
