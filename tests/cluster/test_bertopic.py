"""Both estimators as BERTopic's ``hdbscan_model``, with the real bertopic package and precomputed embeddings.

BERTopic's contract for a clusterer: ``fit(X)``, ``labels_`` and, for ``transform``,
``predict(X)``; it reads ``probabilities_`` if present. ``make test`` has bertopic (the
``[docs]`` extra brings it for the gallery) and sets SKLEARN_ICC_REQUIRE_BERTOPIC=1, so CI
cannot pass by skipping these tests.
"""

import os

import numpy as np
import pytest

from sklearn_icc import AttentionSpectralClustering, InContextClustering

if os.environ.get("SKLEARN_ICC_REQUIRE_BERTOPIC"):
    import bertopic  # noqa: F401  (a missing package fails the job)
else:
    pytest.importorskip("bertopic", reason="bertopic is not installed (the [bertopic] or [docs] extra); `make test` runs these")

TOPICS = {
    "pets": "cat dog puppy kitten leash vet fur",
    "markets": "stock bond market price trader shares dividend",
    "football": "goal striker keeper match league referee pitch",
}


def topic_corpus(n_per_topic, seed):
    """Short documents of three vocabularies, and embeddings clustered by topic (as a sentence encoder would give)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(len(TOPICS), 16))
    docs, embeddings, topics = [], [], []
    for t, words in enumerate(TOPICS.values()):
        vocabulary = words.split()
        for _ in range(n_per_topic):
            docs.append(" ".join(rng.choice(vocabulary, size=6)))
            embeddings.append(centres[t] + rng.normal(size=16))
            topics.append(t)
    order = rng.permutation(len(docs))
    return [docs[i] for i in order], np.asarray(embeddings)[order], np.asarray(topics)[order]


def estimators(tiny_model):
    return {
        "icc": InContextClustering(n_clusters=3, model=tiny_model, point_format="compact", random_state=0),
        "attention": AttentionSpectralClustering(n_clusters=3, model=tiny_model, layer=1, point_format="compact",
                                                 random_state=0),
    }


@pytest.mark.parametrize("name", ["icc", "attention"])
def test_fit_transform_then_transform(tiny_model, name):
    from bertopic import BERTopic
    from sklearn.decomposition import PCA

    clusterer = estimators(tiny_model)[name]
    docs, embeddings, _ = topic_corpus(8, seed=0)
    new_docs, new_embeddings, _ = topic_corpus(2, seed=1)
    # PCA instead of UMAP: three features per point keep the prompt short, and no numba compile.
    topic_model = BERTopic(umap_model=PCA(n_components=3, random_state=0), hdbscan_model=clusterer,
                           calculate_probabilities=False)
    topics, _ = topic_model.fit_transform(docs, embeddings=embeddings)
    assert len(topics) == len(docs)
    assert set(topics) <= {0, 1, 2}  # no -1: an ICC label is never an outlier
    np.testing.assert_array_equal(np.sort(np.unique(topics)), np.sort(np.unique(clusterer.labels_)))
    info = topic_model.get_topic_info()
    assert info["Count"].sum() == len(docs) and len(info) == len(set(topics))

    predicted, _ = topic_model.transform(new_docs, embeddings=new_embeddings)
    assert len(predicted) == len(new_docs)
    assert set(np.asarray(predicted).tolist()) <= set(topics)


def _conditioned_topic_model(condition, k, model):
    from bertopic import BERTopic
    from bertopic.dimensionality import BaseDimensionalityReduction
    from sklearn.cluster import KMeans
    from sklearn.pipeline import make_pipeline

    from sklearn_icc import ConditionedTextEmbedding

    return BERTopic(embedding_model=make_pipeline(ConditionedTextEmbedding(condition, model=model)),
                    umap_model=BaseDimensionalityReduction(), hdbscan_model=KMeans(k, n_init=10, random_state=0),
                    calculate_probabilities=False)


def test_conditioned_embedding_as_bertopic_embedding_model(tiny_model):
    docs, _, _ = topic_corpus(4, seed=0)
    topic_model = _conditioned_topic_model("topic", 3, tiny_model)
    topics, _ = topic_model.fit_transform(docs)  # BERTopic embeds the documents itself
    assert len(topics) == len(docs) and set(topics) <= {0, 1, 2}
    predicted, _ = topic_model.transform(docs[:3])
    assert len(predicted) == 3


@pytest.mark.default_model
def test_bertopic_topics_follow_the_condition():
    """The same texts, two embedding conditions: BERTopic's topics follow the one asked for."""
    from sklearn.metrics import adjusted_rand_score

    from sklearn_icc.data import load_topic_sentiment_texts

    texts, topic, sentiment = load_topic_sentiment_texts()
    pick = np.random.default_rng(0).permutation(len(texts))[:48]
    docs = [texts[i] for i in pick]
    by_sentiment, _ = _conditioned_topic_model("sentiment", 2, "default").fit_transform(docs)
    by_topic, _ = _conditioned_topic_model("topic", 4, "default").fit_transform(docs)
    assert adjusted_rand_score(sentiment[pick], by_sentiment) > 0.7
    assert adjusted_rand_score(topic[pick], by_sentiment) < 0.15
    assert adjusted_rand_score(topic[pick], by_topic) > 0.6
    assert adjusted_rand_score(sentiment[pick], by_topic) < 0.15
