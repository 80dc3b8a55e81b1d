"""In-Context Clustering on an engine other than the in-process decoder: vLLM, endpoints.

The prompts of every ordering of every episode are planned first, then handed to the
engine in one call (:func:`~sklearn_icc.runtime.engines` engines take many at once and
schedule them themselves); the answers come back once and are combined per episode as
:func:`cluster_episode` combines orderings.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_array, check_random_state

from ..runtime.engines import check_engine, resolve_engine
from ..runtime.spec import is_texts
from ._consensus import combine_orderings
from ._episodes import SEED_BOUND, EpisodeRun, draw_seed, orderings


def check_engine_fit(engine, points, *, n_clusters, decoding="constrained", image_encoder=None,
                     point_format="compact", chunk_size=None):
    """Raise ``ValueError`` up front for what an engine other than ``"transformers"`` cannot do."""
    name = engine if isinstance(engine, str) else type(engine).__name__
    where = f"engine={name!r} "
    if image_encoder is not None or point_format == "embedding":
        raise ValueError(where + "reads token ids or text only: images and point_format='embedding' (embedded "
                         "points) need engine='transformers'.")
    if points is not None and is_texts(points):
        raise ValueError(where + "clusters numeric points; cluster texts with engine='transformers'.")
    if decoding != "constrained":
        raise ValueError(where + "always constrains the answer; decoding='free' needs engine='transformers'.")
    if n_clusters is None:
        raise ValueError(where + "needs n_clusters: letting the model choose k needs engine='transformers'.")
    if n_clusters > 10:
        raise ValueError(where + "writes labels of one digit: n_clusters <= 10 (engine='transformers' goes higher).")
    if chunk_size is not None:
        raise ValueError(where + "sends each ordering as one prompt: chunk_size needs engine='transformers'.")


def cluster_episodes_on_engine(episodes, engine, spec, *, temperature=0.0, n_orderings=1, verbose=0):
    """Cluster ``(X, n_clusters, rng)`` episodes with one call to ``engine``.

    Each episode draws its orderings and then one seed per ordering from its ``rng``,
    as :func:`~sklearn_icc.cluster._episodes.cluster_episodes` does, so greedy labels
    are those of the in-process engine on the same prompts (up to near ties).

    Returns one :class:`~sklearn_icc.cluster._episodes.EpisodeRun` per episode, its
    ``results`` the engine's :class:`~sklearn_icc.runtime.engines.LabelResult` per
    ordering. Where the engine returned no label probabilities, an ordering's rows are
    one-hot on its labels.
    """
    planned, requests = [], []
    for e, (X, k, rng) in enumerate(episodes):
        for order in orderings(len(X), n_orderings, rng):
            requests.append(engine.request(X[order], k, spec, temperature=temperature, seed=draw_seed(rng)))
            planned.append((e, order))
    results = engine.label(requests, verbose=verbose)
    runs = [EpisodeRun(None, None) for _ in episodes]
    per_episode = [[] for _ in episodes]
    for (e, order), request, result in zip(planned, requests, results):
        k = request.constraint.n_clusters
        probabilities = result.probabilities
        if probabilities is None:
            probabilities = np.eye(k)[result.labels]
        inverse = np.argsort(order)
        per_episode[e].append((result.labels[inverse], probabilities[inverse]))
        runs[e].results.append(result)
        runs[e].prompts.append(request)
    for run, (_, k, _), episode_runs in zip(runs, episodes, per_episode):
        run.labels, run.probabilities = combine_orderings(episode_runs, k)
    return runs


def labels_many_on_engine(estimator, X_list):
    """``estimator.fit_predict_many(X_list)`` on its engine: every prompt of every episode
    in one engine call, one seed per episode drawn as :func:`in_context_clustering_many`
    draws them. The estimator's fitted attributes are not changed."""
    check_engine(estimator.engine)
    X_list = [check_array(X, dtype=np.float64, input_name=f"X_list[{i}]") for i, X in enumerate(X_list)]
    for X in X_list:
        check_engine_fit(estimator.engine, X, n_clusters=estimator.n_clusters, point_format=estimator.point_format,
                         chunk_size=estimator.chunk_size)
        if len(X) < estimator.n_clusters:
            raise ValueError(f"An episode has n_samples={len(X)}, which should be >= n_clusters={estimator.n_clusters}.")
    seeds = check_random_state(estimator.random_state).randint(SEED_BOUND, size=len(X_list))
    engine = resolve_engine(estimator.engine, estimator._model_spec())
    episodes = [(X, estimator.n_clusters, np.random.RandomState(seed)) for X, seed in zip(X_list, seeds)]
    runs = cluster_episodes_on_engine(episodes, engine, estimator._prompt_spec(), temperature=estimator.temperature,
                                      n_orderings=estimator.n_orderings, verbose=estimator.verbose)
    return [run.labels for run in runs]


def fit_on_engine(estimator, X):
    """``estimator.fit(X)`` on vLLM or an endpoint: every ordering's prompt planned, then one engine call."""
    check_engine_fit(estimator.engine, X, n_clusters=estimator.n_clusters, decoding=estimator.decoding,
                     image_encoder=estimator.image_encoder, point_format=estimator.point_format,
                     chunk_size=estimator.chunk_size)
    engine = resolve_engine(estimator.engine, estimator._model_spec())
    run = cluster_episodes_on_engine([(X, estimator.n_clusters, check_random_state(estimator.random_state))], engine,
                                     estimator._prompt_spec(), temperature=estimator.temperature,
                                     n_orderings=estimator.n_orderings, verbose=estimator.verbose)[0]
    estimator.labels_, estimator.label_probabilities_ = run.labels, run.probabilities
    estimator.probabilities_ = run.probabilities[np.arange(len(run.labels)), run.labels]
    estimator.n_clusters_ = int(run.probabilities.shape[1])
    estimator.device_, estimator.dtype_ = engine.device, "unknown"
    estimator.n_prompt_tokens_ = run.results[0].n_prompt_tokens
    estimator.n_decoding_failures_ = 0
    estimator.timings_ = {"engine_seconds": sum(result.seconds for result in run.results)}
    estimator.X_fit_ = X
    estimator._fit_details = {"results": run.results, "prompts": run.prompts}
    return estimator
