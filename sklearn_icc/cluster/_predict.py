"""Labelling new points in context, after the fitted points as labelled anchors."""

from __future__ import annotations

import numpy as np

from ..runtime import build_prompt, canonical_labels, constrained_decode, load_model
from ..runtime.decoding import prompt_fits
from ..runtime.prompts import resolve_template


def in_context_predict(
    X_anchor,
    anchor_labels,
    X_new,
    n_clusters=3,
    *,
    model="default",
    adapter=None,
    condition=None,
    prompt="paper",
    point_format="paper",
    device="auto",
    dtype="auto",
    chunk_size=None,
):
    """Label new points in context, after labelled anchor points.

    The prompt holds the anchors (the fitted points, in their order) followed by the new
    points; the answer starts with the anchors' labels as given, and constrained
    decoding writes the new points' labels, so label ids are those of the anchors. New
    points are labelled jointly, in as few chunks as the context window allows.

    Parameters
    ----------
    X_anchor : ndarray of shape (n_anchors, n_features)
    anchor_labels : ndarray of shape (n_anchors,)
        Canonical labels of the anchors (numbered by first appearance).
    X_new : ndarray of shape (n_new, n_features)
    n_clusters : int, default=3
    model, adapter, condition, prompt, point_format, device, dtype
        As for :func:`in_context_clustering`.
    chunk_size : int, default=None
        At most this many new points per prompt; ``None``: as many as fit.

    Returns
    -------
    labels : ndarray of shape (n_new,), dtype int64
    probabilities : ndarray of shape (n_new, n_clusters)
    """
    loaded = load_model(model, device=device, dtype=dtype, adapter=adapter)
    template = resolve_template(prompt)
    labels = np.zeros(len(X_new), dtype=np.int64)
    probabilities = np.zeros((len(X_new), n_clusters))
    start, size = 0, min(len(X_new), chunk_size or len(X_new))
    while start < len(X_new):
        size = min(size, len(X_new) - start)
        stop = start + size
        built = build_prompt(
            np.vstack([X_anchor, X_new[start:stop]]), n_clusters, loaded.tokenizer, template=template,
            condition=condition, point_format=point_format,
        )
        if not prompt_fits(loaded, built, n_clusters):
            if size == 1:
                raise ValueError(
                    f"The {len(X_anchor)} fitted points fill the model's context window of "
                    f"{loaded.context_length} tokens; no room is left to label a new point."
                )
            size = max(1, size // 2)
            continue
        result = constrained_decode(loaded, built, n_clusters, forced_labels=anchor_labels)
        labels[start:stop] = result.labels[len(X_anchor) :]
        probabilities[start:stop] = result.probabilities[len(X_anchor) :]
        start = stop
    return labels, probabilities


def anchor_indices(X, labels, per_cluster):
    """Up to ``per_cluster`` points of each cluster, those nearest its coordinate-wise median.

    Returns indices in increasing order.
    """
    chosen = []
    for cluster in np.unique(labels):
        members = np.flatnonzero(labels == cluster)
        distance = np.abs(X[members] - np.median(X[members], axis=0)).sum(axis=1)
        chosen.extend(members[np.argsort(distance, kind="stable")[:per_cluster]].tolist())
    return np.sort(np.asarray(chosen, dtype=np.int64))


def cluster_in_chunks(X, n_clusters, first_chunk, decode_first, *, chunk_size, **runtime):
    """Cluster more points than one prompt holds.

    The first ``first_chunk`` rows are clustered in one prompt by ``decode_first``
    (a callable returning ``(labels, probabilities)``); up to ``chunk_size // (2 k)``
    representatives of each of its clusters then serve as labelled anchors for the
    other rows, labelled ``chunk_size`` at a time by :func:`in_context_predict`.

    Returns ``(labels, probabilities)`` for all rows, label ids those of the first chunk.
    """
    labels, probabilities = np.empty(len(X), dtype=np.int64), np.zeros((len(X), n_clusters))
    labels[:first_chunk], probabilities[:first_chunk] = decode_first(X[:first_chunk])
    anchors = anchor_indices(X[:first_chunk], labels[:first_chunk], max(1, chunk_size // (2 * n_clusters)))
    # Anchor labels must be canonical in anchor order; map them back afterwards.
    anchor_labels = labels[anchors]
    canonical = canonical_labels(anchor_labels)
    to_first = dict(zip(canonical.tolist(), anchor_labels.tolist()))
    spare = [c for c in range(n_clusters) if c not in to_first.values()]
    for c in range(n_clusters):
        to_first.setdefault(c, spare.pop(0) if c not in to_first else to_first[c])
    order = np.array([to_first[c] for c in range(n_clusters)])
    rest, rest_proba = in_context_predict(
        X[anchors], canonical, X[first_chunk:], n_clusters, chunk_size=chunk_size, **runtime
    )
    labels[first_chunk:] = order[rest]
    probabilities[first_chunk:, order] = rest_proba
    return labels, probabilities
