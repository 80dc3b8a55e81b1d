"""Affinities from a trained affinity adapter: numeric points in, ``(n, n)`` matrices out.

The numeric-data path of :class:`~sklearn_icc.AttentionSpectralClustering` with an
affinity adapter (the shipped default): one forward pass of the adapter's first
layers per batch of episodes (:mod:`sklearn_icc.runtime.model.affinity`).
"""

from __future__ import annotations


def affinity_spec_of(adapter):
    """The :class:`~sklearn_icc.runtime.model.affinity.AffinitySpec` an adapter folder records
    (read and verified, without loading any model)."""
    from ..model.affinity import AffinitySpec
    from ..model.affinity_files import read_affinity_config

    return AffinitySpec(**read_affinity_config(adapter)["spec"])


def learned_affinities(episodes, adapter, loaded, batch_size=16, n_views=None):
    """The learned affinity matrix of each episode in ``episodes`` (a list of ``(n, d)`` arrays).

    ``loaded`` is the base model (:func:`~sklearn_icc.runtime.load_model`) the adapter
    was trained for. Returns a list of symmetric ``(n, n)`` float64 arrays in [0, 1]
    with a zero diagonal, each the mean over ``n_views`` signed feature permutations
    (default: the adapter's ``n_views``). A point with more features than the adapter's
    encoder takes is a ``ValueError``.
    """
    from ..model.affinity import affinity_matrices
    from ..model.affinity_files import load_affinity_model

    model = load_affinity_model(adapter, loaded)
    return affinity_matrices(model, list(episodes), batch_size=batch_size, n_views=n_views)
