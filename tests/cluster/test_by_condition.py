"""AttentionSpectralClustering on texts with a condition: the conditioned reading (tiny model)."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from sklearn_icc import AttentionSpectralClustering
from sklearn_icc.cluster._conditioned import (
    CANDIDATES,
    DESIGNS,
    OPENED_CANDIDATES,
    affinity_from_features,
    central_texts,
    choose_design,
    cluster_names,
    READOUTS,
    conditioned_partition,
    readout_labels,
    wide_kmeans_labels,
)

TEXTS = ["a cat sat on the mat", "my dog barks", "kittens purr", "stocks fell", "bond prices rose",
         "the market rallied", "a puppy plays", "shares slumped"]


def test_fit_reads_the_condition_and_names_clusters(tiny_model):
    asc = AttentionSpectralClustering(2, model=tiny_model, condition="by sentiment", random_state=0).fit(TEXTS)
    assert asc.labels_.dtype == np.int64 and set(asc.labels_) <= {0, 1} and len(asc.labels_) == len(TEXTS)
    assert asc.n_clusters_ == 2 and asc.affinity_matrix_.shape == (8, 8)
    assert asc.reading_ in DESIGNS and len(asc.cluster_names_) == 2 and asc.readout_ in READOUTS
    assert set(asc.reading_agreement_) == {"prompt", "opened"}  # an attitude condition: two candidate readings
    assert asc.reading_.slots[0] == max(asc.reading_agreement_, key=asc.reading_agreement_.get)
    assert all(isinstance(name, str) for name in asc.cluster_names_) and len(asc.answers_) == len(TEXTS)
    assert asc.embedding_.shape[0] == len(TEXTS) and np.isfinite(asc.embedding_).all()
    assert asc.condition == "by sentiment"  # the parameter is never rewritten
    proba = asc.predict_proba(TEXTS[:3])
    assert proba.shape == (3, 2) and np.allclose(proba.sum(axis=1), 1)
    np.testing.assert_array_equal(asc.predict(TEXTS[:3]), proba.argmax(axis=1))
    assert np.isfinite(asc.score(TEXTS))
    clone = pickle.loads(pickle.dumps(asc))
    np.testing.assert_array_equal(clone.predict(TEXTS[:3]), asc.predict(TEXTS[:3]))


ORDERED = TEXTS + ["rain again today", "sunny and warm", "a cold wind", "snow fell overnight"]


@pytest.mark.parametrize("condition", ["sentiment", "topic"])
def test_the_fit_does_not_depend_on_the_order_of_the_texts(tiny_model, condition):
    from sklearn_icc.runtime import canonical_labels

    given = AttentionSpectralClustering(3, model=tiny_model, condition=condition, random_state=0).fit(ORDERED)
    for seed in range(6):
        perm = np.random.default_rng(seed).permutation(len(ORDERED))
        shuffled = AttentionSpectralClustering(3, model=tiny_model, condition=condition, random_state=0).fit(
            [ORDERED[i] for i in perm])
        labels = given.labels_[perm]
        np.testing.assert_array_equal(shuffled.labels_, canonical_labels(labels))  # numbered by first appearance
        first = {int(new): int(old) for old, new in zip(labels[::-1], shuffled.labels_[::-1])}
        assert shuffled.cluster_names_ == [given.cluster_names_[first[c]] for c in range(3)]
        np.testing.assert_array_equal(shuffled.embedding_, given.embedding_[perm])
        np.testing.assert_array_equal(shuffled.affinity_matrix_, given.affinity_matrix_[np.ix_(perm, perm)])
        np.testing.assert_array_equal(shuffled.answers_, given.answers_[perm])
        assert shuffled.reading_ == given.reading_ and shuffled.readout_ == given.readout_


def test_a_fit_of_many_texts_partitions_a_sample_and_labels_the_rest_by_it(tiny_model, monkeypatch):
    from sklearn_icc.cluster import _by_condition
    from sklearn_icc.cluster._conditioned import proba_from_features
    from sklearn_icc.runtime import canonical_labels
    from tests.conftest import record_partition_sizes

    seen = record_partition_sizes(monkeypatch, _by_condition)
    asc = AttentionSpectralClustering(2, model=tiny_model, condition="topic", max_samples=6, random_state=0).fit(ORDERED)
    sample = asc.sample_indices_
    assert seen == [6] and len(sample) == 6 and np.all(np.diff(sample) > 0)
    assert asc.labels_.dtype == np.int64 and len(asc.labels_) == len(ORDERED) and set(asc.labels_) <= {0, 1}
    np.testing.assert_allclose(asc.affinity_matrix_, affinity_from_features(asc.embedding_[sample]))
    rest = np.setdiff1d(np.arange(len(ORDERED)), sample)
    nearest = proba_from_features(asc.embedding_[rest], asc.embedding_[sample], asc.labels_[sample], 2).argmax(axis=1)
    np.testing.assert_array_equal(asc.labels_[rest], nearest)
    perm = np.random.default_rng(1).permutation(len(ORDERED))
    shuffled = AttentionSpectralClustering(2, model=tiny_model, condition="topic", max_samples=6, random_state=0).fit(
        [ORDERED[i] for i in perm])
    np.testing.assert_array_equal(shuffled.labels_, canonical_labels(asc.labels_[perm]))
    np.testing.assert_array_equal(np.sort(perm[shuffled.sample_indices_]), sample)  # the same texts sampled
    seen.clear()
    small = AttentionSpectralClustering(2, model=tiny_model, condition="topic", max_samples=6,
                                        random_state=0).fit(TEXTS[:6])
    np.testing.assert_array_equal(small.sample_indices_, np.arange(6))  # at most max_samples: all of them
    every = AttentionSpectralClustering(2, model=tiny_model, condition="topic", max_samples=None,
                                        random_state=0).fit(ORDERED)
    assert seen == [6, len(ORDERED)]
    np.testing.assert_array_equal(every.sample_indices_, np.arange(len(ORDERED)))
    assert every.affinity_matrix_.shape == (len(ORDERED), len(ORDERED))


@pytest.mark.parametrize("n_clusters, max_samples, match", [
    (3, 2, "max_samples=2 is fewer texts than the 3 clusters asked for"),
    (None, 1, "max_samples=1 is fewer texts than the 2 a partition needs at least"),
    (2, 0, "max_samples"), (2, 2.5, "max_samples"), (2, "all", "max_samples"),
    (1, True, "max_samples must be an int or None, got True")])
def test_max_samples_must_hold_the_clusters(tiny_model, n_clusters, max_samples, match):
    with pytest.raises(ValueError, match=match):
        AttentionSpectralClustering(n_clusters, model=tiny_model, condition="topic", max_samples=max_samples).fit(TEXTS)


def test_max_samples_is_not_blamed_where_no_sample_is_drawn(tiny_model):
    # one text and n_clusters=None: no sample is drawn, so max_samples=1 is no error
    one = AttentionSpectralClustering(None, model=tiny_model, condition="topic", max_samples=1).fit(TEXTS[:1])
    np.testing.assert_array_equal(one.labels_, [0])
    np.testing.assert_array_equal(one.sample_indices_, [0])
    # fewer texts than clusters names the texts, not max_samples
    with pytest.raises(ValueError, match="n_clusters=3") as info:
        AttentionSpectralClustering(3, model=tiny_model, condition="topic", max_samples=2).fit(TEXTS[:2])
    assert "max_samples" not in str(info.value)


def test_the_function_passes_max_samples_and_memory_on(tiny_model, tmp_path):
    from sklearn_icc.cluster import attention_spectral_clustering

    labels, A, _, _ = attention_spectral_clustering(TEXTS, 2, model=tiny_model, condition="sentiment", max_samples=6,
                                                    memory=tmp_path, random_state=0)
    assert A.shape == (6, 6) and labels.shape == (8,)
    assert any(tmp_path.rglob("output.pkl"))  # the reading was stored


def test_verbose_shows_progress_over_the_texts_read(tiny_model, capsys):
    asc = AttentionSpectralClustering(2, model=tiny_model, condition="sentiment", verbose=1, random_state=0).fit(TEXTS)
    err = capsys.readouterr().err
    assert "reading and answering texts" in err and f"{len(TEXTS)}/{len(TEXTS)}" in err
    asc.predict(TEXTS[:3])
    err = capsys.readouterr().err
    assert "reading texts" in err and "3/3" in err
    AttentionSpectralClustering(2, model=tiny_model, condition="sentiment", random_state=0).fit(TEXTS)
    assert "texts" not in capsys.readouterr().err


def test_a_large_fit_asks_only_the_central_texts_for_the_names(tiny_model, monkeypatch):
    from sklearn_icc.cluster import _by_condition

    calls = []
    real = _by_condition.read_texts

    def spy(loaded, texts, condition, **kwargs):
        calls.append((len(texts), kwargs["answer_tokens"]))
        return real(loaded, texts, condition, **kwargs)

    monkeypatch.setattr(_by_condition, "read_texts", spy)
    monkeypatch.setattr(_by_condition, "NAMED_PER_CLUSTER", 10**6)
    every = AttentionSpectralClustering(2, model=tiny_model, condition="topic", random_state=0).fit(TEXTS)
    assert calls == [(8, 10)] and all(isinstance(w, str) for w in every.answers_)
    monkeypatch.setattr(_by_condition, "NAMED_PER_CLUSTER", 1)  # 8 texts > 3 * 1 * 2: a large fit
    calls.clear()
    central = AttentionSpectralClustering(2, model=tiny_model, condition="topic", random_state=0).fit(TEXTS)
    assert calls == [(8, 0), (2, 10)]  # all read without answers, then 1 per cluster with them
    np.testing.assert_array_equal(central.labels_, every.labels_)
    np.testing.assert_allclose(central.embedding_, every.embedding_, atol=1e-6)
    asked = central_texts(central.embedding_, central.labels_, 2, 1)
    assert len(asked) == 2 and set(central.labels_[asked]) == {0, 1}
    unasked = np.setdiff1d(np.arange(len(TEXTS)), asked)
    assert list(central.answers_[asked]) == list(every.answers_[asked])  # each text's answer as when all asked
    assert all(w == "" for w in central.answers_[unasked])
    assert central.cluster_names_ == cluster_names(list(central.answers_), central.labels_, 2)
    calls.clear()
    central.predict_proba(TEXTS[:3])
    assert calls == [(3, 0)]  # features of new texts need no answer


def test_central_texts_are_the_nearest_to_each_centre():
    F = np.array([[1.0, 0.3], [1.0, 0.0], [1.0, -0.3], [0.3, 1.0], [0.0, 1.0], [-0.3, 1.0], [1.0, 1.0]])
    labels = np.array([0, 0, 0, 1, 1, 1, 2])
    assert list(central_texts(F, labels, 4, 1)) == [1, 4, 6]  # no row for the empty cluster 3
    assert list(central_texts(F, labels, 3, 10)) == list(range(7))  # small clusters give every row


def test_unknown_k_comes_from_the_eigengap(tiny_model):
    asc = AttentionSpectralClustering(None, model=tiny_model, condition="topic", max_clusters=4, random_state=0)
    asc.fit(TEXTS)
    assert 1 <= asc.n_clusters_ <= 4 and asc.labels_.max() < asc.n_clusters_


def test_without_condition_texts_keep_the_in_context_pass(tiny_model):
    asc = AttentionSpectralClustering(2, model=tiny_model, condition="topic", random_state=0).fit(TEXTS)
    assert hasattr(asc, "reading_")
    asc.set_params(condition=None, layer=1).fit(TEXTS)
    assert not hasattr(asc, "reading_") and not hasattr(asc, "cluster_names_") and asc.layer_ == 1


@pytest.mark.parametrize("condition, match", [("", "condition is empty"), ("   ", "condition is empty"),
                                              ("describe " * 30, "tokens, more than the")])
def test_bad_conditions_are_named(tiny_model, condition, match):
    with pytest.raises(ValueError, match=match):
        AttentionSpectralClustering(2, model=tiny_model, condition=condition).fit(TEXTS)


@pytest.mark.parametrize("k", [2, None])
def test_identical_texts_give_a_valid_answer(tiny_model, k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        asc = AttentionSpectralClustering(k, model=tiny_model, condition="topic", random_state=0).fit(["same"] * 5)
    assert asc.labels_.dtype == np.int64 and len(asc.labels_) == 5 and asc.labels_.max() < asc.n_clusters_
    assert np.isfinite(asc.affinity_matrix_).all()
    assert np.isfinite(asc.predict_proba(["same"])).all()


def test_a_long_text_is_cut_with_the_warning(tiny_model):
    texts = TEXTS + ["word " * 400]
    with pytest.warns(UserWarning, match=r"Cut 1 of the 9 texts to their first max_text_tokens=64"):
        asc = AttentionSpectralClustering(2, model=tiny_model, condition="topic", max_text_tokens=64,
                                          random_state=0).fit(texts)
    assert len(asc.labels_) == 9


def test_design_choice_and_names_from_features():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(2, 3, 16))  # two clusters, states at 3 layers
    states = {"prompt": np.concatenate([c + 0.05 * rng.normal(size=(10, 3, 16)) for c in centres]).astype(np.float32)}
    states["answer"] = states["text"] = states["prompt"]
    labels, k, design, F, center, A, scores, readout, agreement = conditioned_partition(states, 3, 2, 10, 0)
    assert readout in READOUTS
    truth = np.repeat([0, 1], 10)
    assert (labels == truth).all() or (labels == 1 - truth).all()
    assert set(scores) == {d.name for d in CANDIDATES["attitude"]} and design.name == max(scores, key=scores.get)
    assert np.allclose(A, affinity_from_features(F)) and center.shape[-1] == 16
    labels, k, design, F, center, A, scores, _, agreement = conditioned_partition(states, 3, 2, 10, 0, kind="content")
    assert design.name == "text-last" and scores == {} and np.isfinite(F).all()
    assert (labels == truth).all() or (labels == 1 - truth).all()
    design, *_ = choose_design({"prompt": states["prompt"][:2], "answer": states["prompt"][:2]}, 3, 2, 10)
    assert design is DESIGNS[0]  # too few texts to score: the first design
    assert cluster_names(["", "", "b"], [0, 0, 1], 2) == ["", "b"]


def _states(layers_by):
    """Synthetic reading slots: each slot's layers clustered by the given labelings."""
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(2, 16))
    return {slot: np.stack([centres[y] + 0.05 * rng.normal(size=(len(y), 16)) for y in ys], axis=1).astype(np.float32)
            for slot, ys in layers_by.items()}


A_TRUTH, B_TRUTH = np.repeat([0, 1], 10), np.tile([0, 1], 10)


@pytest.mark.parametrize("n_clusters", [2, None])
def test_the_reading_whose_designs_agree_is_used(n_clusters):
    # The plain reading's final layer says A, its other layers B: its two designs disagree.
    states = _states({"prompt": [B_TRUTH, B_TRUTH, A_TRUTH], "opened": [A_TRUTH] * 3})
    states["text"] = states["prompt"]
    labels, k, design, F, center, A, scores, readout, agreement = conditioned_partition(states, 3, n_clusters, 10, 0)
    assert design.slots == ("opened",) and agreement["opened"] == 1.0 > agreement["prompt"]
    assert k == 2 and abs(adjusted_rand_score(A_TRUTH, labels)) == 1.0 and labels.dtype == np.int64
    assert set(scores) == {d.name for d in OPENED_CANDIDATES}
    swapped = {"prompt": states["opened"], "opened": states["prompt"], "text": states["text"]}
    found = conditioned_partition(swapped, 3, n_clusters, 10, 0)
    assert found[2].slots == ("prompt",) and found[8]["prompt"] > found[8]["opened"]


def test_an_attitude_partition_builds_each_design_once(monkeypatch):
    import sklearn_icc.cluster._conditioned as conditioned

    states = _states({"prompt": [B_TRUTH, B_TRUTH, A_TRUTH], "opened": [A_TRUTH] * 3})
    states["text"] = states["prompt"]
    expected = conditioned_partition(states, 3, 2, 10, 0)
    built = []
    real = conditioned.design_features

    def counted(states, design, *args, **kwargs):
        built.append(design.name)
        return real(states, design, *args, **kwargs)

    monkeypatch.setattr(conditioned, "design_features", counted)
    found = conditioned_partition(states, 3, 2, 10, 0)
    assert sorted(built) == sorted(d.name for d in CANDIDATES["attitude"] + OPENED_CANDIDATES)
    np.testing.assert_array_equal(found[0], expected[0])
    assert found[2] is expected[2] and found[8] == expected[8]


def test_a_tie_keeps_the_plain_reading_and_no_opened_slot_reads_plainly():
    states = _states({"prompt": [A_TRUTH] * 3, "opened": [A_TRUTH] * 3})
    states["text"] = states["prompt"]
    found = conditioned_partition(states, 3, 2, 10, 0)
    assert found[2].slots == ("prompt",) and found[8] == {"prompt": 1.0, "opened": 1.0}
    plain = {slot: states[slot] for slot in ("prompt", "text")}
    for n_clusters in (2, None):  # the plain reading chosen: the same partition as without the opened slot
        alone = conditioned_partition(plain, 3, n_clusters, 10, 0)
        both = conditioned_partition(states, 3, n_clusters, 10, 0)
        assert alone[8] == {} and alone[2] in CANDIDATES["attitude"] and both[2] is alone[2]
        np.testing.assert_array_equal(alone[0], both[0])
        assert alone[1] == both[1] == 2
    content = conditioned_partition(states, 3, 2, 10, 0, kind="content")
    assert content[2].name == "text-last" and content[8] == {}


def test_an_opened_fit_predicts_from_the_opened_slot(tiny_model, monkeypatch):
    import sklearn_icc.cluster._by_condition as by_condition
    import sklearn_icc.cluster._conditioned as conditioned

    real = conditioned.reading_agreement

    def opened_agrees_more(states, n_states, k, random_state, designs, **kwargs):  # force the opened reading
        agreement, built = real(states, n_states, k, random_state, designs, **kwargs)
        return agreement + 10.0 * (designs == OPENED_CANDIDATES), built

    monkeypatch.setattr(conditioned, "reading_agreement", opened_agrees_more)
    asc = AttentionSpectralClustering(2, model=tiny_model, condition="urgency", random_state=0).fit(TEXTS)
    assert asc.reading_.slots == ("opened",) and asc.reading_agreement_["opened"] > 9
    F = by_condition.new_features(asc, TEXTS)
    np.testing.assert_allclose(F, asc.embedding_, atol=1e-4)  # the fitted texts read again: their own features
    assert asc.predict(TEXTS).shape == (len(TEXTS),)


def test_cluster_names_are_distinct():
    # Every cluster answered "urgent" most: the clearer cluster keeps it, the other takes its next word.
    words = ["urgent"] * 5 + ["soon"] + ["urgent"] * 2 + ["later"] * 2
    labels = [0] * 6 + [1] * 4
    assert cluster_names(words, labels, 2) == ["urgent", "later"]
    names = cluster_names(["x", "x", "x", "y"], [0, 1, 2, 2], 3)
    assert len(set(names)) == 3 and names[2] == "y" and "x" in names
    assert cluster_names(["a", "a"], [0, 1], 3) == ["a", "a (1)", ""]


def test_readout_takes_kmeans_where_the_spectral_partition_is_worse():
    rng = np.random.default_rng(1)
    truth = np.repeat([0, 1, 2], 12)
    F = np.eye(3)[truth] * 4 + 0.3 * rng.normal(size=(36, 3))
    random_affinity = rng.uniform(size=(36, 36))
    random_affinity = (random_affinity + random_affinity.T) / 2
    np.fill_diagonal(random_affinity, 0)
    labels, readout = readout_labels(F, random_affinity, 3, np.random.RandomState(0))
    assert readout == "kmeans" and labels.dtype == np.int64
    assert len({(a, b) for a, b in zip(truth, labels)}) == 3  # the true partition
    good, readout = readout_labels(F, affinity_from_features(F - F.mean(0)), 3, np.random.RandomState(0))
    assert len({(a, b) for a, b in zip(truth, good)}) == 3
    # k of 1, or as many clusters as texts: spectral, no silhouette
    assert readout_labels(F[:3], affinity_from_features(F[:3]), 3, np.random.RandomState(0))[1] == "spectral"


def test_readout_restarts_keep_the_partition_with_the_largest_silhouette():
    from sklearn.metrics import silhouette_score

    rng = np.random.default_rng(3)
    F = rng.normal(size=(40, 6))  # no clear clusters: runs disagree
    A = affinity_from_features(F)
    U = F / np.linalg.norm(F, axis=1, keepdims=True)
    silhouettes = []
    for n_restarts in (1, 5):
        labels, readout = readout_labels(F, A, 3, np.random.RandomState(0), n_restarts=n_restarts)
        assert readout in ("spectral", "kmeans") and labels.dtype == np.int64 and set(labels) == {0, 1, 2}
        silhouettes.append(silhouette_score(U, labels, metric="cosine"))
    assert silhouettes[1] >= silhouettes[0]  # the five restarts include the one run's seed
    again, _ = readout_labels(F, A, 3, np.random.RandomState(0))
    assert np.array_equal(again, readout_labels(F, A, 3, np.random.RandomState(0))[0])  # seeded: reproducible


@pytest.mark.default_model
def test_default_model_clusters_the_same_texts_two_ways():
    from sklearn.metrics import adjusted_rand_score

    from sklearn_icc.data import load_topic_sentiment_texts
    from sklearn_icc.runtime.model.adapters import shipped_namer

    texts, topic, sentiment = load_topic_sentiment_texts()
    pick = np.random.default_rng(0).permutation(len(texts))[:48]
    X = [texts[i] for i in pick]
    by_topic = AttentionSpectralClustering(4, condition="topic", random_state=0).fit(X)
    by_sentiment = AttentionSpectralClustering(2, condition="by sentiment", random_state=0).fit(X)
    assert adjusted_rand_score(topic[pick], by_topic.labels_) > 0.7
    assert adjusted_rand_score(sentiment[pick], by_topic.labels_) < 0.15
    assert adjusted_rand_score(sentiment[pick], by_sentiment.labels_) > 0.8
    assert adjusted_rand_score(topic[pick], by_sentiment.labels_) < 0.15
    assert by_sentiment.namer_ == shipped_namer() and by_sentiment.namer_ is not None  # named by the shipped namer
    assert sorted(by_sentiment.cluster_names_) == ["negative", "positive"]
    names = np.array(by_sentiment.cluster_names_)[by_sentiment.labels_]
    assert np.mean(names == sentiment[pick]) > 0.85  # each text's cluster is named by its sentiment


def test_the_wide_search_is_one_more_readout_candidate():
    from sklearn.metrics import silhouette_score

    rng = np.random.default_rng(5)
    F = rng.normal(size=(50, 8))  # no clear clusters: searches disagree
    A = affinity_from_features(F)
    U = F / np.linalg.norm(F, axis=1, keepdims=True)
    seed = np.random.RandomState(0).randint(np.iinfo(np.int32).max, size=5)[0]  # the readout's first seed
    wide = wide_kmeans_labels(F, 3, seed)
    assert wide.dtype == np.int64 and set(wide) == {0, 1, 2}
    with_wide, _ = readout_labels(F, A, 3, np.random.RandomState(0))
    without, _ = readout_labels(F, A, 3, np.random.RandomState(0), wide=False)

    def silhouette(labels):
        return silhouette_score(U, labels, metric="cosine")

    assert silhouette(with_wide) >= max(silhouette(wide), silhouette(without)) - 1e-12
    # fewer texts or dimensions than the wide search's 64 directions
    assert set(wide_kmeans_labels(F[:6], 2, 0)) == {0, 1}
    assert set(wide_kmeans_labels(F[:, :1], 2, 0)) == {0, 1}


def test_readout_on_span_coordinates_keeps_every_partition(monkeypatch):
    from sklearn_icc.cluster import _conditioned

    rng = np.random.default_rng(7)
    truth = np.repeat([0, 1, 2], 20)
    F = 0.4 * rng.normal(size=(3, 400))[truth] + rng.normal(size=(60, 400))  # more dimensions than texts
    F -= F.mean(axis=0)
    A = affinity_from_features(F)
    fast = readout_labels(F, A, 3, np.random.RandomState(0))
    monkeypatch.setattr(_conditioned, "span_coordinates", lambda U: U)  # the full 400 columns, as before
    full = readout_labels(F, A, 3, np.random.RandomState(0))
    assert np.array_equal(fast[0], full[0]) and fast[1] == full[1]
    assert len(np.unique(fast[0])) == 3


def test_memory_reuses_the_reading_of_the_same_texts(tiny_model, tmp_path, monkeypatch):
    from sklearn.base import clone

    from sklearn_icc.cluster import _by_condition

    calls = []
    real = _by_condition.read_texts

    def spy(loaded, texts, condition, **kwargs):
        calls.append((len(texts), condition))
        return real(loaded, texts, condition, **kwargs)

    monkeypatch.setattr(_by_condition, "read_texts", spy)
    plain = AttentionSpectralClustering(2, model=tiny_model, condition="sentiment", random_state=0).fit(TEXTS)
    kept = AttentionSpectralClustering(2, model=tiny_model, condition="sentiment", memory=str(tmp_path / "m"),
                                       random_state=0).fit(TEXTS)
    assert calls == [(8, "sentiment"), (8, "sentiment")]  # nothing stored yet: read
    np.testing.assert_array_equal(kept.labels_, plain.labels_)
    np.testing.assert_array_equal(kept.embedding_, plain.embedding_)
    assert kept.cluster_names_ == plain.cluster_names_
    other_k = clone(kept).set_params(n_clusters=3).fit(TEXTS)  # the same texts, another k: no new reading
    assert len(calls) == 2 and other_k.n_clusters_ == 3
    np.testing.assert_array_equal(clone(kept).fit(TEXTS).labels_, plain.labels_)
    assert len(calls) == 2
    np.testing.assert_array_equal(kept.predict(TEXTS[:3]), plain.predict(TEXTS[:3]))
    assert calls[2:] == [(3, "sentiment"), (3, "sentiment")]  # new texts: read (once each, then stored)
    kept.predict(TEXTS[:3])
    assert len(calls) == 4
    clone(kept).set_params(condition="topic").fit(TEXTS)  # another condition
    clone(kept).fit(TEXTS[1:] + ["a new text"])  # other texts
    with pytest.warns(UserWarning, match="Cut 8 of the 8 texts"):
        clone(kept).set_params(max_text_tokens=5).fit(TEXTS)  # other settings
    assert calls[4:] == [(8, "topic"), (8, "sentiment"), (8, "sentiment")]


@pytest.mark.parametrize("kind", ["path", "joblib"])
def test_memory_takes_a_path_or_a_joblib_memory(tiny_model, tmp_path, kind, monkeypatch):
    import joblib

    from sklearn_icc.cluster import _by_condition

    calls = []
    real = _by_condition.read_texts
    monkeypatch.setattr(_by_condition, "read_texts",
                        lambda loaded, texts, condition, **kw: calls.append(1) or real(loaded, texts, condition, **kw))
    memory = tmp_path / "m" if kind == "path" else joblib.Memory(tmp_path / "m", verbose=0)
    fits = [AttentionSpectralClustering(2, model=tiny_model, condition="topic", memory=memory, random_state=0)
            .fit(TEXTS) for _ in range(2)]
    assert len(calls) == 1
    np.testing.assert_array_equal(fits[1].embedding_, fits[0].embedding_)
    assert pickle.loads(pickle.dumps(fits[0])).memory is not None



def test_memory_tells_models_apart_by_their_weights(tiny_model, tmp_path, monkeypatch):
    import shutil

    from conftest import build_tiny_model_dir
    from sklearn_icc.cluster import _by_condition

    calls = []
    real = _by_condition.read_texts
    monkeypatch.setattr(_by_condition, "read_texts",
                        lambda loaded, texts, condition, **kw: calls.append(loaded.name) or real(loaded, texts,
                                                                                                  condition, **kw))
    copy = shutil.copytree(tiny_model, tmp_path / "copy")  # the same weights at another path: reused
    other = build_tiny_model_dir(tmp_path / "other", seed=1)  # other weights: read again
    memory = str(tmp_path / "m")
    fits = [AttentionSpectralClustering(2, model=path, condition="topic", memory=memory, random_state=0).fit(TEXTS)
            for path in (tiny_model, str(copy), other)]
    assert len(calls) == 2
    np.testing.assert_array_equal(fits[1].embedding_, fits[0].embedding_)
    assert not np.allclose(fits[2].embedding_, fits[0].embedding_)


@pytest.mark.parametrize("memory", [3, ["a folder"]])
def test_memory_must_be_a_folder_or_a_joblib_memory(tiny_model, memory):
    with pytest.raises(ValueError, match="memory"):
        AttentionSpectralClustering(2, model=tiny_model, condition="topic", memory=memory).fit(TEXTS)
