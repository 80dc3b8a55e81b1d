"""AttentionSpectralClustering with an affinity adapter: the learned numeric path.

``adapter="auto"`` (the default) resolves, once per fit, into ``adapter_``: the
affinity adapter shipped for the default model when the data are numeric and the
estimator asks for nothing the zero-shot path alone does (another model, a layer
other than the default, attention affinities, heads, a condition); otherwise
``None``, today's zero-shot path. An affinity adapter folder given as ``adapter``
always takes this path. The affinity then comes from the adapter's trained head
(:func:`~sklearn_icc.runtime.capture.learned.learned_affinities`), averaged over the
signed feature permutations its card asks for (``n_views``; 4 for the shipped one), and
spectral clustering (k from the eigengap when ``n_clusters=None``) labels the points.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..runtime.model.affinity_files import SHIPPED_AFFINITY_DIR, is_affinity_adapter, verified_affinity_config
from ..runtime.spec import is_texts
from ._affinity import eigengap_score, estimate_n_clusters, spectral_labels
from ._episodes import representatives

AUTO = "auto"
# The most fitted points that predict puts beside each chunk of new points.
MAX_ANCHORS = 200
PREDICT_CHUNK = 50


def _auto_applies(estimator, default_layer):
    return (isinstance(estimator.model, str) and estimator.model == "default" and estimator.image_encoder is None
            and not isinstance(estimator.layer, bool) and estimator.layer == default_layer
            and estimator.affinity == "hidden" and estimator.heads is None and estimator.condition is None)


def resolve_affinity_adapter(estimator, X, default_layer):
    """The affinity adapter folder this fit uses (a str), or ``None`` for the zero-shot path."""
    adapter = estimator.adapter
    numeric = not is_texts(X) and isinstance(X, np.ndarray) and X.ndim == 2
    if isinstance(adapter, str) and adapter == AUTO:
        if not numeric or not _auto_applies(estimator, default_layer):
            return None
        if not (SHIPPED_AFFINITY_DIR / "affinity_adapter.json").is_file():
            return None
        max_features = verified_affinity_config(SHIPPED_AFFINITY_DIR)["spec"]["max_features"]
        if X.shape[1] > max_features:
            warnings.warn(
                f"The shipped affinity adapter takes at most {max_features} features and X has {X.shape[1]}; "
                "using the zero-shot path (adapter=None). Reduce the features (e.g. PCA) to use the adapter.",
                UserWarning, stacklevel=3,
            )
            return None
        return str(SHIPPED_AFFINITY_DIR)
    if adapter is not None and is_affinity_adapter(adapter):
        if not numeric:
            raise ValueError(
                f"adapter={str(adapter)!r} is an affinity adapter, which clusters numeric points only; "
                "pass adapter=None for texts or images."
            )
        return str(Path(adapter).expanduser().resolve())
    return None


def model_adapter(adapter):
    """The adapter the language model itself loads with: ``None`` for ``"auto"`` and affinity adapters."""
    if isinstance(adapter, str) and adapter == AUTO:
        return None
    return None if is_affinity_adapter(adapter) else adapter


def _affinities(estimator, episodes):
    from ..runtime.capture.learned import learned_affinities

    loaded = estimator._model_spec().load()
    return learned_affinities(episodes, estimator.adapter_, loaded), loaded


def fit_learned(estimator, X):
    """Fit ``estimator`` on numeric ``X`` with its affinity adapter ``estimator.adapter_``."""
    if estimator.n_clusters is None and len(X) < 2:
        raise ValueError("n_clusters=None reads an eigengap, which needs n_samples >= 2.")
    (A,), loaded = _affinities(estimator, [X])
    from sklearn.utils import check_random_state

    random_state = check_random_state(estimator.random_state)
    k = estimator.n_clusters
    estimator.affinity_matrix_ = A
    estimator.n_clusters_ = estimate_n_clusters(A, estimator.max_clusters) if k is None else k
    estimator.labels_ = spectral_labels(A, estimator.n_clusters_, random_state=random_state)
    estimator.layer_ = int(verified_affinity_config(estimator.adapter_)["spec"]["n_layers"]) - 1
    estimator.layer_scores_ = {}
    estimator.X_fit_ = X
    estimator._record_runtime(loaded)
    return estimator


def predict_proba_learned(estimator, X):
    """Each new point's mean learned affinity to each fitted cluster, normalised (rows sum to 1).

    Each chunk of new points is one episode with the fitted points (at most
    :data:`MAX_ANCHORS` representatives of the clusters).
    """
    anchors, anchor_labels = estimator.X_fit_, estimator.labels_
    if len(anchors) > MAX_ANCHORS:
        keep = representatives(anchors, anchor_labels, 2 * MAX_ANCHORS, estimator.n_clusters_)
        anchors, anchor_labels = anchors[keep], anchor_labels[keep]
    members = np.eye(estimator.n_clusters_)[anchor_labels]
    chunks = [X[start:start + PREDICT_CHUNK] for start in range(0, len(X), PREDICT_CHUNK)]
    affinities, _ = _affinities(estimator, [np.concatenate([anchors, chunk]) for chunk in chunks])
    rows = []
    for A in affinities:
        to_anchors = A[len(anchors):, : len(anchors)] @ members / np.maximum(members.sum(axis=0), 1)
        totals = to_anchors.sum(axis=1, keepdims=True)
        rows.append(np.where(totals > 0, to_anchors / np.where(totals > 0, totals, 1), 1.0 / estimator.n_clusters_))
    return np.concatenate(rows)


def score_learned(estimator, X):
    """The eigengap at ``n_clusters_`` of the learned affinity of ``X``."""
    if len(X) < 2:
        return 0.0
    (A,), _ = _affinities(estimator, [X])
    return eigengap_score(A, estimator.n_clusters_)
