"""sklearn-icc: In-Context Clustering with large language models, the scikit-learn way."""

from .cluster import InContextClustering, in_context_clustering
from .metrics import clustering_accuracy

__version__ = "0.1.0"

__all__ = ["InContextClustering", "clustering_accuracy", "in_context_clustering", "__version__"]
