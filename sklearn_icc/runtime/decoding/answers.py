"""One episode's answer while it is decoded: the labels so far, the guesses, the tokens to feed.

:class:`LabelAnswer` writes single-token labels a window of guesses per forward pass
(verified, Jacobi style); :class:`TrieLabelAnswer` writes labels of several tokens
one per step over the label trie (:mod:`.label_tokens`). Both are driven by
:func:`~sklearn_icc.runtime.constrained_decode` and by the batched decoder.
"""

from __future__ import annotations

import numpy as np

from .label_tokens import branch_nodes, label_log_probabilities, label_trie
from .prefix_cache import shared_prefix_length

#: The most labels one greedy pass verifies once guesses keep being accepted.
MAX_WINDOW = 256


def propose_labels(history, jacobi_guesses, count, max_context=8, n_clusters=None):
    """Guess the next ``count`` labels, to be verified in one pass.

    Label sequences repeat (runs of one label, alternations), so the best cheap guess
    copies what followed the latest earlier occurrence of the longest recent suffix
    of ``history``. Otherwise the last label is new (its first appearance): canonical
    labels then tend to open the next clusters, so the guess climbs to label
    ``n_clusters - 1`` and cycles through all of them; without ``n_clusters``, the
    previous pass's own predictions (Jacobi) fill in.
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
    if n_clusters is not None and n:
        ramp = list(range(history[-1] + 1, n_clusters))
        cycle = list(range(n_clusters))
        return (ramp + cycle * (count // n_clusters + 1))[:count]
    fallback = list(jacobi_guesses) + [history[-1]] * count
    return fallback[:count]


def _softmax(logits):
    logits = np.asarray(logits, dtype=np.float64)  # rows must sum to 1 in float64
    z = np.exp(logits - logits.max())
    return z / z.sum()


class LabelAnswer:
    """One episode's constrained answer, written a window of labels per forward pass.

    :func:`constrained_decode` drives one of these with a single-sequence scorer, and
    :func:`~sklearn_icc.runtime.decoding.batching.batched_constrained_decode` drives many in one
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
        # The window doubles while every guess is accepted (up to max_window) and falls
        # back to its start after a pass that accepts few: long runs of good guesses
        # need few passes, and bad ones waste little.
        self.start_window = self.window
        self.max_window = self.window if self.window == 1 else max(self.window, MAX_WINDOW)
        # The first point can only open cluster 0: its label needs no model call, so the
        # prompt's own pass already verifies the first window of guesses.
        forced = [0] if forced_labels is None or len(forced_labels) == 0 else [int(v) for v in forced_labels]
        if len(forced) > n or forced != list(canonical_labels(forced)) or max(forced) >= n_clusters:
            raise ValueError("forced_labels must be canonical labels in 0..n_clusters-1 for the first points.")
        self.labels = np.zeros(n, dtype=np.int64)
        self.probabilities = np.zeros((n, n_clusters))
        self.labels[: len(forced)] = forced
        self.probabilities[np.arange(len(forced)), forced] = 1.0
        self.done, self.n_used, self.pick = len(forced), max(forced) + 1, forced[-1]
        self.prefix = list(prompt.input_ids) + list(layout.open)
        for label in forced[:-1]:
            self.prefix += list(layout.labels[label]) + self.sep
        self.proposal = []
        self.shared_prefix = shared_prefix_length(prompt, 0 if forced_labels is None else len(forced_labels))

    @property
    def finished(self):
        return self.done >= len(self.labels)

    def next_tokens(self):
        """The tokens of the next pass, and the offsets in them whose label logits it needs."""
        width = min(self.window, len(self.labels) - self.done)
        # With k known, a guess never falls back on the previous pass's predictions (Jacobi).
        self.proposal = propose_labels(self.labels[: self.done], (), width - 1, n_clusters=self.n_clusters)
        feed = self.prefix + list(self.layout.labels[self.pick]) + self.sep
        for guess in self.proposal:
            feed += list(self.layout.labels[guess]) + self.sep
        positions = [len(self.prefix) + self.step * (j + 1) - 1 for j in range(width)]
        return feed, positions

    tree = None  # no tree tokens: single-token labels need only the label logits

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
        if self.proposal and accepted == len(self.proposal):
            self.window = min(self.max_window, 2 * self.window)
        elif 2 * accepted < len(self.proposal):
            self.window = self.start_window
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
    """An answer whose labels may take several tokens: one label per pass, over the label trie.

    A pass feeds the previous label and its separator, whose last logits are the trie's
    root (a label's first token), and then one token per other node where the model
    chooses (after ``"1"``: end the label, or go on to ``"10"``...). Those tokens form a
    tree (:attr:`tree`): each sees the answer so far and its own ancestors, not its
    siblings, and sits at the position it would have alone, so one pass scores every
    node; they are dropped from the cache afterwards. Greedy decoding picks the allowed
    label of highest probability; sampling draws from those probabilities to the power
    ``1/temperature``.
    """

    def __init__(self, prompt, layout, n_clusters, *, temperature=0.0, seed=0, forced_labels=None):
        super().__init__(prompt, layout, n_clusters, window=1, temperature=temperature, seed=seed,
                         forced_labels=forced_labels)
        self.columns = {token: j for j, token in enumerate(layout.score_ids)}

    def next_tokens(self):
        main = self.prefix + list(self.layout.labels[self.pick]) + self.sep
        separator_end, close_end = self.layout.end_ids
        self.end_id = separator_end if self.done < len(self.labels) - 1 else close_end
        self.allowed = min(self.n_clusters, self.n_used + 1)
        self.trie = label_trie(self.layout.labels[: self.allowed], self.end_id)
        self.paths = branch_nodes(self.trie)
        # Every prefix of a branch node is a tree token; parents come before children.
        nodes = sorted({path[:d] for path in self.paths for d in range(1, len(path) + 1)}, key=len)
        index = {node: j for j, node in enumerate(nodes)}
        self.tree = [index.get(node[:-1], -1) for node in nodes] or None  # -1: the root
        self.n_main = len(main)
        positions = [len(main) - 1] + [len(main) + index[path] for path in self.paths]
        return main + [node[-1] for node in nodes], positions

    def update(self, logits):
        self.prefix = []
        node_logits = {(): logits[0], **dict(zip(self.paths, logits[1:]))}
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
        return self.n_main  # the tree tokens leave the cache


def canonical_labels(labels):
    """Relabel so that clusters are numbered 0, 1, ... in order of first appearance."""
    mapping = {}
    out = np.empty(len(labels), dtype=np.int64)
    for i, label in enumerate(labels):
        out[i] = mapping.setdefault(label, len(mapping))
    return out
