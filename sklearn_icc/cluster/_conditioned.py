"""Clustering texts by a condition from their conditioned reading (no torch here).

The runtime reads each text on its own under the question of ``condition``
(:func:`sklearn_icc.runtime.capture.conditioned.read_texts`): the model's hidden states
where it is about to answer, at every layer. Here they become features (each kept
layer's vector L2-normalised and centred, then concatenated), the features a cosine
affinity, and the partition either the affinity's spectral clustering or k-means on the
unit features, whichever has the larger silhouette (:func:`readout_labels`). Which slot and layers to use is chosen
per fit among :data:`DESIGNS`, without labels, by the eigengap of each candidate's
affinity (``benchmarks/conditioned_design.py`` measures why: the best layers move with
the kind of condition). Clusters are named from the model's own one-word answers.
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass

import numpy as np
from sklearn.utils import check_random_state

from ._affinity import (canonical_labels, eigengap_score, estimate_n_clusters, score_layers, span_coordinates,
                        spectral_labels, unit_rows)


@dataclass(frozen=True)
class ReadingDesign:
    """Which states of the conditioned reading make a text's features.

    ``slots`` are reading slots (``"prompt"``: the last prompt token, ``"answer"``: the
    state that predicts the answer's word); ``layers`` are hidden-state indices
    (0 = embeddings, 30 = the default model's final, normalised state), negative from
    the end.
    """

    name: str
    slots: tuple
    layers: tuple
    standardise: bool = False

    def resolved_layers(self, n_states):
        return tuple(sorted({layer % n_states for layer in self.layers}))


#: The designs: content-like conditions read the text's own tokens at the final layer,
#: each dimension standardised; attitude-like ones read the answer slot, plainly
#: (``"prompt"``) and after the answer's opening (``"opened"``), each at the final layer
#: or the last third of the layers (see :func:`conditioned_partition`).
DESIGNS = (
    ReadingDesign("prompt-last", ("prompt",), (-1,)),
    ReadingDesign("prompt-top-third", ("prompt",), tuple(range(-11, 0))),
    ReadingDesign("text-last", ("text",), (-1,), standardise=True),
    ReadingDesign("opened-last", ("opened",), (-1,)),
    ReadingDesign("opened-top-third", ("opened",), tuple(range(-11, 0))),
)
#: Each kind's candidate designs of the plain reading, chosen between by eigengap.
CANDIDATES = {"attitude": DESIGNS[:2], "content": DESIGNS[2:3]}
#: The attitude designs of the opened reading: a second candidate reading for attitude
#: conditions, chosen against the plain one by :func:`reading_agreement`.
OPENED_CANDIDATES = DESIGNS[3:]


def wanted_layers(n_states, designs=DESIGNS):
    """The hidden-state indices any candidate design reads (the reading keeps only these)."""
    return tuple(sorted({layer for design in designs for layer in design.resolved_layers(n_states)}))


def design_features(states, design, n_states, center=None, held=None):
    """The features of ``design`` from a reading's ``states``; return ``(F, center)``.

    ``held`` lists the hidden-state index of each of ``states[slot]``'s columns
    (``None``: all, in order). ``center`` (one mean and scale per slot and layer, from
    the fit: ``(n_slots * n_layers, 2, hidden_size)``) is computed from these states
    when ``None``; the scale is each dimension's deviation for a standardised design, else 1.
    """
    parts, means = [], []
    layers = design.resolved_layers(n_states)
    column = {layer: j for j, layer in enumerate(held if held is not None else range(n_states))}
    for s, slot in enumerate(design.slots):
        for j, layer in enumerate(layers):
            v = np.asarray(states[slot][:, column[layer]], dtype=np.float64)
            v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
            if center is None:
                mean = v.mean(axis=0)
                scale = v.std(axis=0) if design.standardise else np.ones_like(mean)
            else:
                mean, scale = center[s * len(layers) + j]
            scale = np.where(scale > 1e-8, scale, 1.0)
            means.append((mean, scale))
            parts.append((v - mean) / (scale * np.sqrt(len(mean)) if design.standardise else 1.0))
    return np.concatenate(parts, axis=1), np.asarray(means)


def affinity_from_features(F):
    """Cosine similarity of the rows of ``F``, negatives clipped to 0, zero diagonal.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_icc.cluster._conditioned import affinity_from_features
    >>> affinity_from_features(np.array([[1.0, 0.0], [2.0, 0.1], [-1.0, 0.0]])).round(2)
    array([[0., 1., 0.],
           [1., 0., 0.],
           [0., 0., 0.]])
    """
    F = np.asarray(F, dtype=np.float64)
    U = unit_rows(F)
    A = np.clip(U @ U.T, 0.0, 1.0)
    np.fill_diagonal(A, 0.0)
    return A


def _built(states, design, n_states, held, memo):
    """``(design, F, center, A)`` of one design, from ``memo`` (a dict keyed by design name) when it is there."""
    if memo is not None and design.name in memo:
        return memo[design.name]
    F, center = design_features(states, design, n_states, held=held)
    item = (design, F, center, affinity_from_features(F))
    if memo is not None:
        memo[design.name] = item
    return item


def choose_design(states, n_states, n_clusters, max_clusters, designs=DESIGNS[:2], held=None, memo=None):
    """Score each candidate design's affinity by its eigengap; return ``(design, F, center, A, scores)``.

    With fewer than 3 texts, or texts the model reads all alike (no affinity), the first
    design is taken. ``memo`` (a dict, or ``None``) keeps each design's features and
    affinity for a later call on the same reading.
    """
    built = {design.name: _built(states, design, n_states, held, memo) for design in designs}
    n = len(next(iter(built.values()))[1])
    usable = n >= 3 and all(A.sum() > 0 for *_, A in built.values())
    if len(built) == 1 or not usable:
        design, F, center, A = next(iter(built.values()))
        return design, F, center, A, {}
    scores = _eigengaps({name: item[3] for name, item in built.items()}, n_clusters, max_clusters)
    best = max(scores, key=scores.get)
    return (*built[best], scores)


def _eigengaps(affinities, n_clusters, max_clusters):
    """Each candidate affinity's eigengap score, k (or its estimate) capped below the number of texts."""
    n = len(next(iter(affinities.values())))
    k = None if n_clusters is None else min(n_clusters, n - 1)
    return score_layers(affinities, k, max_clusters=min(max_clusters, n - 1))


def cluster_names(words, labels, n_clusters):
    """Each cluster's name, distinct across clusters: among its texts' answer words, the
    most frequent one, weighed by how much of that word's use is in this cluster
    (``count_in ** 2 / count_all``, so that a word every cluster answers does not name them
    all). Names are handed out best score first, each word to one cluster; a cluster whose
    words are all taken gets its best word with its cluster number, ``"urgent (1)"``; ties
    go to the word seen first; ``""`` for a cluster whose texts gave no word.

    Examples
    --------
    >>> from sklearn_icc.cluster._conditioned import cluster_names
    >>> cluster_names(["positive", "positive", "negative", "happy"], [0, 0, 1, 1], 2)
    ['positive', 'negative']
    >>> cluster_names(["food", "soup", "food", "game", "food", "game"], [0, 0, 0, 1, 1, 1], 2)
    ['food', 'game']
    >>> cluster_names(["urgent", "urgent", "urgent", "no"], [0, 0, 1, 1], 2)
    ['urgent', 'no']
    >>> cluster_names(["urgent", "urgent", "urgent"], [0, 0, 1], 2)
    ['urgent', 'urgent (1)']
    """
    overall = Counter(w for w in words if w)
    first_seen = {w: i for i, w in reversed(list(enumerate(words)))}
    candidates, best = [], {}
    for c in range(n_clusters):
        counts = Counter(w for w, label in zip(words, labels) if label == c and w)
        scored = {w: n * n / overall[w] for w, n in counts.items()}
        if scored:
            best[c] = max(scored, key=lambda w: (scored[w], -first_seen[w]))
        candidates += [(-score, first_seen[w], c, w) for w, score in scored.items()]
    names, taken = {}, set()
    for _, _, c, w in sorted(candidates):
        if c not in names and w not in taken:
            names[c] = w
            taken.add(w)
    return [names.get(c, f"{best[c]} ({c})" if c in best else "") for c in range(n_clusters)]


def central_texts(F, labels, n_clusters, per_cluster):
    """Indices of each cluster's ``per_cluster`` rows nearest its centre (the largest cosine
    to the mean of its unit rows), in increasing order: the texts asked for the clusters'
    names in a large fit.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_icc.cluster._conditioned import central_texts
    >>> F = np.array([[1.0, 0.0], [1.0, 0.2], [1.0, -0.9], [0.0, 1.0], [-0.8, 1.0]])
    >>> central_texts(F, np.array([0, 0, 0, 1, 1]), 2, 1)
    array([0, 3])
    """
    U = unit_rows(F)
    chosen = []
    for c in range(n_clusters):
        members = np.flatnonzero(labels == c)
        if len(members):
            near = U[members] @ U[members].mean(axis=0)
            chosen.extend(members[np.argsort(-near, kind="stable")[:per_cluster]])
    return np.sort(np.asarray(chosen, dtype=np.int64))


READOUTS = ("spectral", "kmeans")
#: Restarts of each readout (each with its own seed): the partition with the largest
#: silhouette of all is kept.
N_RESTARTS = 5
#: The wide k-means search: this many principal directions of the unit rows, this many starts.
WIDE_DIMENSIONS, WIDE_STARTS = 64, 100


def wide_kmeans_labels(F, k, seed):
    """Spherical k-means with many starts in few dimensions: the unit rows of ``F``
    projected on their first :data:`WIDE_DIMENSIONS` principal directions, normalised
    again, then :data:`WIDE_STARTS` k-means starts; the best-inertia partition, as int64.

    It searches far more starts than the readout's restarts in the full space at a
    fraction of their cost (about 0.1 to 0.4 s on 60 to 128 texts): fitted in the order
    the loader returns them, the held-out travel reviews' place read ARI 0.80 because the
    five full-space restarts missed the largest-silhouette partition (ARI 0.86), which
    this search finds (``benchmarks/conditioned_orders.py`` measures it over orders).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_icc.cluster._conditioned import wide_kmeans_labels
    >>> F = np.array([[1.0, 0.1], [0.9, 0.0], [0.0, 1.0], [0.1, 0.9]])
    >>> labels = wide_kmeans_labels(F, 2, 0)
    >>> bool(labels[0] == labels[1] != labels[2] == labels[3]), labels.dtype
    (True, dtype('int64'))
    """
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    U = unit_rows(np.asarray(F, dtype=np.float64))
    n_components = min(WIDE_DIMENSIONS, U.shape[0] - 1, U.shape[1])
    Z = unit_rows(PCA(n_components, random_state=int(seed)).fit_transform(U)) if n_components >= 1 else U
    return KMeans(k, n_init=WIDE_STARTS, random_state=int(seed)).fit_predict(Z).astype(np.int64)


def readout_labels(F, A, k, random_state, n_restarts=N_RESTARTS, wide=True):
    """The partition of the reading into ``k``: ``(labels, readout)``.

    Two readouts of the same features, chosen without labels: spectral clustering of the
    affinity ``A``, and k-means on the unit rows of ``F`` (spherical k-means), each run
    ``n_restarts`` times with seeds drawn from ``random_state``, and one wide k-means
    search (:func:`wide_kmeans_labels`, ``readout="kmeans"`` too); of all these partitions,
    the one with the largest cosine silhouette on ``F`` wins (the first spectral one on a
    tie, or when ``k < 2``, ``k >= n`` or any partition has fewer than 2 clusters).
    The restarts' k-means, the wide search and the silhouettes run on the unit rows'
    coordinates in their span (:func:`~sklearn_icc.cluster._affinity.span_coordinates`):
    the same distances, so the same partitions, in at most ``n`` columns (the wide
    search's PCA on 1,000 x 6,336 features took 1.4 s of a 4.9 s readout; on their span,
    the 60 partitions of ``benchmarks/conditioned_texts.py``'s conditions were unchanged).
    Measured in ``benchmarks/conditioned_design.py`` (its ``chosen`` column): on "how the
    writer feels" spectral clustering split the 128 texts against their sentiment (ARI
    0.47) where k-means on the same vectors found it (0.94). The restarts make the
    partition depend less on the order of the texts: over 10 orders of the travel
    reviews, the lowest ARI of "which kind of place it is about" rose from 0.63 (one run
    of each readout) to 0.85 (five restarts), its median from 0.81 to 0.86
    (``benchmarks/conditioned_orders.py``).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_icc.cluster._conditioned import affinity_from_features, readout_labels
    >>> F = np.array([[1.0, 0.1], [0.9, 0.0], [0.0, 1.0], [0.1, 0.9]])
    >>> labels, readout = readout_labels(F, affinity_from_features(F), 2, np.random.RandomState(0))
    >>> labels[0] == labels[1] != labels[2] == labels[3], readout
    (np.True_, 'spectral')
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    seeds = check_random_state(random_state).randint(np.iinfo(np.int32).max, size=max(1, int(n_restarts)))
    first = spectral_labels(A, k, random_state=np.random.RandomState(seeds[0]))
    n = len(F)
    if k < 2 or k >= n:
        return first, "spectral"
    U = span_coordinates(unit_rows(F))  # the same distances in at most n columns: faster, same partitions
    candidates = [(first, "spectral")]
    for r, seed in enumerate(seeds):
        if r:
            candidates.append((spectral_labels(A, k, random_state=np.random.RandomState(seed)), "spectral"))
        candidates.append((KMeans(k, n_init=10, random_state=int(seed)).fit_predict(U).astype(np.int64), "kmeans"))
    if wide:
        candidates.append((wide_kmeans_labels(U, k, seeds[0]), "kmeans"))
    if any(len(np.unique(labels)) < 2 for labels, _ in candidates):
        return first, "spectral"
    scores = [silhouette_score(U, labels, metric="cosine") for labels, _ in candidates]
    labels, readout = candidates[int(np.argmax(scores))]
    return canonical_labels(labels), readout


def reading_agreement(states, n_states, k, random_state, designs, held=None, memo=None):
    """How far one reading's two designs agree: the ARI between their partitions into ``k``.

    Each design of ``designs`` is partitioned by :func:`readout_labels`, with a copy of
    ``random_state`` each (the seeds of a single fit). Return ``(agreement, {name: (design,
    F, center, A, labels, readout)})``; the agreement is ``-inf`` (and the dict empty)
    where a design's affinity is empty. ``memo``: as in :func:`choose_design`.
    """
    import copy

    from sklearn.metrics import adjusted_rand_score

    built = {}
    for design in designs:
        _, F, center, A = _built(states, design, n_states, held, memo)
        if A.sum() == 0:
            return -np.inf, {}
        labels, readout = readout_labels(F, A, k, copy.deepcopy(random_state))
        built[design.name] = (design, F, center, A, labels, readout)
    partitions = [item[4] for item in built.values()]
    agreement = adjusted_rand_score(*partitions) if len(partitions) == 2 else 1.0
    return float(agreement), built


def conditioned_partition(states, n_states, n_clusters, max_clusters, random_state, held=None, kind="attitude"):
    """Cluster a reading: ``(labels, k, design, F, center, A, scores, readout, agreement)``;
    ``kind`` is the condition's (:func:`~sklearn_icc.runtime.prompts.questions.condition_kind`).

    An attitude condition whose reading holds the ``"opened"`` slot has two candidate
    readings: the plain one and the opened one (read after the answer's opening, "Urgency:").
    The reading whose two designs partition the texts more alike (:func:`reading_agreement`;
    a tie keeps the plain one) is used, and within it the design with the larger eigengap;
    with ``n_clusters=None``, k is estimated on the plain reading, as without the opened
    one, so the plain reading gives the same partition either way. Measured in
    ``benchmarks/conditioned_openers.py``: the eigengap alone, across all four designs,
    prefers the opened reading almost always (it took the travel reviews' "traveller" from
    ARI 1.00 to 0.24), while the designs' agreement is low on the readings that fail (0.53
    on that one; 0.12 on the plain reading of the support messages' urgency, at chance,
    against 0.79 opened). ``agreement`` maps each candidate reading's slot to its
    agreement (empty for one reading).
    """
    random_state = check_random_state(random_state)
    agreement, memo = {}, {}
    design, F, center, A, scores = choose_design(states, n_states, n_clusters, max_clusters, CANDIDATES[kind],
                                                 held=held, memo=memo)
    n = len(F)
    if A.sum() == 0:  # every text read alike (identical texts): one block
        k = n_clusters if n_clusters is not None else 1
        labels = np.zeros(n, dtype=np.int64) if k == 1 else np.arange(n, dtype=np.int64) % k
        if k > 1:
            warnings.warn("The conditioned reading found no affinity between the texts (identical readings); "
                          "the labels split them arbitrarily.", UserWarning, stacklevel=3)
        return labels, k, design, F, center, A, scores, "spectral", agreement
    k = n_clusters if n_clusters is not None else (estimate_n_clusters(A, min(max_clusters, n - 1)) if n > 2 else 1)
    if kind == "attitude" and "opened" in states and n >= 3:
        readings = {slot: reading_agreement(states, n_states, k, random_state, designs, held=held, memo=memo)
                    for slot, designs in (("prompt", CANDIDATES["attitude"]), ("opened", OPENED_CANDIDATES))}
        agreement = {slot: value for slot, (value, _) in readings.items()}
        chosen = "opened" if agreement["opened"] > agreement["prompt"] else "prompt"
        built = readings[chosen][1]
        if built:
            if chosen == "opened":  # the plain reading's eigengaps are choose_design's, on the same affinities
                scores = _eigengaps({name: item[3] for name, item in built.items()}, n_clusters, max_clusters)
            design, F, center, A, labels, readout = built[max(scores, key=scores.get)]
            return labels, k, design, F, center, A, scores, readout, agreement
    labels, readout = readout_labels(F, A, k, random_state)
    return labels, k, design, F, center, A, scores, readout, agreement


def proba_from_features(F_new, F_fit, labels, n_clusters):
    """Each new text's mean affinity to each cluster's fitted texts, normalised (rows sum to 1)."""
    A = np.clip(unit_rows(F_new) @ unit_rows(F_fit).T, 0.0, 1.0)
    members = np.eye(n_clusters)[labels]
    to_clusters = A @ members / np.maximum(members.sum(axis=0), 1)
    totals = to_clusters.sum(axis=1, keepdims=True)
    return np.where(totals > 0, to_clusters / np.where(totals > 0, totals, 1), 1.0 / n_clusters)


__all__ = ["CANDIDATES", "DESIGNS", "OPENED_CANDIDATES", "reading_agreement", "wanted_layers", "ReadingDesign", "affinity_from_features", "central_texts",
           "choose_design", "cluster_names",
           "conditioned_partition", "design_features", "eigengap_score", "proba_from_features", "readout_labels",
           "wide_kmeans_labels"]
