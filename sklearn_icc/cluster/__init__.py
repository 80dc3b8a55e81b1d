"""The clustering estimators and the functions behind them."""

from ._affinity import affinity_from_attention, affinity_from_hidden, estimate_n_clusters
from ._attention import AttentionSpectralClustering, attention_spectral_clustering, layer_affinities
from ._in_context import InContextClustering, in_context_clustering
from ._many import in_context_clustering_many
from ._text_embedding import ConditionedTextEmbedding

__all__ = [
    "AttentionSpectralClustering",
    "ConditionedTextEmbedding",
    "InContextClustering",
    "affinity_from_attention",
    "affinity_from_hidden",
    "attention_spectral_clustering",
    "estimate_n_clusters",
    "in_context_clustering",
    "in_context_clustering_many",
    "layer_affinities",
]
