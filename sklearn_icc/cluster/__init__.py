"""The clustering estimators."""

from ._in_context import InContextClustering, in_context_clustering

__all__ = ["InContextClustering", "in_context_clustering"]
