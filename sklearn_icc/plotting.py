"""Pictures of what a layer sees: point-by-point affinities and accuracy per layer.

Needs matplotlib: ``pip install sklearn-icc[plot]``.
"""

from __future__ import annotations

import numpy as np


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Plotting needs matplotlib: pip install 'sklearn-icc[plot]'"
        ) from exc
    return plt


def accuracy_per_layer(affinities, y_true, n_clusters, random_state=0):
    """Clustering accuracy of spectral clustering on each layer's affinity: ``{layer: acc}``."""
    from .cluster._affinity import spectral_labels
    from .metrics import clustering_accuracy

    return {
        layer: clustering_accuracy(y_true, spectral_labels(A, n_clusters, random_state=random_state))
        for layer, A in sorted(affinities.items())
    }


def plot_attention(affinities, order_by=None, layers=None, y_true=None, n_clusters=None, random_state=0):
    """Draw point-by-point affinities of chosen layers, and accuracy per layer when labels are given.

    Parameters
    ----------
    affinities : dict of int to ndarray of shape (n, n)
        Per-layer affinities, as returned by :func:`sklearn_icc.cluster.layer_affinities`.
    order_by : array-like of shape (n,), default=None
        A labelling (true classes or predicted clusters) that orders the points, so that
        clusters show as blocks on the diagonal. ``None`` keeps the prompt's order.
    layers : list of int, default=None
        Layers to draw (at most 6 are drawn); ``None`` draws up to 4 evenly spaced layers.
    y_true : array-like of shape (n,), default=None
        True classes; when given, a last panel shows spectral-clustering accuracy per layer.
    n_clusters : int, default=None
        Clusters for that panel; ``None`` uses the number of true classes.
    random_state : int, default=0

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _pyplot()
    available = sorted(affinities)
    if layers is None:
        picks = np.linspace(0, len(available) - 1, num=min(4, len(available))).round().astype(int)
        layers = [available[i] for i in dict.fromkeys(picks.tolist())]
    layers = list(layers)[:6]
    missing = [layer for layer in layers if layer not in affinities]
    if missing:
        raise ValueError(f"layers {missing} are not among the affinities given ({available}).")
    n = len(affinities[layers[0]])
    order = np.arange(n) if order_by is None else np.argsort(np.asarray(order_by), kind="stable")
    panels = len(layers) + (y_true is not None)
    fig, axes = plt.subplots(1, panels, figsize=(3.2 * panels, 3.2), squeeze=False)
    for ax, layer in zip(axes[0], layers):
        ax.imshow(affinities[layer][np.ix_(order, order)], cmap="viridis")
        ax.set_title(f"layer {layer}")
        ax.set_xticks([])
        ax.set_yticks([])
    if y_true is not None:
        k = n_clusters or len(np.unique(y_true))
        scores = accuracy_per_layer(affinities, y_true, k, random_state=random_state)
        ax = axes[0][-1]
        ax.plot(list(scores), list(scores.values()), marker="o", markersize=3)
        ax.set_xlabel("layer")
        ax.set_ylabel("accuracy")
        ax.set_ylim(0, 1.02)
        ax.set_title("spectral clustering per layer")
    fig.tight_layout()
    return fig
