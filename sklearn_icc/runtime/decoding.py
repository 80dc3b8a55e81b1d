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
from .faults import check_finite, out_of_memory_advice
from .prompts import AnswerFormat, check_context_window


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


@dataclass(frozen=True)
class AnswerTokens:
    """Token ids of the answer's fixed parts, checked against the tokenizer."""

    open: tuple
    separator: tuple
    close: tuple
    labels: tuple

    def n_answer_tokens(self, n_points):
        return len(self.open) + n_points + (n_points - 1) * len(self.separator) + len(self.close) + 1


def answer_tokens(loaded, n_clusters, answer_format=None):
    """Return the answer's token layout; raise if the tokenizer would merge its parts."""
    answer_format = answer_format or AnswerFormat()
    tokenizer = loaded.tokenizer
    if n_clusters > loaded.max_clusters:
        raise ValueError(
            f"n_clusters={n_clusters} is above the {loaded.max_clusters} cluster labels that "
            f"the model {loaded.name!r} writes as single tokens."
        )

    def encode(text):
        return tuple(tokenizer.encode(text, add_special_tokens=False))

    layout = AnswerTokens(
        open=encode(answer_format.open),
        separator=encode(answer_format.separator),
        close=encode(answer_format.close),
        labels=loaded.label_token_ids[:n_clusters],
    )
    probe = [0, 1, 0] if n_clusters > 1 else [0, 0]
    expected = list(layout.open)
    for i, label in enumerate(probe):
        expected += ([] if i == 0 else list(layout.separator)) + [layout.labels[label]]
    expected += list(layout.close)
    if list(encode(answer_format.render(probe))) != expected:
        raise ValueError(
            f"The tokenizer of {loaded.name!r} merges the answer's labels with its separators; "
            "constrained decoding needs labels that are tokens of their own."
        )
    return layout


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
        return check_finite(logits.float(), "label logits", self.model).cpu().numpy()

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


def constrained_decode(loaded, prompt, n_clusters, *, window=16, temperature=0.0, seed=0, forced_labels=None):
    """Choose one label per point among the label tokens, with forced separators.

    Parameters
    ----------
    loaded : LoadedModel
    prompt : Prompt
    n_clusters : int
    window : int, default=16
        How many labels one greedy forward pass may confirm. ``1`` is plain decoding.
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
        is ``(n_points, n_clusters)``: the model's distribution over the labels that
        were allowed at each point.
    """
    import torch

    layout = answer_tokens(loaded, n_clusters)
    n = prompt.n_points
    check_context_window(n, prompt.n_tokens, layout.n_answer_tokens(n), loaded.context_length)
    answer = LabelAnswer(
        prompt, layout, n_clusters, window=window, temperature=temperature, seed=seed, forced_labels=forced_labels
    )
    scorer = _LabelScorer(loaded, layout.labels, prompt)
    prefill = None
    with out_of_memory_advice(loaded.model), torch.inference_mode():
        start = time.perf_counter()
        while not answer.finished:
            ids, positions = answer.next_tokens()
            length = scorer.length
            logits = scorer(ids, positions)
            if prefill is None:
                prefill = time.perf_counter() - start
            scorer.keep(length + answer.update(logits))
        total = time.perf_counter() - start
    prefill = total if prefill is None else prefill
    return DecodeResult(
        labels=answer.labels,
        probabilities=answer.probabilities,
        prefill_seconds=prefill,
        decode_seconds=total - prefill,
        n_forward_passes=scorer.n_passes,
    )


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
            self.prefix += [layout.labels[label]] + self.sep
        self.proposal = []

    @property
    def finished(self):
        return self.done >= len(self.labels)

    def next_tokens(self):
        """The tokens of the next pass, and the offsets in them whose label logits it needs."""
        width = min(self.window, len(self.labels) - self.done)
        self.proposal = propose_labels(self.labels[: self.done], self.guesses, width - 1)
        feed = self.prefix + [self.layout.labels[self.pick]] + self.sep
        for guess in self.proposal:
            feed += [self.layout.labels[guess]] + self.sep
        positions = [len(self.prefix) + self.step * (j + 1) - 1 for j in range(width)]
        return feed, positions

    def update(self, logits):
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


def canonical_labels(labels):
    """Relabel so that clusters are numbered 0, 1, ... in order of first appearance."""
    mapping = {}
    out = np.empty(len(labels), dtype=np.int64)
    for i, label in enumerate(labels):
        out[i] = mapping.setdefault(label, len(mapping))
    return out
