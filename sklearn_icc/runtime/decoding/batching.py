"""Constrained decoding of many episodes in padded batches, one forward pass for all.

Each episode keeps its own :class:`~sklearn_icc.runtime.decoding.constrained.LabelAnswer`, the same
state that :func:`~sklearn_icc.runtime.constrained_decode` drives for one episode: its
guesses, the window of labels it verifies per pass and the tokens it keeps. A pass feeds
every unfinished episode's tokens as one row of a left-padded batch. Rows are kept
apart by the attention mask and by each row's own position ids, so a row sees exactly
the tokens its episode would see alone (up to floating-point rounding): padding is
masked, and tokens an episode rejects stay in the shared cache but are masked out
instead of cropped. Finished episodes leave the batch.
"""

from __future__ import annotations

import time

import numpy as np

from .constrained import DecodeResult, _LabelScorer, answer_tokens, constrained_decode, start_answer
from ..model.faults import out_of_memory_advice


class _BatchLabelScorer(_LabelScorer):
    """A :class:`_LabelScorer` over a batch of rows with a shared, masked KV cache."""

    def __init__(self, loaded, label_ids, n_rows):
        super().__init__(loaded, label_ids)
        self.loaded, self.label_ids = loaded, label_ids
        torch = self.torch
        tokenizer = loaded.tokenizer
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        self.pad_id = int(pad or 0)
        self.mask = torch.zeros((n_rows, 0), dtype=torch.long, device=self.device)
        self.next_position = np.zeros(n_rows, dtype=np.int64)

    def run_apart(self, feeds, offsets, shared):
        """Feed each row alone (no padding), from a stored shared prefix when there is one
        (``shared``: each row's shareable prefix length), then stack the rows' caches, left-padded."""
        from transformers import DynamicCache
        from transformers.cache_utils import DynamicLayer

        torch = self.torch
        logits, caches = [], []
        for feed, wanted, n_shared in zip(feeds, offsets, shared):
            alone = _LabelScorer(self.loaded, self.label_ids, shared=n_shared)
            logits.append(alone(feed, wanted))
            caches.append(alone.cache)
        if not all(type(layer) is DynamicLayer for cache in caches for layer in cache.layers):
            raise TypeError("Stacking caches needs plain DynamicLayer caches.")
        width = max(len(feed) for feed in feeds)

        def stacked(tensors):
            return torch.cat([torch.nn.functional.pad(t, (0, 0, width - t.shape[-2], 0)) for t in tensors])

        self.cache = DynamicCache(
            ddp_cache_data=[
                (stacked([c.layers[l].keys for c in caches]), stacked([c.layers[l].values for c in caches]))
                for l in range(len(caches[0].layers))
            ],
            config=self.model.config,
        )
        mask = np.zeros((len(feeds), width), dtype=np.int64)
        self.fed = []
        for r, feed in enumerate(feeds):
            mask[r, width - len(feed) :] = 1
            self.fed.append((width - len(feed), len(feed)))
        self.mask = torch.as_tensor(mask, device=self.device)
        self.n_passes += len(feeds)
        return logits

    def run(self, feeds, offsets):
        """Feed one token list per row (left-padded); return each row's label logits."""
        torch = self.torch
        n_rows, width = len(feeds), max(len(feed) for feed in feeds)
        ids = np.full((n_rows, width), self.pad_id, dtype=np.int64)
        new_mask = np.zeros((n_rows, width), dtype=np.int64)
        positions = np.zeros((n_rows, width), dtype=np.int64)
        rows, columns, self.fed = [], [], []
        for r, (feed, wanted) in enumerate(zip(feeds, offsets)):
            shift = width - len(feed)
            ids[r, shift:] = feed
            new_mask[r, shift:] = 1
            positions[r] = self.next_position[r] + np.arange(width) - shift
            positions[r, :shift] = self.next_position[r]  # masked: any position will do
            rows += [r] * len(wanted)
            columns += [shift + j for j in wanted]
            self.fed.append((self.mask.shape[1] + shift, len(feed)))
        mask = torch.cat([self.mask, torch.as_tensor(new_mask, device=self.device)], dim=1)
        kwargs = {"use_cache": True, "attention_mask": mask, "position_ids": torch.as_tensor(positions, device=self.device)}
        if self.cache is not None:
            kwargs["cache"] = self.cache
        logits = self.score(torch.as_tensor(ids, device=self.device), rows, columns, **kwargs)
        self.mask = mask
        bounds = np.cumsum([0] + [len(wanted) for wanted in offsets])
        return [logits[bounds[r] : bounds[r + 1]] for r in range(n_rows)]

    def keep(self, row, n_kept):
        """Keep the first ``n_kept`` tokens that the last pass fed to ``row``; mask the rest."""
        start, n_fed = self.fed[row]
        self.mask[row, start + n_kept : start + n_fed] = 0
        self.next_position[row] += n_kept

    def select(self, rows):
        """Keep only these rows of the batch (finished episodes leave)."""
        index = self.torch.as_tensor(rows, device=self.device)
        self.cache.batch_select_indices(index)
        self.mask = self.mask[index]
        self.next_position = self.next_position[rows]


def batched_constrained_decode(
    loaded, prompts, n_clusters, *, batch_size=8, window=16, temperature=0.0, seeds=None, prefill="auto"
):
    """Greedy (or sampled) constrained decoding of many prompts, ``batch_size`` at a time.

    Each prompt gets the labels that :func:`~sklearn_icc.runtime.constrained_decode`
    gives it alone, with the same ``window``, ``temperature`` and seed (up to
    floating-point rounding in near ties). Prompts are sorted by length before they
    are cut into batches, so that rows of a batch need little padding.

    Parameters
    ----------
    loaded : LoadedModel
    prompts : list of Prompt
    n_clusters : int or sequence of int
        The number of clusters, for all prompts or one per prompt. Episodes with more
        than 10 clusters (labels of several tokens) are decoded one at a time.
    batch_size : int, default=8
        At most this many prompts per forward pass.
    window : int, default=16
        As for :func:`~sklearn_icc.runtime.constrained_decode`.
    temperature : float, default=0.0
        As for :func:`~sklearn_icc.runtime.constrained_decode`.
    seeds : sequence of int, default=None
        One sampler seed per prompt; ``None`` is 0 for every prompt.
    prefill : {"auto", "padded", "apart"}, default="auto"
        How a batch's first pass (the prompts) runs. ``"padded"``: all rows in one
        left-padded pass, which keeps a GPU busy. ``"apart"``: one pass per prompt,
        without padding, whose caches are then stacked, left-padded, for the batched
        label passes; on a CPU, where compute is short, padding only costs.
        ``"auto"``: ``"apart"`` on the CPU, ``"padded"`` elsewhere.

    Returns
    -------
    list of DecodeResult
        In the order of ``prompts``. ``prefill_seconds`` and ``decode_seconds`` are the
        prompt's share of its batch's time (the batch's time over its prompts), so they
        add up to the wall time; ``n_forward_passes`` counts the passes the prompt took
        part in.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_icc.runtime import build_prompt, load_model
    >>> from sklearn_icc.runtime.decoding.batching import batched_constrained_decode
    >>> loaded = load_model("default")
    >>> rng = np.random.default_rng(0)
    >>> prompts = [build_prompt(rng.normal(size=(n, 2)), 2, loaded.tokenizer) for n in (4, 7)]
    >>> [result.labels.shape for result in batched_constrained_decode(loaded, prompts, 2)]
    [(4,), (7,)]
    """
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size} should be >= 1.")
    if prefill not in ("auto", "padded", "apart"):
        raise ValueError(f"prefill must be 'auto', 'padded' or 'apart', got {prefill!r}.")
    padded = prefill == "padded" or (prefill == "auto" and getattr(loaded.device, "type", "cpu") != "cpu")
    n_prompts = len(prompts)
    ks = [int(n_clusters)] * n_prompts if np.ndim(n_clusters) == 0 else [int(k) for k in n_clusters]
    seeds = [0] * n_prompts if seeds is None else [int(s) for s in seeds]
    if len(ks) != n_prompts or len(seeds) != n_prompts:
        raise ValueError(f"Got {n_prompts} prompts, {len(ks)} n_clusters and {len(seeds)} seeds; they should match.")
    if any(getattr(prompt, "embeddings", None) is not None for prompt in prompts):
        raise ValueError("Batched decoding takes text prompts only; decode prompts with images one at a time.")
    layouts = {k: answer_tokens(loaded, k) for k in set(ks)}
    answers = [
        start_answer(loaded, prompt, k, window=window, temperature=temperature, seed=seed, layout=layouts[k])
        for prompt, k, seed in zip(prompts, ks, seeds)
    ]
    results = [None] * n_prompts
    # Labels of several tokens (k above 10) need sibling passes per label: those episodes
    # are decoded alone, so they too get exactly the labels of constrained_decode.
    for i in range(n_prompts):
        if not layouts[ks[i]].single_token:
            results[i] = constrained_decode(loaded, prompts[i], ks[i], temperature=temperature, seed=seeds[i])
    by_length = sorted((i for i in range(n_prompts) if results[i] is None), key=lambda i: (prompts[i].n_tokens, i))
    for start in range(0, len(by_length), batch_size):
        batch = by_length[start : start + batch_size]
        for i, result in zip(batch, _decode_batch(loaded, [answers[i] for i in batch], max(ks[i] for i in batch), padded)):
            results[i] = result
    return results


def _decode_batch(loaded, answers, n_labels, padded_prefill):
    import torch

    live = [i for i, answer in enumerate(answers) if not answer.finished]
    scorer = _BatchLabelScorer(loaded, answer_tokens(loaded, n_labels).score_ids, len(live))
    passes = np.zeros(len(answers), dtype=np.int64)
    prefill = None
    with out_of_memory_advice(loaded.model), torch.inference_mode():
        start = time.perf_counter()
        while live:
            fed = [answers[i].next_tokens() for i in live]
            feeds, offsets = [ids for ids, _ in fed], [wanted for _, wanted in fed]
            if padded_prefill or prefill is not None:
                logits = scorer.run(feeds, offsets)
            else:  # padding a batch of prompts of unequal lengths costs compute that a CPU lacks
                logits = scorer.run_apart(feeds, offsets, [answers[i].shared_prefix for i in live])
            if prefill is None:
                prefill = time.perf_counter() - start
            for row, i in enumerate(live):
                scorer.keep(row, answers[i].update(logits[row]))
                passes[i] += 1
            still = [row for row, i in enumerate(live) if not answers[i].finished]
            if len(still) < len(live) and still:
                scorer.select(still)
            live = [live[row] for row in still]
        total = time.perf_counter() - start
    prefill = total if prefill is None else prefill
    share = 1.0 / len(answers)
    return [
        DecodeResult(
            labels=answer.labels,
            probabilities=answer.probabilities,
            prefill_seconds=prefill * share,
            decode_seconds=(total - prefill) * share,
            n_forward_passes=int(count),
        )
        for answer, count in zip(answers, passes)
    ]
