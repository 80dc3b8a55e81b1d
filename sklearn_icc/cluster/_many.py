"""In-Context Clustering of many episodes at once: padded batches, and optionally workers."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..runtime import LoadedModel
from ..runtime.spec import ModelSpec, PromptSpec
from ._base import DECODING_CONSTRAINTS, _BaseLLMClustering
from ._docstrings import fill_doc
from ._episodes import SEED_BOUND, cluster_episodes

_SHARED = {**_BaseLLMClustering._parameter_constraints, **DECODING_CONSTRAINTS}


@validate_params(
    {
        **{name: _SHARED[name] for name in ("adapter", "condition", "prompt", "point_format", "temperature",
                                            "n_orderings", "chunk_size", "random_state", "device", "dtype",
                                            "verbose")},
        "X_list": [list, tuple],
        "n_clusters": [*_SHARED["n_clusters"], "array-like"],
        "model": [*_SHARED["model"], LoadedModel],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
        "device_map": [str, dict, None],
        "prefill": [StrOptions({"auto", "padded", "apart"})],
    },
    prefer_skip_nested_validation=True,
)
@fill_doc
def in_context_clustering_many(X_list, n_clusters=3, *, model="default", adapter=None, condition=None, prompt="paper",
                               point_format="compact", temperature=0.0, n_orderings=1, chunk_size=None, batch_size=8,
                               n_jobs=None, random_state=None, device="auto", dtype="auto", device_map=None,
                               prefill="auto", verbose=0):
    """Cluster many episodes, their prompts decoded ``batch_size`` at a time.

    Each episode is clustered as :func:`in_context_clustering` clusters it alone with
    ``decoding="constrained"`` and ``random_state=seeds[i]`` (see Notes): the same
    labels, and probabilities up to floating-point rounding. The prompts of all
    episodes and orderings are sorted by length and decoded in batches: one forward pass
    serves a whole batch (see :func:`~sklearn_icc.runtime.decoding.batching.batched_constrained_decode`).
    Episodes that need chunks (more points than one prompt holds, or ``chunk_size``
    below their size) are clustered alone, by :func:`in_context_clustering`; so is every
    episode with ``point_format="embedding"`` (batched decoding takes text prompts only).

    Read more in the :ref:`User Guide <many_episodes>`.

    Parameters
    ----------
    X_list : list of ndarray of shape (n_samples_i, n_features_i)
        The episodes; each may have its own number of points and features.
    n_clusters : int or array-like of int, default=3
        The number of clusters, for every episode or one per episode.
    model : str, path or LoadedModel, default="default"
        As for :func:`in_context_clustering`; also a model already loaded by
        :func:`~sklearn_icc.runtime.load_model` (for example sharded with
        ``device_map="auto"``).
    %(adapter)s
    %(condition)s
    %(prompt)s
    %(icc_point_format)s
    %(temperature)s
    %(n_orderings)s
    chunk_size : int or None, default=None
        At most this many points per prompt (such episodes are clustered alone).
    batch_size : int, default=8
        At most this many prompts per forward pass.
    n_jobs : int, default=None
        Split the episodes into this many parts, run by joblib workers (``-1``: as
        many as the backend has); each worker loads the model once. ``None`` runs
        them in this process. The backend is joblib's: a process pool by default, or
        a Dask or Ray cluster inside ``joblib.parallel_config(backend="dask")``.
    random_state : int, RandomState instance or None, default=None
        Draws one seed per episode (see Notes).
    %(device)s
    %(dtype)s
    device_map : str or dict, default=None
        As for :func:`~sklearn_icc.runtime.load_model`: ``"auto"`` shards a model over
        the GPUs.
    prefill : {"auto", "padded", "apart"}, default="auto"
        How a batch's prompts are first read; see
        :func:`~sklearn_icc.runtime.decoding.batching.batched_constrained_decode`.
    %(verbose)s

    Returns
    -------
    labels : list of ndarray of shape (n_samples_i,), dtype int64
        Canonical labels of each episode, in the order of ``X_list``.
    probabilities : list of ndarray of shape (n_samples_i, n_clusters_i)

    See Also
    --------
    in_context_clustering : One episode.
    InContextClustering.fit_predict_many : The estimator's settings, many episodes.

    Notes
    -----
    The seeds are ``check_random_state(random_state).randint(2**31 - 1, size=len(X_list))``,
    drawn before anything runs, so the result does not depend on ``batch_size`` or
    ``n_jobs``. They matter only with ``n_orderings > 1``, ``temperature > 0`` or chunks.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_icc import in_context_clustering_many
    >>> rng = np.random.default_rng(0)
    >>> X_list = [rng.normal(size=(n, 2)) for n in (6, 9, 4)]
    >>> labels, proba = in_context_clustering_many(X_list, n_clusters=2, point_format="compact", batch_size=2)
    >>> labels
    [array([0, 1, 1, 1, 1, 1]), array([0, 1, 1, 1, 1, 1, 1, 1, 1]), array([0, 1, 1, 1])]
    >>> proba[1].shape
    (9, 2)
    """
    if len(X_list) == 0:
        raise ValueError("X_list is empty: give at least one episode.")
    X_list = [check_array(X, dtype=np.float64, input_name=f"X_list[{i}]") for i, X in enumerate(X_list)]
    ks = np.broadcast_to(np.asarray(n_clusters), (len(X_list),)) if np.ndim(n_clusters) == 0 else np.asarray(n_clusters)
    if ks.shape != (len(X_list),) or not np.issubdtype(ks.dtype, np.integer) or ks.min() < 1:
        raise ValueError(f"n_clusters should be an int >= 1 or one such int per episode ({len(X_list)}).")
    for i, (X, k) in enumerate(zip(X_list, ks)):
        if X.shape[0] < k:
            raise ValueError(f"X_list[{i}] has n_samples={X.shape[0]}, which should be >= n_clusters={k}.")
        if chunk_size is not None and chunk_size < k:
            raise ValueError(f"chunk_size={chunk_size} should be >= n_clusters={k} (episode {i}).")
    seeds = check_random_state(random_state).randint(SEED_BOUND, size=len(X_list))
    model_spec = ModelSpec(model=model, adapter=adapter, device=device, dtype=dtype, device_map=device_map)
    spec = PromptSpec.from_params(prompt, condition, point_format)
    settings = dict(temperature=temperature, n_orderings=n_orderings, chunk_size=chunk_size, batch_size=batch_size,
                    prefill=prefill, verbose=verbose)
    episodes = list(zip(X_list, ks.tolist(), seeds.tolist()))
    if n_jobs is None:
        parts = [cluster_episodes(episodes, model_spec.load(), spec, **settings)]
    else:
        n_parts = min(len(episodes), effective_n_jobs(n_jobs))
        splits = np.array_split(np.arange(len(episodes)), n_parts)
        parts = Parallel(n_jobs=n_jobs)(
            delayed(_cluster_in_worker)([episodes[i] for i in split], model_spec, spec, settings) for split in splits
        )
    labels = [labels for part in parts for labels, _ in part]
    probabilities = [proba for part in parts for _, proba in part]
    return labels, probabilities


def _cluster_in_worker(episodes, model_spec, spec, settings):
    """One worker's share of the episodes: it loads the model itself (weights are never pickled)."""
    return cluster_episodes(episodes, model_spec.load(), spec, **settings)
