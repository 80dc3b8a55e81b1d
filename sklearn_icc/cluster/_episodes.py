"""The mechanics of generative In-Context Clustering, on a loaded model and a prompt spec.

One episode in one or several orderings, in chunks when its points do not fit one
prompt, many episodes in padded batches, and labelling new points after labelled
anchors. Every function takes the resolved ``(loaded, spec)``; the estimators resolve
them once per ``fit`` or ``predict``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from ..runtime import canonical_labels, constrained_decode, free_decode
from ..runtime.decoding.batching import batched_constrained_decode
from ..runtime.decoding.constrained import answer_tokens, prompt_fits
from ..runtime.spec import is_texts
from ._consensus import canonical_order, combine_orderings

DEFAULT_CHUNK_SIZE = 50  # points per prompt when all of them do not fit in one
SEED_BOUND = np.iinfo(np.int32).max


@dataclass
class EpisodeRun:
    """Labels of one episode, and the prompts and decoding results that made them."""

    labels: np.ndarray
    probabilities: np.ndarray
    results: list = field(default_factory=list)
    prompts: list = field(default_factory=list)


def orderings(n_points, n_orderings, rng):
    """The row orders of an episode: the given one, then ``n_orderings - 1`` permutations of ``rng``."""
    return [np.arange(n_points)] + [rng.permutation(n_points) for _ in range(n_orderings - 1)]


def draw_seed(rng):
    return int(rng.randint(SEED_BOUND))


def cluster_episode(points, n_clusters, loaded, spec, *, rng, decoding="constrained", temperature=0.0, n_orderings=1,
                    chunk_size=None, verbose=0, max_clusters=10):
    """Cluster one episode: each ordering in one prompt, or in chunks when it does not fit.

    Parameters
    ----------
    points : ndarray of shape (n, d) or list of images
        Validated points.
    n_clusters : int or None
        ``None``: the prompts state no k and the model opens labels up to
        ``max_clusters``; each ordering (or its first chunk) finds its own k.
    loaded : LoadedModel
    spec : PromptSpec
    rng : numpy.random.RandomState
        Draws the permutations, the chunk order and the decoding seeds, in that order
        per ordering.
    decoding : {"constrained", "free"}, default="constrained"
    temperature : float, default=0.0
    n_orderings : int, default=1
    chunk_size : int or None, default=None
        ``None``: one prompt when it fits, else chunks of :data:`DEFAULT_CHUNK_SIZE`.
    verbose : int, default=0
        Above 0, a progress bar over orderings and chunks.
    max_clusters : int, default=10
        Used when ``n_clusters`` is ``None``.

    Returns
    -------
    EpisodeRun
        ``probabilities`` has one column per cluster: with ``n_clusters=None``, the
        orderings are combined at the largest k found, and the columns are those of
        the clusters the result uses (rows renormalised).
    """
    encoded = spec.encode(points, loaded)
    run = EpisodeRun(None, None)
    decode = constrained_decode if decoding == "constrained" else free_decode

    def decode_prompt(built):
        result = decode(loaded, built, n_clusters, max_clusters=max_clusters, temperature=temperature,
                        seed=draw_seed(rng))
        run.results.append(result)
        run.prompts.append(built)
        return result.labels, result.probabilities

    cap = max_clusters if n_clusters is None else n_clusters  # the most labels an answer may write
    orders = orderings(len(points), n_orderings, rng)
    whole = chunk_size is None or chunk_size >= len(points)
    wholes = [spec.build(encoded[order], n_clusters, loaded) if whole else None for order in orders]
    fits = [built is not None and prompt_fits(loaded, built, cap) for built in wholes]
    together = None
    if decoding == "constrained" and n_clusters is not None and n_orderings > 1 and all(fits) and not spec.embeds_points:
        together = _decode_orderings_together(wholes, n_clusters, loaded, rng, temperature, run)
    runs = []
    for o, order in enumerate(tqdm(orders, desc="orderings", disable=verbose < 1 or n_orderings == 1)):
        ordered = encoded[order]
        if together is not None:
            labels, probabilities = together[o]
        elif fits[o]:
            labels, probabilities = decode_prompt(wholes[o])
        elif spec.images:
            raise ValueError(
                f"The {len(order)} images do not fit in one prompt ({loaded.context_length} tokens); "
                "chunking is for numeric data only. Cluster fewer images, or pool more (a larger "
                "ImageEncoder.pooling)."
            )
        else:
            size = chunk_size or DEFAULT_CHUNK_SIZE
            # Chunks follow a random order, so that the first one samples every cluster.
            shuffle = rng.permutation(len(order))
            chunked = cluster_in_chunks(
                ordered[shuffle], n_clusters, loaded, spec, size, decode_prompt, temperature=temperature, rng=rng,
                verbose=verbose, fixed=chunk_size is not None, max_clusters=max_clusters,
            )
            labels, probabilities = np.empty_like(chunked[0]), np.empty_like(chunked[1])
            labels[shuffle], probabilities[shuffle] = chunked
            labels, probabilities = canonical_order(labels, probabilities)
        inverse = np.argsort(order)
        runs.append((labels[inverse], probabilities[inverse]))
    if n_clusters is None:
        run.labels, run.probabilities = combine_found_k(runs)
    else:
        run.labels, run.probabilities = combine_orderings(runs, n_clusters)
    return run


def _decode_orderings_together(prompts, n_clusters, loaded, rng, temperature, run):
    """Decode the prompts of one episode's orderings in one batch.

    The seeds are drawn from ``rng`` in the order the one-at-a-time loop draws them, so
    the labels are those of decoding each ordering alone (the batch shares the forward
    passes; see :func:`~sklearn_icc.runtime.decoding.batching.batched_constrained_decode`).
    Returns ``[(labels, probabilities), ...]``.
    """
    seeds = [draw_seed(rng) for _ in prompts]
    results = batched_constrained_decode(loaded, prompts, n_clusters, batch_size=len(prompts), temperature=temperature,
                                         seeds=seeds)
    run.results.extend(results)
    run.prompts.extend(prompts)
    return [(result.labels, result.probabilities) for result in results]


def combine_found_k(runs):
    """Combine orderings that each found their own k: aligned at the largest, then the clusters used."""
    k = max(probabilities.shape[1] for _, probabilities in runs)
    padded = [(labels, np.pad(probabilities, ((0, 0), (0, k - probabilities.shape[1])))) for labels, probabilities in runs]
    labels, probabilities = combine_orderings(padded, k)
    used = probabilities[:, : int(labels.max()) + 1]
    return labels, used / used.sum(axis=1, keepdims=True)


def cluster_in_chunks(X, n_clusters, loaded, spec, chunk_size, decode_first, *, temperature=0.0, rng=None, verbose=0,
                      fixed=False, max_clusters=10):
    """Cluster more points than one prompt holds.

    The first ``chunk_size`` rows are clustered in one prompt by ``decode_first`` (a
    callable taking that prompt and returning ``(labels, probabilities)``); up to
    ``chunk_size // (2 k)`` representatives of each of its clusters then serve as
    labelled anchors for the other rows, labelled ``chunk_size`` at a time by
    :func:`label_after_anchors` with the same ``temperature`` and seeds drawn from
    ``rng``. When the first chunk does not fit the context window, the chunk size is
    halved until it does, unless it was ``fixed`` by the user (then a ``ValueError``).
    With ``n_clusters=None`` the first chunk finds k (at most ``max_clusters``, and a
    chunk holds at least that many points); the other rows are labelled with it.

    Returns ``(labels, probabilities)`` for all rows, label ids those of the first chunk.
    """
    cap = max_clusters if n_clusters is None else n_clusters
    while True:
        first = spec.build(X[:chunk_size], n_clusters, loaded)
        if prompt_fits(loaded, first, cap):
            break
        if fixed or chunk_size <= cap:
            answer = answer_tokens(loaded, cap).n_answer_tokens(first.n_points)
            lower = "lower max_clusters, " if n_clusters is None else ""
            raise ValueError(
                f"A chunk of {chunk_size} of the {len(X)} points needs {first.n_tokens + answer} tokens "
                f"({first.n_tokens} prompt + {answer} answer), over the model's context window of "
                f"{loaded.context_length} tokens; give a smaller chunk_size, {lower}fewer features, or "
                "point_format='compact'."
            )
        chunk_size = max(cap, chunk_size // 2)
    first_labels, first_probabilities = decode_first(first)
    n_clusters = first_probabilities.shape[1]  # the k found, when it was not given
    labels, probabilities = np.empty(len(X), dtype=np.int64), np.zeros((len(X), n_clusters))
    labels[:chunk_size], probabilities[:chunk_size] = first_labels, first_probabilities
    anchors = representatives(X[:chunk_size], labels[:chunk_size], chunk_size, n_clusters)
    seed = 0 if rng is None else draw_seed(rng)
    labels[chunk_size:], probabilities[chunk_size:] = label_after_anchors(
        X[anchors], labels[anchors], X[chunk_size:], n_clusters, loaded, spec, chunk_size=chunk_size,
        temperature=temperature, seed=seed, verbose=verbose,
    )
    return labels, probabilities


def representatives(X, labels, chunk_size, n_clusters):
    """Indices of up to ``chunk_size // (2 n_clusters)`` points per cluster (at least one),
    those nearest their cluster's coordinate-wise median (texts: the shortest, which
    leave the most room), in increasing order."""
    per_cluster = max(1, chunk_size // (2 * n_clusters))
    chosen = []
    for cluster in np.unique(labels):
        members = np.flatnonzero(labels == cluster)
        if is_texts(X):
            distance = np.array([len(text) for text in X[members]])
        else:
            distance = np.abs(X[members] - np.median(X[members], axis=0)).sum(axis=1)
        chosen.extend(members[np.argsort(distance, kind="stable")[:per_cluster]].tolist())
    return np.sort(np.asarray(chosen, dtype=np.int64))


def label_after_anchors(anchors, anchor_labels, new, n_clusters, loaded, spec, *, chunk_size=None, temperature=0.0,
                        seed=0, verbose=0):
    """Label new points in context, after labelled anchor points.

    Each prompt holds the anchors (in their order) followed by new points; the answer
    starts with the anchors' labels and constrained decoding writes the new points'
    labels. The anchors' labels may be any ids: they are renumbered canonically for the
    prompt, and the new points' labels and probability columns are mapped back to the
    given ids. New points are labelled jointly, in as few prompts as the context window
    allows (at most ``chunk_size`` per prompt); images must all fit one prompt.

    Returns ``(labels, probabilities)`` of the new points.
    """
    anchor_labels = np.asarray(anchor_labels, dtype=np.int64)
    canonical = canonical_labels(anchor_labels)
    # ids[c] is the given id of canonical cluster c; clusters the anchors lack take the rest.
    ids = list(dict.fromkeys(anchor_labels.tolist()))
    ids += [c for c in range(n_clusters) if c not in ids]
    ids = np.asarray(ids)
    if spec.images:
        labels, probabilities = _label_images(anchors, canonical, new, n_clusters, loaded, spec, temperature, seed)
    else:
        labels, probabilities = _label_rows(anchors, canonical, new, n_clusters, loaded, spec, chunk_size, temperature,
                                            seed, verbose)
    mapped = np.zeros_like(probabilities)
    mapped[:, ids] = probabilities
    return ids[labels], mapped


def _label_rows(anchors, canonical, new, n_clusters, loaded, spec, chunk_size, temperature, seed, verbose):
    labels = np.zeros(len(new), dtype=np.int64)
    probabilities = np.zeros((len(new), n_clusters))
    seeds = np.random.RandomState(seed)
    start, size = 0, min(len(new), chunk_size or len(new))
    with tqdm(total=len(new), desc="labelling points", disable=verbose < 1) as bar:
        while start < len(new):
            size = min(size, len(new) - start)
            stop = start + size
            built = spec.build(np.concatenate([anchors, new[start:stop]]), n_clusters, loaded)
            if not prompt_fits(loaded, built, n_clusters):
                if size == 1:
                    raise ValueError(
                        f"The {len(anchors)} anchor points fill the model's context window of "
                        f"{loaded.context_length} tokens; no room is left to label a new point."
                    )
                size = max(1, size // 2)
                continue
            result = constrained_decode(loaded, built, n_clusters, forced_labels=canonical, temperature=temperature,
                                        seed=draw_seed(seeds))
            labels[start:stop] = result.labels[len(anchors):]
            probabilities[start:stop] = result.probabilities[len(anchors):]
            bar.update(stop - start)
            start = stop
    return labels, probabilities


def _label_images(anchors, canonical, new, n_clusters, loaded, spec, temperature, seed):
    built = spec.build(spec.encode(list(anchors) + list(new), loaded), n_clusters, loaded)
    if not prompt_fits(loaded, built, n_clusters):
        raise ValueError(
            f"The {len(anchors)} fitted and {len(new)} new images do not fit in one prompt "
            f"({loaded.context_length} tokens); predict fewer images at once or pool more."
        )
    result = constrained_decode(loaded, built, n_clusters, forced_labels=canonical, temperature=temperature,
                                seed=seed)
    start = len(anchors)
    return np.asarray(result.labels[start:], dtype=np.int64), result.probabilities[start:]


def cluster_episodes(episodes, loaded, spec, *, temperature=0.0, n_orderings=1, chunk_size=None, batch_size=8,
                     prefill="auto", verbose=0):
    """Cluster ``(X, n_clusters, seed)`` episodes with their prompts decoded in padded batches.

    Each episode gets what :func:`cluster_episode` gives it with
    ``rng=RandomState(seed)`` and constrained decoding: the same draws in the same
    order. Episodes that need chunks, and every episode when the prompts carry
    embeddings (``point_format="embedding"``, which batched decoding does not take),
    are clustered alone by :func:`cluster_episode`.

    Returns ``[(labels, probabilities), ...]`` in the order of ``episodes``.
    """
    results = [None] * len(episodes)
    jobs = []  # (episode, order, prompt, n_clusters, seed) of each ordering decoded in a batch
    for e, (X, k, seed) in enumerate(episodes):
        rng = np.random.RandomState(seed)
        orders = orderings(len(X), n_orderings, rng)
        prompts = []
        if (chunk_size is None or chunk_size >= len(X)) and not spec.embeds_points:
            prompts = [spec.build(X[order], k, loaded) for order in orders]
        if not prompts or not all(prompt_fits(loaded, built, k) for built in prompts):
            run = cluster_episode(X, k, loaded, spec, rng=np.random.RandomState(seed), temperature=temperature,
                                  n_orderings=n_orderings, chunk_size=chunk_size, verbose=verbose)
            results[e] = run.labels, run.probabilities
            continue
        jobs += [(e, order, built, k, draw_seed(rng)) for order, built in zip(orders, prompts)]
    decoded = batched_constrained_decode(
        loaded, [job[2] for job in jobs], [job[3] for job in jobs], batch_size=batch_size, temperature=temperature,
        seeds=[job[4] for job in jobs], prefill=prefill,
    )
    runs = {}
    for (e, order, _, k, _), result in zip(jobs, decoded):
        inverse = np.argsort(order)
        runs.setdefault(e, []).append((result.labels[inverse], result.probabilities[inverse]))
    for e, episode_runs in runs.items():
        results[e] = combine_orderings(episode_runs, episodes[e][1])
    return results
