"""The clustering estimators and the functions behind them."""

from ._affinity import affinity_from_attention, affinity_from_hidden
from ._attention import AttentionSpectralClustering, attention_spectral_clustering, layer_affinities
from ._in_context import InContextClustering, in_context_clustering

__all__ = [
    "AttentionSpectralClustering",
    "InContextClustering",
    "affinity_from_attention",
    "affinity_from_hidden",
    "attention_spectral_clustering",
    "in_context_clustering",
    "layer_affinities",
]
