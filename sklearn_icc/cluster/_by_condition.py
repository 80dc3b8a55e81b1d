"""AttentionSpectralClustering on texts with a condition: fit, predict and score from the
conditioned reading (each text read on its own under the condition's question).

:class:`~sklearn_icc.cluster.AttentionSpectralClustering` hands texts with a
``condition`` to these functions; numbers, images and texts without a condition keep
the in-context prompt's one forward pass. No torch here: the runtime reads the texts.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.utils import check_random_state

from ..runtime.capture.conditioned import answer_word, read_texts
from ..runtime.prompts.questions import check_condition, condition_kind
from ..runtime.spec import is_texts
from ._affinity import eigengap_score
from ._conditioned import (
    affinity_from_features,
    cluster_names,
    conditioned_partition,
    design_features,
    proba_from_features,
    wanted_layers,
)


def reads_condition(estimator, X):
    """Whether ``estimator`` clusters ``X`` by its conditioned reading: texts and a condition."""
    return estimator.condition is not None and estimator.image_encoder is None and is_texts(X)


FITTED = ("reading_", "readout_", "reading_scores_", "reading_center_", "embedding_", "answers_", "cluster_names_")


def forget_reading(estimator):
    """Drop what a conditioned fit left, before a fit that does not read a condition."""
    for name in FITTED:
        if hasattr(estimator, name):
            delattr(estimator, name)


def read(estimator, loaded, texts, *, stacklevel=4):
    """The conditioned reading of ``texts`` under ``estimator.condition``, only the layers
    the candidate designs use kept; warns how many texts were cut."""
    condition = check_condition(estimator.condition, loaded.tokenizer)
    n_states = loaded.model.config.num_hidden_layers + 1
    layers = wanted_layers(n_states)
    reading = read_texts(loaded, list(texts), condition, layers=layers, max_text_tokens=estimator.max_text_tokens)
    if reading.n_cut:
        warnings.warn(
            f"Cut {reading.n_cut} of the {len(texts)} texts to their first max_text_tokens="
            f"{estimator.max_text_tokens} tokens; raise max_text_tokens (or set None) to keep more of them.",
            UserWarning, stacklevel=stacklevel,
        )
    return reading, n_states


def fit_conditioned(estimator, X):
    """Fit ``estimator`` on texts ``X`` by the conditioned reading; return it."""
    loaded = estimator._model_spec().load()
    reading, n_states = read(estimator, loaded, X)
    random_state = check_random_state(estimator.random_state)
    labels, k, design, F, center, A, scores, readout = conditioned_partition(
        reading.states, n_states, estimator.n_clusters, estimator.max_clusters, random_state, held=reading.layers,
        kind=condition_kind(check_condition(estimator.condition)))
    words = [answer_word(answer) for answer in reading.answers]
    estimator.labels_ = np.asarray(labels, dtype=np.int64)
    estimator.n_clusters_ = int(k)
    estimator.affinity_matrix_ = A
    estimator.layer_ = int(max(design.resolved_layers(n_states))) - 1  # 0-based decoder layer
    estimator.layer_scores_ = {}
    estimator.reading_ = design
    estimator.readout_ = readout
    estimator.reading_scores_ = scores
    estimator.reading_center_ = center
    estimator.embedding_ = F
    estimator.answers_ = np.asarray(words, dtype=object)
    estimator.cluster_names_ = cluster_names(words, estimator.labels_, estimator.n_clusters_)
    estimator.X_fit_ = X
    estimator._record_runtime(loaded)
    return estimator


def new_features(estimator, X):
    """New texts' features under the fitted design and centring."""
    loaded = estimator._model_spec().load()
    reading, n_states = read(estimator, loaded, X, stacklevel=5)
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
