"""sklearn-icc: In-Context Clustering with large language models, the scikit-learn way."""

from ._version import __version__
from .cluster import (
    AttentionSpectralClustering,
    ConditionedTextEmbedding,
    InContextClustering,
    attention_spectral_clustering,
    in_context_clustering,
    in_context_clustering_many,
)
from .metrics import clustering_accuracy

__all__ = [
    "AttentionSpectralClustering",
    "ConditionedTextEmbedding",
    "InContextClustering",
    "__version__",
    "attention_spectral_clustering",
    "clustering_accuracy",
    "in_context_clustering",
    "in_context_clustering_many",
]
