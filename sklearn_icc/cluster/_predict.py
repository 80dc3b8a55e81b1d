"""Labelling new points in context, after the fitted points as labelled anchors."""

from __future__ import annotations

import numpy as np

from ..runtime import build_prompt, constrained_decode, load_model
from ..runtime.decoding import prompt_fits
from ..runtime.prompts import resolve_template


def in_context_predict(
    X_anchor,
    anchor_labels,
    X_new,
    n_clusters=3,
    *,
    model="default",
    condition=None,
    prompt="paper",
    point_format="paper",
    device="auto",
    dtype="auto",
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
    model, condition, prompt, point_format, device, dtype
        As for :func:`in_context_clustering`.

    Returns
    -------
    labels : ndarray of shape (n_new,), dtype int64
    probabilities : ndarray of shape (n_new, n_clusters)
    """
    loaded = load_model(model, device=device, dtype=dtype)
    template = resolve_template(prompt)
    labels = np.zeros(len(X_new), dtype=np.int64)
    probabilities = np.zeros((len(X_new), n_clusters))
    start, size = 0, len(X_new)
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
