"""AttentionSpectralClustering on texts with a condition: fit, predict and score from the
conditioned reading (each text read on its own under the condition's question).

:class:`~sklearn_icc.cluster.AttentionSpectralClustering` hands texts with a
``condition`` to these functions; numbers, images and texts without a condition keep
the in-context prompt's one forward pass. No torch here: the runtime reads the texts.
"""

from __future__ import annotations

import dataclasses
import os
import warnings

import numpy as np
from sklearn.utils import check_random_state

from ..runtime.capture.conditioned import DEFAULT_ANSWER_TOKENS, answer_word, read_texts
from ..runtime.model.adapters import resolve_adapter, shipped_namer, shipped_reader
from ..runtime.model.affinity_files import is_affinity_adapter
from ..runtime.model.loading import model_key
from ..runtime.prompts.questions import check_condition, condition_kind
from ..runtime.spec import is_texts
from ._affinity import canonical_labels, eigengap_score
from ._conditioned import (
    affinity_from_features,
    central_texts,
    cluster_names,
    conditioned_partition,
    design_features,
    proba_from_features,
    wanted_layers,
)


def reads_condition(estimator, X):
    """Whether ``estimator`` clusters ``X`` by its conditioned reading: texts and a condition."""
    return estimator.condition is not None and estimator.image_encoder is None and is_texts(X)


def resolve_reader_adapter(estimator):
    """The LoRA adapter the conditioned reading loads with (a str), or ``None`` for the
    zero-shot reading. ``adapter="auto"`` is the reader shipped for the default model
    (``docs/texts.rst``, "The trained reading") when ``model="default"``, else ``None``;
    ``None`` reads zero-shot; a folder is that LoRA adapter, checked and resolved as the
    model loading checks it (:func:`~sklearn_icc.runtime.model.adapters.resolve_adapter`).
    An affinity adapter, which clusters numbers only, is a ``ValueError``."""
    adapter = estimator.adapter
    if isinstance(adapter, str) and adapter == "auto":
        default = isinstance(estimator.model, str) and estimator.model == "default"
        return shipped_reader() if default else None
    if adapter is None:
        return None
    if is_affinity_adapter(adapter):
        raise ValueError(
            f"adapter={str(adapter)!r} is an affinity adapter, which clusters numeric points only; pass "
            'adapter="auto" (the shipped reader), None (zero-shot) or a LoRA adapter folder for texts.'
        )
    return resolve_adapter(adapter)


def resolve_namer(estimator):
    """The LoRA adapter whose answers name the clusters (a str), or ``None`` to name them
    from the reading's own answers. ``namer="reading"`` is ``None``; ``"auto"`` is the
    naming adapter shipped for the default model when ``model="default"`` and one ships,
    else ``None``; a folder is that LoRA adapter, resolved as ``adapter`` is. A namer that
    is the reading's own adapter (``adapter_``) is ``None``: its answers are the reading's."""
    namer = estimator.namer
    if isinstance(namer, str) and namer == "reading":
        return None
    if isinstance(namer, str) and namer == "auto":
        default = isinstance(estimator.model, str) and estimator.model == "default"
        found = shipped_namer() if default else None
    elif is_affinity_adapter(namer):
        raise ValueError(f"namer={str(namer)!r} is an affinity adapter, which gives no answers; pass "
                         '"auto", "reading" or a LoRA adapter folder.')
    else:
        found = resolve_adapter(namer)
    return None if found == estimator.adapter_ else found


def reader_model_spec(estimator):
    """The estimator's :class:`~sklearn_icc.runtime.spec.ModelSpec` with its resolved reader
    adapter (``adapter_``) in place of its ``adapter`` parameter."""
    return dataclasses.replace(estimator._model_spec(), adapter=estimator.adapter_)


#: Texts asked per cluster for its name in a large fit (:func:`answers_every_text`).
NAMED_PER_CLUSTER = 16


def answers_every_text(n_texts, n_clusters):
    """Whether a fit of ``n_texts`` into at most ``n_clusters`` asks every text for its answer
    in the one reading, or reads without answers and then asks only the
    :data:`NAMED_PER_CLUSTER` texts nearest each cluster's centre. The greedy answers cost
    about as much as the reading itself (43 s per 1,000 texts each on 2 threads,
    ``benchmarks/conditioned_speed.py --compare``), so re-reading
    ``NAMED_PER_CLUSTER * n_clusters`` texts with their answers costs less than answering
    all of them once ``n_texts`` is over twice that; the rule asks for three times.

    Examples
    --------
    >>> from sklearn_icc.cluster._by_condition import answers_every_text
    >>> answers_every_text(72, 3), answers_every_text(1000, 4)
    (True, False)
    """
    return n_texts <= 3 * NAMED_PER_CLUSTER * n_clusters


FITTED = ("sample_indices_", "reading_", "readout_", "reading_scores_", "reading_agreement_", "reading_center_", "embedding_", "answers_", "cluster_names_", "namer_")


def forget_reading(estimator):
    """Drop what a conditioned fit left, before a fit that does not read a condition."""
    for name in FITTED:
        if hasattr(estimator, name):
            delattr(estimator, name)


def read(estimator, loaded, texts, *, answer_tokens=0, layers=None, opened=False, warn=True, stacklevel=4):
    """The conditioned reading of ``texts`` under ``estimator.condition``, only the layers
    the candidate designs use kept (or ``layers``); ``answer_tokens`` greedy answer tokens
    per text (0: none, for features only); ``opened`` also reads the ``"opened"`` slot;
    warns how many texts were cut; ``estimator.verbose`` above 0 shows a progress bar."""
    condition = check_condition(estimator.condition, loaded.tokenizer)
    n_states = loaded.model.config.num_hidden_layers + 1
    layers = wanted_layers(n_states) if layers is None else layers
    settings = dict(layers=tuple(layers), answer_tokens=answer_tokens, max_text_tokens=estimator.max_text_tokens,
                    opened=opened, verbose=getattr(estimator, "verbose", 0))
    memory = getattr(estimator, "memory", None)
    if memory is None:
        reading = read_texts(loaded, list(texts), condition, **settings)
    else:
        reading = stored_reading(memory, loaded, list(texts), condition, settings)
    if reading.n_cut and warn:
        warnings.warn(
            f"Cut {reading.n_cut} of the {len(texts)} texts to their first max_text_tokens="
            f"{estimator.max_text_tokens} tokens; raise max_text_tokens (or set None) to keep more of them.",
            UserWarning, stacklevel=stacklevel,
        )
    return reading, n_states


def _read_for_memory(loaded, key, texts, condition, settings, verbose):
    """:func:`read_texts`, in the form ``joblib.Memory`` keys: by everything but
    ``loaded`` (which ``key``, its :func:`model_key`, stands for) and ``verbose``."""
    return read_texts(loaded, texts, condition, **settings, verbose=verbose)


def stored_reading(memory, loaded, texts, condition, settings):
    """The reading of ``texts`` from ``memory`` (a folder, a path or a ``joblib.Memory``)
    when the same texts, in the same order, were read under the same condition and
    settings (the answers asked for among them) by the same model
    (:func:`~sklearn_icc.runtime.model.loading.model_key`), else read and stored there."""
    from sklearn.utils.validation import check_memory

    settings = dict(settings)
    verbose = settings.pop("verbose", 0)
    memory = os.fspath(memory) if isinstance(memory, os.PathLike) else memory
    cached = check_memory(memory).cache(_read_for_memory, ignore=["loaded", "verbose"])
    return cached(loaded, model_key(loaded), texts, condition, settings, verbose)


def reading_order(texts):
    """The order a fit reads and partitions ``texts`` in: sorted by text, so that the
    fitted partition does not depend on the order the texts are given in (the readout's
    seeded restarts did: over 10 orders of the friend messages, the request ranged from
    ARI 0.74 to 1.00, ``benchmarks/conditioned_orders.py``). Identical texts keep their
    given order; they are read alike, so they share a cluster.

    Examples
    --------
    >>> from sklearn_icc.cluster._by_condition import reading_order
    >>> reading_order(["pear", "apple", "fig", "apple"])
    array([1, 3, 2, 0])
    """
    return np.asarray(sorted(range(len(texts)), key=lambda i: str(texts[i])), dtype=np.int64)


def in_given_order(order, labels, names):
    """Labels and names partitioned in ``order`` (:func:`reading_order`), back in the
    texts' given order: ``(back, labels, names)``, where ``back`` indexes the ordered rows
    by given position, the labels are numbered by first appearance in the given order,
    and each cluster keeps its name (a cluster left empty goes after the others).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_icc.cluster._by_condition import in_given_order
    >>> back, labels, names = in_given_order(np.array([1, 2, 0]), np.array([0, 0, 1]), ["apple", "pear"])
    >>> back, labels, names
    (array([2, 0, 1]), array([0, 1, 1]), ['pear', 'apple'])
    """
    back = np.argsort(np.asarray(order), kind="stable")
    given = np.asarray(labels)[back]
    relabelled = canonical_labels(given)
    new_of = {}
    for old, new in zip(given.tolist(), relabelled.tolist()):
        new_of.setdefault(old, new)
    for old in range(len(names)):
        new_of.setdefault(old, len(new_of))
    named = [""] * len(names)
    for old, new in new_of.items():
        named[new] = names[old]
    return back, relabelled, named


#: The default ``max_samples``: a fit of more texts partitions a random sample of this many
#: and gives each other text the cluster it is most like (:func:`partitioned_rows`).
MAX_PARTITIONED = 2000


def partitioned_rows(n_texts, random_state, max_samples=MAX_PARTITIONED):
    """The rows a fit partitions: ``None`` (all) for at most ``max_samples`` texts (or
    ``max_samples=None``), else a sorted random sample of that many. The partition's cost grows faster than the
    texts: the readout of 1,000 synthetic readings took 12 s, of 2,000 27 s and of 4,000
    127 s (dense affinities, their eigendecompositions and silhouettes; 2 threads), and
    its memory grows with the square of the texts."""
    if max_samples is None or n_texts <= max_samples:
        return None
    return np.sort(random_state.choice(n_texts, max_samples, replace=False))


def nearest_cluster_labels(F, sample, sample_labels, n_clusters, chunk=4096):
    """Each row of ``F`` labelled by the cluster of ``sample`` rows it is most like (the
    largest mean affinity, as :meth:`predict` does); the sampled rows keep their own."""
    labels = np.empty(len(F), dtype=np.int64)
    F_sample = F[sample]
    for start in range(0, len(F), chunk):
        labels[start:start + chunk] = proba_from_features(F[start:start + chunk], F_sample, sample_labels,
                                                          n_clusters).argmax(axis=1)
    labels[sample] = sample_labels
    return labels


def partition_reading(states, n_states, n_clusters, max_clusters, random_state, held, kind,
                      max_samples=MAX_PARTITIONED):
    """Partition a reading's rows: all of them, or beyond ``max_samples`` a random
    sample (:func:`partitioned_rows`), every other row then given its nearest cluster
    (:func:`nearest_cluster_labels`) under the sample's design and centring. Return
    ``(sample, labels, k, design, F, center, A, scores, readout, agreement)``, as
    :func:`conditioned_partition` does, with ``sample`` the partitioned rows (all of them
    in a small fit), ``A`` their affinity, and ``labels`` and ``F`` every row's."""
    n = len(next(iter(states.values())))
    sample = partitioned_rows(n, random_state, max_samples)
    part = states if sample is None else {slot: v[sample] for slot, v in states.items()}
    labels, k, design, F, center, A, scores, readout, agreement = conditioned_partition(
        part, n_states, n_clusters, max_clusters, random_state, held=held, kind=kind)
    labels = np.asarray(labels, dtype=np.int64)
    if sample is None:
        return np.arange(n), labels, k, design, F, center, A, scores, readout, agreement
    F, _ = design_features(states, design, n_states, center=center, held=held)
    labels = nearest_cluster_labels(F, sample, labels, int(k))
    return sample, labels, k, design, F, center, A, scores, readout, agreement


def fit_conditioned(estimator, X):
    """Fit ``estimator`` on texts ``X`` by the conditioned reading; return it. The texts are
    read and partitioned in :func:`reading_order`, and the fitted attributes put back in
    the given order. More than ``estimator.max_samples`` texts: a random sample of that
    many is partitioned, and every other text gets the cluster it is most like."""
    max_samples, k = estimator.max_samples, estimator.n_clusters
    if isinstance(max_samples, bool):  # an Integral, but max_samples=True is no count of texts
        raise ValueError(f"max_samples must be an int or None, got {max_samples!r}.")
    # Only a fit of more texts than max_samples partitions a sample (a fit of fewer than
    # n_clusters texts is refused before, naming the texts)
    if max_samples is not None and len(X) > max_samples and max_samples < (k or 2):
        asked = f"the {k} clusters asked for" if k else "the 2 a partition needs at least (n_clusters=None)"
        raise ValueError(f"max_samples={max_samples} is fewer texts than {asked}; raise max_samples or set "
                         "None to partition every text.")
    loaded = reader_model_spec(estimator).load()
    given = list(X)
    order = reading_order(given)
    texts = [given[i] for i in order]
    estimator.namer_ = resolve_namer(estimator)
    every = estimator.namer_ is None and answers_every_text(len(texts), estimator.n_clusters or estimator.max_clusters)
    kind = condition_kind(check_condition(estimator.condition))
    reading, n_states = read(estimator, loaded, texts, answer_tokens=DEFAULT_ANSWER_TOKENS if every else 0,
                             opened=kind == "attitude")
    sample, labels, k, design, F, center, A, scores, readout, agreement = partition_reading(
        reading.states, n_states, estimator.n_clusters, estimator.max_clusters,
        check_random_state(estimator.random_state), reading.layers, kind, max_samples)
    if every:
        words = [answer_word(answer) for answer in reading.answers]
    else:  # a large fit, or a namer: the texts nearest each cluster's centre are asked, and name it
        asked = central_texts(F, labels, k, NAMED_PER_CLUSTER)
        naming = loaded if estimator.namer_ is None else dataclasses.replace(
            estimator._model_spec(), adapter=estimator.namer_).load()
        answered, _ = read(estimator, naming, [texts[i] for i in asked], answer_tokens=DEFAULT_ANSWER_TOKENS,
                           layers=(n_states - 1,), warn=False)
        words = [""] * len(texts)
        for i, answer in zip(asked, answered.answers):
            words[i] = answer_word(answer)
    back, labels, names = in_given_order(order, labels, cluster_names(words, labels, int(k)))
    estimator.labels_ = labels
    estimator.n_clusters_ = int(k)
    given_sample = order[sample]  # the partitioned texts' indices in X, and their affinity in that order
    in_x = np.argsort(given_sample, kind="stable")
    estimator.sample_indices_ = given_sample[in_x]
    estimator.affinity_matrix_ = A[np.ix_(in_x, in_x)]
    estimator.layer_ = int(max(design.resolved_layers(n_states))) - 1  # 0-based decoder layer
    estimator.layer_scores_ = {}
    estimator.reading_ = design
    estimator.readout_ = readout
    estimator.reading_scores_ = scores
    estimator.reading_agreement_ = agreement
    estimator.reading_center_ = center
    estimator.embedding_ = F[back]
    estimator.answers_ = np.asarray(words, dtype=object)[back]
    estimator.cluster_names_ = names
    estimator.X_fit_ = X
    estimator._record_runtime(loaded)
    return estimator


def new_features(estimator, X):
    """New texts' features under the fitted design and centring."""
    loaded = reader_model_spec(estimator).load()
    reading, n_states = read(estimator, loaded, X, opened="opened" in estimator.reading_.slots, stacklevel=5)
    F, _ = design_features(reading.states, estimator.reading_, n_states, center=estimator.reading_center_,
                           held=reading.layers)
    return F


def conditioned_proba(estimator, X):
    """Each new text's mean affinity to each fitted cluster, normalised."""
    return proba_from_features(new_features(estimator, X), estimator.embedding_, estimator.labels_,
                               estimator.n_clusters_)


def conditioned_score(estimator, X):
    """The eigengap at ``n_clusters_`` of the new texts' affinity."""
    if len(X) < 2:
        return 0.0
    return eigengap_score(affinity_from_features(new_features(estimator, X)), estimator.n_clusters_)
