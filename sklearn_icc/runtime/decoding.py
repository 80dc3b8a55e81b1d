"""Turn a prompt into one cluster label per point.

``constrained_decode`` writes the answer ``[l0, l1, ...]`` itself: brackets and
separators are forced, each label is chosen among the label tokens only, and labels
appear in canonical order (a new cluster gets the next unused id). Greedy decoding
verifies a window of guessed labels per forward pass (Jacobi decoding): the result is
the same as one label per pass, but the model's weights, which dominate the cost of a
pass on a CPU, are read far fewer times.

The paper's free generation plus parse is in :mod:`.free_decoding`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .embedded_prompts import model_inputs
from .label_tokens import AnswerTokens, answer_tokens, branch_nodes, label_log_probabilities, label_trie
from .prompts import check_context_window

__all__ = ["AnswerTokens", "DecodeResult", "LabelAnswer", "answer_tokens", "canonical_labels", "constrained_decode"]


@dataclass
class DecodeResult:
    """Labels of one episode and what it took to get them."""

    labels: np.ndarray
    probabilities: np.ndarray
    prefill_seconds: float
    decode_seconds: float
    n_forward_passes: int
    n_failures: int = 0
    answer_text: str | None = None


class _LabelScorer:
    """Run the model on new tokens with a KV cache and score only the label tokens."""

    def __init__(self, loaded, label_ids, prompt=None):
        import torch

        self.torch = torch
        self.model = loaded.model
        self.device = loaded.device
        prefix = getattr(self.model, "base_model_prefix", "model")
        self.body = getattr(self.model, prefix, None)
        head = self.model.get_output_embeddings()
        softcap = getattr(self.model.config, "final_logit_softcapping", None)
        self.fast = self.body is not None and head is not None and softcap is None
        index = torch.as_tensor(label_ids, device=self.device)
        if self.fast:
            # Only k rows of the output layer are needed: skip the full-vocabulary product.
            self.weight = head.weight[index]
            self.bias = head.bias[index] if getattr(head, "bias", None) is not None else None
        self.index = index
        self.cache = None
        self.length = 0
        self.n_passes = 0
        self.prompt = prompt  # its embeddings (if any) go into the first pass

    def __call__(self, ids, positions):
        """Feed ``ids``; return label logits (len(positions), k) at those offsets of ``ids``."""
        torch = self.torch
        input_ids = torch.as_tensor([ids], device=self.device)
        kwargs = {"use_cache": True}
        if self.cache is not None:
            kwargs["cache"] = self.cache
        inputs = model_inputs(self.model, input_ids, self.prompt if self.length == 0 else None)
        logits = self.score(input_ids, 0, positions, inputs=inputs, **kwargs)
        self.length += len(ids)
        return logits

    def score(self, input_ids, rows, positions, inputs=None, **kwargs):
        """One forward pass; label logits at ``[rows, positions]``; keeps the new cache.

        ``inputs`` replaces ``input_ids`` by other model inputs (``inputs_embeds`` of a
        prompt with images).
        """
        inputs = inputs if inputs is not None else {"input_ids": input_ids}
        if self.fast:
            out = self.body(**inputs, **kwargs)
            hidden = out.last_hidden_state[rows, positions]
            # A model sharded over devices may hold its output layer elsewhere.
            logits = hidden.to(self.weight.device) @ self.weight.T
            if self.bias is not None:
                logits = logits + self.bias
        else:
            out = self.model(**inputs, **kwargs)
            logits = out.logits[rows, positions][:, self.index.to(out.logits.device)]
        self.cache = out.cache
        self.n_passes += 1
        return logits.float().cpu().numpy()

    def branches(self, paths):
        """Label logits after each of ``paths`` (token tuples) fed from the current end.

        The paths are siblings, not a sequence: the cache is repeated once per path of
        a given length, one pass scores them all, and the cache is restored.
        """
        torch = self.torch
        rows = []
        for length in sorted({len(path) for path in paths}):
            group = [path for path in paths if len(path) == length]
            self.cache.batch_repeat_interleave(len(group))
            input_ids = torch.as_tensor(group, device=self.device)
            logits = self.score(input_ids, list(range(len(group))), [length - 1] * len(group), use_cache=True, cache=self.cache)
            self.cache.crop(-length)
            self.cache.batch_select_indices(torch.as_tensor([0], device=self.device))
            rows += list(zip(group, logits))
        found = dict(rows)
        return [found[tuple(path)] for path in paths]

    def keep(self, length):
        """Drop cached tokens beyond ``length`` (rejected guesses)."""
        if length < self.length:
            self.cache.crop(length - self.length)  # a negative count removes tokens
            self.length = length


def propose_labels(history, jacobi_guesses, count, max_context=8):
    """Guess the next ``count`` labels, to be verified in one pass.

    Label sequences repeat (runs of one label, alternations), so the best cheap guess
    copies what followed the latest earlier occurrence of the longest recent suffix
    of ``history``; the previous pass's own predictions (Jacobi) fill in otherwise.
    """
    history = [int(v) for v in history]
    if count <= 0:
        return []
    n = len(history)
    for length in range(min(max_context, n - 1), 0, -1):
        suffix = history[n - length :]
        for start in range(n - length - 1, -1, -1):
            if history[start : start + length] == suffix:
                follow = history[start + length :]
                guess = []
                while len(guess) < count:  # the copied stretch may be shorter than count
                    guess += follow
                return guess[:count]
    fallback = list(jacobi_guesses) + [history[-1]] * count
    return fallback[:count]


def _softmax(logits):
    logits = np.asarray(logits, dtype=np.float64)  # rows must sum to 1 in float64
    z = np.exp(logits - logits.max())
    return z / z.sum()


def prompt_fits(loaded, prompt, n_clusters):
    """Whether ``prompt`` and its constrained answer fit the model's context window."""
    needed = prompt.n_tokens + answer_tokens(loaded, n_clusters).n_answer_tokens(prompt.n_points)
    return needed <= loaded.context_length


def start_answer(loaded, prompt, n_clusters, *, window=16, temperature=0.0, seed=0, forced_labels=None, layout=None):
    """The answer state of one episode: :class:`LabelAnswer` for single-token labels, else :class:`TrieLabelAnswer`."""
    layout = layout or answer_tokens(loaded, n_clusters)
    n = prompt.n_points
    check_context_window(n, prompt.n_tokens, layout.n_answer_tokens(n), loaded.context_length)
    if layout.single_token:
        return LabelAnswer(prompt, layout, n_clusters, window=window, temperature=temperature, seed=seed,
                           forced_labels=forced_labels)
    return TrieLabelAnswer(prompt, layout, n_clusters, temperature=temperature, seed=seed, forced_labels=forced_labels)


def constrained_decode(loaded, prompt, n_clusters, *, max_clusters=10, window=16, temperature=0.0, seed=0,
                       forced_labels=None):
    """Choose one label per point among the allowed labels, with forced separators.

    Parameters
    ----------
    loaded : LoadedModel
    prompt : Prompt
    n_clusters : int or None
        The number of clusters. ``None``: the model decides, opening new labels (in
        canonical order) up to ``max_clusters``; build the prompt with
        ``n_clusters=None`` too, so that it states no k.
    max_clusters : int, default=10
        The most clusters the model may open when ``n_clusters`` is ``None``; ignored
        otherwise.
    window : int, default=16
        How many labels one greedy forward pass may confirm. ``1`` is plain decoding.
        Labels of several tokens (k above 10) are decoded one label per step.
    temperature : float, default=0.0
        ``0`` decodes greedily; above 0, labels are sampled (one per pass).
    seed : int, default=0
        Seed of the sampler when ``temperature > 0``.
    forced_labels : array-like of int, default=None
        Labels of the first points, written into the answer as given (labelled
        anchors, canonical); only the remaining points are decoded. Their
        probability rows are one-hot.

    Returns
    -------
    DecodeResult
        ``labels`` are int64 in canonical first-appearance order; ``probabilities``
        is ``(n_points, k)``: the model's distribution over the labels that were
        allowed at each point (a label of several tokens: the product of its tokens'
        probabilities, each renormalised over the allowed continuations). With
        ``n_clusters=None``, k is the number of labels used, and the mass a point gave
        to opening a further, never used label is dropped and its row renormalised.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_icc.runtime import build_prompt, constrained_decode, load_model
    >>> loaded = load_model("default")
    >>> X = np.random.default_rng(0).normal(size=(12, 2))
    >>> result = constrained_decode(loaded, build_prompt(X, None, loaded.tokenizer), None, max_clusters=5)
    >>> result.labels.tolist()  # the model chose two clusters
    [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
    >>> result.probabilities.shape
    (12, 2)
    """
    import torch

    unknown_k = n_clusters is None
    if unknown_k:
        max_clusters = int(max_clusters)
        if max_clusters < 2:
            raise ValueError(f"max_clusters={max_clusters} should be >= 2 when n_clusters is None.")
        n_clusters = max_clusters
    answer = start_answer(loaded, prompt, n_clusters, window=window, temperature=temperature, seed=seed,
                          forced_labels=forced_labels)
    scorer = _LabelScorer(loaded, answer.layout.score_ids, prompt)
    prefill = None
    with torch.inference_mode():
        start = time.perf_counter()
        while not answer.finished:
            ids, positions = answer.next_tokens()
            length = scorer.length
            logits = scorer(ids, positions)
            if prefill is None:
                prefill = time.perf_counter() - start
            paths = answer.branch_paths()
            scorer.keep(length + answer.update(logits, scorer.branches(paths) if paths else ()))
        total = time.perf_counter() - start
    prefill = total if prefill is None else prefill
    probabilities = answer.probabilities
    if unknown_k:
        probabilities = used_label_probabilities(probabilities, answer.labels)
    return DecodeResult(
        labels=answer.labels,
        probabilities=probabilities,
        prefill_seconds=prefill,
        decode_seconds=total - prefill,
        n_forward_passes=scorer.n_passes,
    )


def used_label_probabilities(probabilities, labels):
    """Keep the columns of the labels used; renormalise the rows (an unknown k's episode)."""
    kept = probabilities[:, : int(labels.max()) + 1]
    return kept / kept.sum(axis=1, keepdims=True)


class LabelAnswer:
    """One episode's constrained answer, written a window of labels per forward pass.

    :func:`constrained_decode` drives one of these with a single-sequence scorer, and
    :func:`~sklearn_icc.runtime.batching.batched_constrained_decode` drives many in one
    batch: each pass feeds :meth:`next_tokens` and gives the label logits back to
    :meth:`update`, which says how many of the fed tokens the answer keeps.
    """

    def __init__(self, prompt, layout, n_clusters, *, window=16, temperature=0.0, seed=0, forced_labels=None):
        n = prompt.n_points
        self.n_clusters = n_clusters
        self.layout = layout
        self.sep = list(layout.separator)
        self.step = 1 + len(self.sep)
        self.temperature = temperature
        self.rng = np.random.default_rng(seed)
        self.window = 1 if temperature > 0 else max(1, int(window))
        # The first point can only open cluster 0: its label needs no model call, so the
        # prompt's own pass already verifies the first window of guesses.
        forced = [0] if forced_labels is None or len(forced_labels) == 0 else [int(v) for v in forced_labels]
        if len(forced) > n or forced != list(canonical_labels(forced)) or max(forced) >= n_clusters:
            raise ValueError("forced_labels must be canonical labels in 0..n_clusters-1 for the first points.")
        self.labels = np.zeros(n, dtype=np.int64)
        self.probabilities = np.zeros((n, n_clusters))
        self.labels[: len(forced)] = forced
        self.probabilities[np.arange(len(forced)), forced] = 1.0
        self.done, self.n_used, self.pick, self.guesses = len(forced), max(forced) + 1, forced[-1], []
        self.prefix = list(prompt.input_ids) + list(layout.open)
        for label in forced[:-1]:
            self.prefix += list(layout.labels[label]) + self.sep
        self.proposal = []

    @property
    def finished(self):
        return self.done >= len(self.labels)

    def branch_paths(self):
        return []  # single-token labels: the label logits say everything

    def next_tokens(self):
        """The tokens of the next pass, and the offsets in them whose label logits it needs."""
        width = min(self.window, len(self.labels) - self.done)
        self.proposal = propose_labels(self.labels[: self.done], self.guesses, width - 1)
        feed = self.prefix + list(self.layout.labels[self.pick]) + self.sep
        for guess in self.proposal:
            feed += list(self.layout.labels[guess]) + self.sep
        positions = [len(self.prefix) + self.step * (j + 1) - 1 for j in range(width)]
        return feed, positions

    def update(self, logits, branch_logits=()):
        """Take the pass's label logits; return how many of the fed tokens to keep."""
        n_clusters, labels, probabilities = self.n_clusters, self.labels, self.probabilities
        n_prefix, self.prefix = len(self.prefix), []
        # logits[j] scores the label after proposal[:j]; accept guesses while they
        # equal what the model would have chosen itself.
        accepted = 0
        for j, guess in enumerate(self.proposal):
            allowed = min(n_clusters, self.n_used + 1)
            if guess >= allowed or int(np.argmax(logits[j][:allowed])) != guess:
                break
            probabilities[self.done, :allowed] = _softmax(logits[j][:allowed])
            labels[self.done] = guess
            self.n_used = max(self.n_used, guess + 1)
            self.done += 1
            accepted += 1
        # Jacobi: the pass's later predictions are the next guesses.
        self.guesses = [int(np.argmax(row[:n_clusters])) for row in logits[accepted + 1 :]]
        next_logits = logits[accepted]
        allowed = min(n_clusters, self.n_used + 1)
        probabilities[self.done, :allowed] = _softmax(next_logits[:allowed])
        if self.temperature > 0:
            self.pick = int(self.rng.choice(allowed, p=_softmax(next_logits[:allowed] / self.temperature)))
        else:
            self.pick = int(np.argmax(next_logits[:allowed]))
        labels[self.done] = self.pick
        self.n_used = max(self.n_used, self.pick + 1)
        self.done += 1
        return n_prefix + self.step * (accepted + 1)


class TrieLabelAnswer(LabelAnswer):
    """An answer whose labels may take several tokens: one label per step, over the label trie.

    A step feeds the previous label and its separator; its logits are the trie's root
    (the label's first token). The other nodes where the model chooses (after ``"1"``:
    end the label, or go on to ``"10"``...) are scored in one more pass over sibling
    rows (:meth:`branch_paths`). Greedy decoding picks the allowed label of highest
    probability; sampling draws from those probabilities to the power ``1/temperature``.
    """

    def __init__(self, prompt, layout, n_clusters, *, temperature=0.0, seed=0, forced_labels=None):
        super().__init__(prompt, layout, n_clusters, window=1, temperature=temperature, seed=seed,
                         forced_labels=forced_labels)
        self.columns = {token: j for j, token in enumerate(layout.score_ids)}
        self.trie = None

    def next_tokens(self):
        feed = self.prefix + list(self.layout.labels[self.pick]) + self.sep
        separator_end, close_end = self.layout.end_ids
        self.end_id = separator_end if self.done < len(self.labels) - 1 else close_end
        self.allowed = min(self.n_clusters, self.n_used + 1)
        self.trie = label_trie(self.layout.labels[: self.allowed], self.end_id)
        self.paths = branch_nodes(self.trie)
        return feed, [len(feed) - 1]

    def branch_paths(self):
        return self.paths

    def update(self, logits, branch_logits=()):
        n_fed = len(self.prefix) + len(self.layout.labels[self.pick]) + len(self.sep)
        self.prefix = []
        node_logits = {(): logits[0], **dict(zip(self.paths, branch_logits))}
        log_probs = label_log_probabilities(
            self.layout.labels[: self.allowed], self.end_id, self.trie, node_logits, self.columns
        )
        probabilities = np.exp(log_probs - log_probs.max())
        probabilities /= probabilities.sum()
        self.probabilities[self.done, : self.allowed] = probabilities
        if self.temperature > 0:
            self.pick = int(self.rng.choice(self.allowed, p=_softmax(log_probs / self.temperature)))
        else:
            self.pick = int(np.argmax(log_probs))
        self.labels[self.done] = self.pick
        self.n_used = max(self.n_used, self.pick + 1)
        self.done += 1
        return n_fed


def canonical_labels(labels):
    """Relabel so that clusters are numbered 0, 1, ... in order of first appearance."""
    mapping = {}
    out = np.empty(len(labels), dtype=np.int64)
    for i, label in enumerate(labels):
        out[i] = mapping.setdefault(label, len(mapping))
    return out
