"""ConditionedTextEmbedding: a transformer over the conditioned reading (tiny model)."""

import os
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.pipeline import make_pipeline

from sklearn_icc import ConditionedTextEmbedding

TEXTS = ["a cat sat on the mat", "my dog barks", "kittens purr", "stocks fell", "bond prices rose",
         "the market rallied"]


def test_fit_transform_and_transform_agree(tiny_model):
    embed = ConditionedTextEmbedding("sentiment", model=tiny_model)
    F = embed.fit_transform(TEXTS)
    assert F.shape == (6, embed.n_features_out_) and np.isfinite(F).all()
    np.testing.assert_allclose(embed.transform(TEXTS), F, atol=1e-4)
    names = embed.get_feature_names_out()
    assert len(names) == F.shape[1] and names[0] == "conditionedtextembedding0"
    assert embed.design_.name in ("prompt-last", "prompt-top-third", "opened-last", "opened-top-third")


@pytest.mark.parametrize("condition", ["urgency", "emotion"])
def test_auto_chooses_the_design_a_fit_with_unknown_k_would(tiny_model, condition):
    from sklearn_icc import AttentionSpectralClustering

    texts = TEXTS + ["the fund lost money", "puppies nap", "rates went up", "a bird sings"]
    fit = AttentionSpectralClustering(None, condition=condition, model=tiny_model, random_state=0).fit(texts)
    for seed in range(4):  # in any order: the fit's design, agreements and vectors
        order = np.random.default_rng(seed).permutation(len(texts))
        shuffled = [texts[i] for i in order]
        embed = ConditionedTextEmbedding(condition, model=tiny_model, random_state=0)
        F = embed.fit_transform(shuffled)
        assert set(embed.reading_agreement_) == {"prompt", "opened"}
        assert embed.reading_agreement_ == fit.reading_agreement_ and embed.design_ == fit.reading_
        np.testing.assert_allclose(F, fit.embedding_[order], atol=1e-6)
        np.testing.assert_allclose(embed.transform(shuffled), F, atol=1e-4)
    content = ConditionedTextEmbedding("topic", model=tiny_model, random_state=0).fit(texts)
    assert content.design_.name == "text-last" and content.reading_agreement_ == {}


@pytest.mark.parametrize("design", ["opened-last", "opened-top-third"])
def test_an_opened_design_reads_the_opened_slot(tiny_model, design):
    embed = ConditionedTextEmbedding("urgency", design=design, model=tiny_model)
    F = embed.fit_transform(TEXTS)
    assert embed.design_.slots == ("opened",) and np.isfinite(F).all()
    np.testing.assert_allclose(embed.transform(TEXTS), F, atol=1e-4)
    plain = ConditionedTextEmbedding("urgency", design=design.replace("opened", "prompt"), model=tiny_model)
    assert not np.allclose(plain.fit_transform(TEXTS), F)  # another slot: other vectors


def test_pickles_without_weights_and_works_in_a_pipeline(tiny_model):
    embed = ConditionedTextEmbedding("topic", design="prompt-last", model=tiny_model).fit(TEXTS)
    blob = pickle.dumps(embed)
    assert len(blob) < 200_000  # the fitted centring only, never the model's weights
    np.testing.assert_allclose(pickle.loads(blob).transform(TEXTS[:2]), embed.transform(TEXTS[:2]), atol=1e-5)
    pipe = make_pipeline(ConditionedTextEmbedding(condition="sentiment", model=tiny_model), KMeans(2, n_init=2))
    labels = pipe.fit_predict(TEXTS)
    assert labels.shape == (6,) and set(labels) <= {0, 1}
    assert clone(pipe).get_params()["conditionedtextembedding__condition"] == "sentiment"


@pytest.mark.parametrize("condition, error, match", [("", ValueError, "condition is empty"),
                                                      (None, ValueError, "condition"),
                                                      ("x " * 40, ValueError, "tokens, more than")])
def test_bad_conditions(tiny_model, condition, error, match):
    with pytest.raises(error, match=match):
        ConditionedTextEmbedding(condition, model=tiny_model).fit(TEXTS)


def test_numbers_are_not_texts(tiny_model):
    with pytest.raises(TypeError, match="embeds texts"):
        ConditionedTextEmbedding("topic", model=tiny_model).fit(np.zeros((3, 2)))


def test_verbose_shows_progress_over_the_texts_read(tiny_model, capsys):
    ConditionedTextEmbedding("topic", model=tiny_model, verbose=1).fit(TEXTS)
    err = capsys.readouterr().err
    assert "reading texts" in err and f"{len(TEXTS)}/{len(TEXTS)}" in err
    ConditionedTextEmbedding("topic", model=tiny_model).fit(TEXTS)
    assert "reading texts" not in capsys.readouterr().err


def test_memory_keeps_the_reading_for_the_next_fit_and_transform(tiny_model, tmp_path, monkeypatch):
    from sklearn_icc.cluster import _by_condition

    calls = []
    real = _by_condition.read_texts
    monkeypatch.setattr(_by_condition, "read_texts",
                        lambda loaded, texts, condition, **kw: calls.append(len(texts)) or real(loaded, texts,
                                                                                                 condition, **kw))
    plain = ConditionedTextEmbedding("sentiment", model=tiny_model, random_state=0).fit_transform(TEXTS)
    embed = ConditionedTextEmbedding("sentiment", model=tiny_model, memory=str(tmp_path), random_state=0)
    first = embed.fit_transform(TEXTS)
    np.testing.assert_array_equal(first, plain)
    np.testing.assert_array_equal(clone(embed).fit_transform(TEXTS), first)
    assert calls == [6, 6]  # the third fit read nothing
    new = embed.transform(TEXTS[:2])
    np.testing.assert_array_equal(embed.transform(TEXTS[:2]), new)
    assert calls == [6, 6, 2]
    assert pickle.loads(pickle.dumps(embed)).memory == str(tmp_path)


def test_max_samples_chooses_the_design_on_the_sample_a_fit_would(tiny_model, monkeypatch):
    from sklearn_icc import AttentionSpectralClustering
    from sklearn_icc.cluster import _text_embedding
    from tests.conftest import record_partition_sizes

    texts = TEXTS + ["the fund lost money", "puppies nap", "rates went up", "a bird sings"]
    seen = record_partition_sizes(monkeypatch, _text_embedding)
    fit = AttentionSpectralClustering(None, condition="urgency", model=tiny_model, max_samples=6,
                                      random_state=0).fit(texts)
    embed = ConditionedTextEmbedding("urgency", model=tiny_model, max_samples=6, random_state=0)
    F = embed.fit_transform(texts)
    assert seen == [6]  # the choice partitioned the sample only
    assert embed.design_ == fit.reading_ and embed.reading_agreement_ == fit.reading_agreement_
    np.testing.assert_allclose(F.mean(axis=0), 0, atol=1e-5)  # centred over every text, not the sample
    seen.clear()
    every = ConditionedTextEmbedding("urgency", model=tiny_model, max_samples=None, random_state=0).fit(texts)
    assert seen == [len(texts)] and every.reading_agreement_.keys() == {"prompt", "opened"}


@pytest.mark.parametrize("max_samples", [1, 0, 2.5, "all"])
def test_bad_max_samples(tiny_model, max_samples):
    with pytest.raises((ValueError, TypeError), match="max_samples"):
        ConditionedTextEmbedding("urgency", model=tiny_model, max_samples=max_samples).fit(TEXTS)
