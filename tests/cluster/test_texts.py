import numpy as np
import pandas as pd
import pytest

from sklearn_icc.cluster._texts import looks_like_texts, validate_texts

TEXTS = ["a cat", "a dog", "stock prices fell"]


@pytest.mark.parametrize("X", [TEXTS, tuple(TEXTS), np.array(TEXTS), np.array(TEXTS, dtype=object),
                               pd.Series(TEXTS), pd.Series(TEXTS, dtype="string")])
def test_one_dimensional_sequences_of_strings_are_texts(X):
    assert looks_like_texts(X)
    out = validate_texts(X)
    assert out == TEXTS and all(type(t) is str for t in out)


@pytest.mark.parametrize("X", [[[0.0, 1.0]], np.zeros((3, 2)), [1, 2, 3], "a cat", [], np.array([]), 5])
def test_numbers_and_single_strings_are_not_texts(X):
    assert not looks_like_texts(X)


@pytest.mark.parametrize("X", [["a cat", 1.5], ["a cat", 2], np.array(["a", 3], dtype=object),
                               pd.Series(["a", None]), ["a cat", None], ["a cat", b"bytes"]])
def test_strings_mixed_with_other_values_are_a_type_error(X):
    assert looks_like_texts(X)
    with pytest.raises(TypeError, match=r"X mixes texts with other values: item 1 is"):
        validate_texts(X)


@pytest.mark.parametrize("blank", ["", "   ", "\n\t"])
def test_empty_or_whitespace_texts_are_named(blank):
    with pytest.raises(ValueError, match=r"1 empty or whitespace-only text\(s\), at index 1;"):
        validate_texts(["a cat", blank, "a dog"])


def test_two_dimensional_strings_are_rejected():
    for X in (np.array([["a", "b"], ["c", "d"]]), pd.DataFrame({"text": ["a", "b"]}), [["a"], ["b"]]):
        assert looks_like_texts(X)
        with pytest.raises(ValueError, match=r"texts must be a 1-D sequence"):
            validate_texts(X)


def test_a_single_string_and_too_few_texts_are_rejected():
    with pytest.raises(TypeError, match="single string"):
        validate_texts("a cat")
    with pytest.raises(ValueError, match="n_samples=2 should be >= n_clusters=3"):
        validate_texts(["a", "b"], min_samples=3)
    with pytest.raises(TypeError, match="must be a list, array or pandas Series"):
        validate_texts(42)


# Estimators on texts (tiny model: one token per character, a 4096-token context).

import warnings  # noqa: E402

from sklearn_icc import AttentionSpectralClustering, InContextClustering  # noqa: E402
from sklearn_icc.runtime import PromptTemplate  # noqa: E402

WORDS = ["a red ball", "the blue sky", "red wine", "a blue sea", "red roses", "blue jeans"]


def check_labels(labels, n, k):
    assert labels.dtype == np.int64 and labels.shape == (n,)
    assert labels.min() >= 0 and labels.max() < k


@pytest.mark.parametrize("X", [WORDS, np.array(WORDS), pd.Series(WORDS)])
def test_in_context_clustering_fits_and_predicts_texts(tiny_model, X):
    icc = InContextClustering(2, model=tiny_model, condition="colour", device="cpu").fit(X)
    check_labels(icc.labels_, 6, 2)
    assert not hasattr(icc, "n_features_in_")
    assert icc.label_probabilities_.shape == (6, 2)
    prompt = icc._fit_details["prompts"][0]
    assert "Cluster the following texts into 2 groups based on colour." in prompt.text
    assert '["a red ball", "the blue sky", "red wine"' in prompt.text
    check_labels(icc.predict(["a red car", "the blue moon", "red"]), 3, 2)
    assert np.allclose(icc.predict_proba(["a red car"]).sum(axis=1), 1.0)


def test_attention_spectral_clustering_fits_and_predicts_texts(tiny_model):
    for affinity in ("hidden", "attention"):
        asc = AttentionSpectralClustering(2, model=tiny_model, layer=-1, affinity=affinity, random_state=0).fit(WORDS)
        check_labels(asc.labels_, 6, 2)
        assert asc.affinity_matrix_.shape == (6, 6) and not hasattr(asc, "n_features_in_")
        check_labels(asc.predict(["a red car", "blue"]), 2, 2)
    auto = AttentionSpectralClustering(2, model=tiny_model, layer="auto", random_state=0).fit(WORDS)
    check_labels(auto.labels_, 6, 2)


def test_texts_fitted_once_cannot_predict_numbers_and_back(tiny_model):
    icc = InContextClustering(2, model=tiny_model).fit(WORDS)
    with pytest.raises(ValueError, match="fitted on texts"):
        icc.predict([[0.0], [1.0]])
    numeric = InContextClustering(2, model=tiny_model).fit([[0.0], [0.1], [5.0]])
    with pytest.raises(ValueError, match="fitted on numeric data with 1 features"):
        numeric.predict(["a red car"])


def test_long_texts_are_cut_with_a_warning_naming_how_many(tiny_model):
    texts = WORDS + ["x" * 300, "y" * 200]
    with pytest.warns(UserWarning, match=r"Cut 2 of the 8 texts to their first max_text_tokens=100 tokens"):
        icc = InContextClustering(2, model=tiny_model, max_text_tokens=100).fit(texts)
    prompt = icc._fit_details["prompts"][0]
    assert '"' + "x" * 100 + '"' in prompt.text and "x" * 101 not in prompt.text
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to cut: no warning
        InContextClustering(2, model=tiny_model, max_text_tokens=None).fit(texts)


@pytest.mark.filterwarnings("ignore:Cut 1 of the 7 texts")
def test_a_text_longer_than_the_context_even_after_the_cut_is_an_error(tiny_model):
    texts = WORDS + ["z" * 5000]
    for estimator in (InContextClustering(2, model=tiny_model, max_text_tokens=None),
                      AttentionSpectralClustering(2, model=tiny_model, max_text_tokens=4500, layer=-1)):
        with pytest.raises(ValueError, match=r"Text 6 needs \d+ prompt tokens on its own.*context window of 4096"):
            estimator.fit(texts)


def test_too_many_texts_for_one_prompt_are_chunked(tmp_path):
    from tests.conftest import build_tiny_model_dir

    small = build_tiny_model_dir(tmp_path / "small", max_position_embeddings=1024)
    texts = [f"text number {i} about {'red' if i % 2 else 'blue'} things" for i in range(60)]  # ~2500 tokens
    icc = InContextClustering(2, model=small).fit(texts)
    check_labels(icc.labels_, 60, 2)
    first = icc._fit_details["prompts"][0]  # the first chunk; the others follow its anchors
    assert first.n_points < 60 and first.n_tokens < 1024
    check_labels(icc.predict(texts[:30]), 30, 2)
    asc_error = AttentionSpectralClustering(2, model=small, layer=-1)
    with pytest.raises(ValueError, match="context window"):
        asc_error.fit(texts)  # one forward pass: no chunks


@pytest.mark.parametrize("X, error, match", [
    (["a red ball", 3.0, "a blue sky"], TypeError, "X mixes texts with other values: item 1 is float"),
    (["a red ball", "  ", "a blue sky"], ValueError, "whitespace-only text"),
    (["a red ball", ""], ValueError, "empty or whitespace-only"),
    (np.array([["a", "b"], ["c", "d"]]), ValueError, "texts must be a 1-D sequence"),
    (["one text"], ValueError, "n_samples=1 should be >= n_clusters=2"),
])
def test_bad_texts_get_clear_errors(tiny_model, X, error, match):
    for estimator in (InContextClustering(2, model=tiny_model), AttentionSpectralClustering(2, model=tiny_model)):
        with pytest.raises(error, match=match):
            estimator.fit(X)


def test_a_condition_the_template_has_no_place_for_is_an_error(tiny_model):
    plain = PromptTemplate(system=None, instruction="Group these {k} ways: {points} Labels:")
    with pytest.raises(ValueError, match="no {condition} field"):
        InContextClustering(2, model=tiny_model, prompt=plain, condition="colour").fit(WORDS)
    check_labels(InContextClustering(2, model=tiny_model, prompt=plain).fit(WORDS).labels_, 6, 2)


def test_strings_are_texts_without_an_image_encoder(tiny_model):
    # File names are texts unless image_encoder is given; Path objects mean images.
    icc = InContextClustering(2, model=tiny_model).fit(["cat.jpg", "dog.png", "car.gif"])
    check_labels(icc.labels_, 3, 2)


@pytest.mark.default_model
def test_default_model_clusters_texts_by_a_condition():
    from sklearn_icc.data import load_topic_sentiment_texts

    texts, topic, _ = load_topic_sentiment_texts()
    X = texts[::8]  # 16 texts, 4 per topic
    icc = InContextClustering(4, condition="topic").fit(X)
    check_labels(icc.labels_, 16, 4)
    check_labels(icc.predict(texts[1::32]), 4, 4)
    asc = AttentionSpectralClustering(4, random_state=0).fit(X)
    check_labels(asc.labels_, 16, 4)


def test_path_objects_or_pixel_arrays_beside_strings_still_mean_images(tiny_model, tmp_path):
    with pytest.raises(ValueError, match="X holds images, but image_encoder is None"):
        InContextClustering(1, model=tiny_model).fit([tmp_path / "a.png", "b.jpg"])
    with pytest.raises(ValueError, match="X holds images, but image_encoder is None"):
        AttentionSpectralClustering(1, model=tiny_model).fit(["a cat", np.zeros((4, 4))])


def test_many_episodes_at_once_are_numeric_only(tiny_model):
    with pytest.raises(ValueError, match="fit texts or images one episode at a time"):
        InContextClustering(2, model=tiny_model).fit_predict_many([WORDS, WORDS])
