"""``point_format="embedding"``: each numeric point is learned input embeddings, not text.

A :class:`~.point_projector.PointProjector` maps each point's robustly standardised features (the
``"compact"`` format's rescaling, kept as floats) linearly into the LLM's input
embedding space, as an image projector maps image features. A point then costs
``tokens_per_point`` embeddings and one separator token, where the compact text format
costs about 7 tokens for a 3-D point. The projector is trained with a LoRA adapter by
:func:`sklearn_icc.finetune.finetune` and saved beside it
(:data:`POINT_PROJECTOR_FILE`); :func:`~sklearn_icc.runtime.load_model` loads it with
the adapter, so a fit resolves it once, with the model. This module holds the points'
features and prompts; the projector (torch) is :mod:`.point_projector`.
"""

from __future__ import annotations

import numpy as np

from .embedded import build_embedded_prompt
from .templates import DEFAULT_MAX_FEATURES, robust_standardise

POINT_PROJECTOR_FILE = "point_projector.safetensors"
FEATURE_CLIP = 10.0  # robust standard deviations; the compact format clips at 9.9
POINT_MARKERS = ("", "")  # no text around a point's embeddings...
POINT_SEPARATOR = ","  # ...and one token between points


def point_features(X, max_features):
    """The projector's input of each row of ``X``: ``(n, 2 * max_features)`` float32.

    The first ``max_features`` columns are the features standardised robustly over the
    rows (:func:`~sklearn_icc.runtime.prompts.templates.robust_standardise`), clipped to
    +-:data:`FEATURE_CLIP` and zero-padded; the last ``max_features`` flag which
    features are present, so that a padded zero differs from a value at the median.
    """
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    if d > max_features:
        raise ValueError(
            f"point_format='embedding' takes at most max_features={max_features} features (the "
            f"point projector's input width); X has {d}. Reduce the features (e.g. with PCA), or "
            "train an adapter with a larger TrainingSettings.max_features."
        )
    features = np.zeros((n, 2 * max_features), dtype=np.float32)
    features[:, :d] = np.clip(robust_standardise(X), -FEATURE_CLIP, FEATURE_CLIP)
    features[:, max_features : max_features + d] = 1.0
    return features


def require_point_projector(loaded):
    """``loaded.point_projector``, or a ``ValueError`` that says how to get one."""
    projector = getattr(loaded, "point_projector", None)
    if projector is not None:
        return projector
    where = ("no adapter is loaded" if loaded.adapter is None
             else f"the adapter {loaded.adapter!r} has no {POINT_PROJECTOR_FILE}")
    raise ValueError(
        f"point_format='embedding' needs a trained point projector, but {where}. Pass adapter= the "
        "folder of an adapter trained with finetune(..., training=TrainingSettings(point_format='embedding')), "
        "or use point_format='compact'."
    )


def build_point_prompt(embeddings, n_clusters, tokenizer, *, template=None, condition=None):
    """The chat prompt of one episode whose points are ``embeddings`` ``(n, tokens, hidden)``.

    Each point is its embeddings then ``","`` (the last: ``"]"``); point 0 also owns the
    opening ``"["``. Training passes placeholder embeddings of any width: the token
    layout depends only on the first two sizes.
    """
    return build_embedded_prompt(embeddings, n_clusters, tokenizer, template=template, condition=condition,
                                 markers=POINT_MARKERS, separator=POINT_SEPARATOR)


def embedded_point_prompt(X, n_clusters, loaded, *, template=None, condition=None):
    """The prompt of the numeric points ``X`` through ``loaded``'s point projector."""
    embeddings = require_point_projector(loaded).embed(X)
    return build_point_prompt(embeddings, n_clusters, loaded.tokenizer, template=template, condition=condition)
