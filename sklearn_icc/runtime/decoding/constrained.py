"""Turn a prompt into one cluster label per point.

``constrained_decode`` writes the answer ``[l0, l1, ...]`` itself: brackets and
separators are forced, each label is chosen among the label tokens only, and labels
appear in canonical order (a new cluster gets the next unused id). Greedy decoding
verifies a window of guessed labels per forward pass (Jacobi decoding): the result is
the same as one label per pass, but the model's weights, which dominate the cost of a
pass on a CPU, are read far fewer times. Labels of several tokens (``"10"`` and up)
are chosen one per step over a trie of the allowed labels (:mod:`.label_tokens`).
``n_clusters=None`` lets the model open labels up to ``max_clusters``: it chooses k.

The paper's free generation plus parse is in :mod:`.free_decoding`; the answer's
state while it is written is in :mod:`.answers`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .answers import LabelAnswer, TrieLabelAnswer, canonical_labels, propose_labels
from ..prompts.embedded import model_inputs
from ..model.faults import check_finite, out_of_memory_advice
from .label_tokens import AnswerTokens, answer_tokens
from .prefix_cache import prefix_cache_for
from ..prompts.templates import check_context_window, fits_context_window

__all__ = [
    "AnswerTokens",
    "DecodeResult",
    "LabelAnswer",
    "TrieLabelAnswer",
    "answer_tokens",
    "canonical_labels",
    "constrained_decode",
    "propose_labels",
]


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

    def __init__(self, loaded, label_ids, prompt=None, shared=0):
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
        # The first `shared` tokens of the first feed are the part other prompts may share.
        self.shared = int(shared)
        self.prefixes = prefix_cache_for(self.model) if self.shared else None

    def __call__(self, ids, positions, tree=None):
        """Feed ``ids``; return label logits (len(positions), k) at those offsets of ``ids``.

        ``tree`` gives the parent (an offset among the last ``len(tree)`` ids, or -1 for
        the token before them) of each of the last ids: those see only their ancestors.
        The first call starts from the stored KV of the longest known prefix of ``ids``
        and stores the shared part when it was not known (:mod:`.prefix_cache`).
        """
        torch = self.torch
        first, skip = self.n_passes == 0, 0
        if first and self.prefixes is not None:
            skip, self.cache = self.prefixes.lookup(ids, self.model.config)
            self.length = skip
        fed = ids[skip:]
        input_ids = torch.as_tensor([fed], device=self.device)
        kwargs = {"use_cache": True}
        if self.cache is not None:
            kwargs["cache"] = self.cache
        if tree:
            kwargs.update(tree_attention(self.length, len(fed) - len(tree), tree, self.model.dtype, self.device))
        inputs = model_inputs(self.model, input_ids, self.prompt if self.length == 0 else None)
        logits = self.score(input_ids, 0, [p - skip for p in positions], inputs=inputs, **kwargs)
        self.length += len(fed)
        if first and self.prefixes is not None and self.shared > skip:
            self.prefixes.store(ids[: self.shared], self.cache)
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


def tree_attention(n_past, n_main, parents, dtype, device):
    """A 4-D attention mask and position ids for ``n_main`` causal tokens then a token tree.

    Tree token ``j`` sees the past, the main tokens, its ancestors and itself, and
    takes the position it would have on its own path after the main tokens.
    """
    import torch

    n_tree = len(parents)
    q, kv = n_main + n_tree, n_past + n_main + n_tree
    allowed = np.zeros((q, kv), dtype=bool)
    allowed[:, :n_past] = True
    allowed[:n_main, n_past : n_past + n_main] = np.tril(np.ones((n_main, n_main), dtype=bool))
    allowed[n_main:, n_past : n_past + n_main] = True
    depth = []
    for j, parent in enumerate(parents):
        row, ancestor = n_main + j, j
        while ancestor >= 0:  # itself, then its parent, ... up to the root
            allowed[row, n_past + n_main + ancestor] = True
            ancestor = parents[ancestor]
        depth.append(1 + (depth[parent] if parent >= 0 else 0))
    positions = n_past + np.concatenate([np.arange(n_main), n_main - 1 + np.array(depth, dtype=np.int64)])
    mask = torch.zeros((1, 1, q, kv), dtype=dtype)
    mask[0, 0][torch.as_tensor(~allowed)] = torch.finfo(dtype).min
    return {"attention_mask": mask.to(device), "position_ids": torch.as_tensor(positions[None], device=device)}


def prompt_fits(loaded, prompt, n_clusters):
    """Whether ``prompt`` and its constrained answer fit the model's context window."""
    n_answer = answer_tokens(loaded, n_clusters).n_answer_tokens(prompt.n_points)
    return fits_context_window(prompt.n_tokens, n_answer, loaded.context_length)


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
    scorer = _LabelScorer(loaded, answer.layout.score_ids, prompt, shared=answer.shared_prefix)
    prefill = None
    with out_of_memory_advice(loaded.model), torch.inference_mode():
        start = time.perf_counter()
        while not answer.finished:
            ids, positions = answer.next_tokens()
            length = scorer.length
            logits = scorer(ids, positions, tree=answer.tree)
            if prefill is None:
                prefill = time.perf_counter() - start
            scorer.keep(length + answer.update(logits))
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
