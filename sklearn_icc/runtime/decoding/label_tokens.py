"""Cluster labels as token sequences: the answer's layout and the trie of allowed labels.

A label is the decimal number ``"0"``, ``"1"``, ... ``"49"``, written as whatever tokens
the tokenizer gives it (SmolLM2 and the tests' character tokenizer write one token per
digit, so ``"10"`` is two tokens). Labels below ten are then single tokens, and
decoding them needs one row of logits per point. Above ten, ``"1"`` is a prefix of
``"10"``: a label ends where the answer's next part (the separator, or the closing
bracket after the last point) begins, so each label's sequence plus that end token is
a path in a prefix-free trie. A label's probability is the product, along its path,
of the model's next-token distribution renormalised over the trie's branches at each
node; over the allowed labels these products sum to 1, and for single-token labels
they are the softmax over the label tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..prompts.templates import AnswerFormat

#: The labels ``"0"`` .. ``"99"``: how many :func:`label_sequences` looks up.
LABEL_LIMIT = 100


def label_sequences(tokenizer, limit=LABEL_LIMIT):
    """Token ids of the labels ``"0"``, ``"1"``, ... ``str(limit - 1)``, one tuple per label.

    Stops before the first label that encodes to nothing or to the same tokens as a
    smaller label (such a tokenizer cannot tell them apart).
    """
    sequences, seen = [], set()
    for label in range(limit):
        encoded = tuple(tokenizer.encode(str(label), add_special_tokens=False))
        if not encoded or encoded in seen:
            break
        seen.add(encoded)
        sequences.append(encoded)
    return tuple(sequences)


@dataclass(frozen=True)
class AnswerTokens:
    """Token ids of the answer's parts, checked against the tokenizer.

    ``labels[l]`` is the tuple of token ids of label ``l``; ``score_ids`` are the token
    ids whose logits decoding reads (in the order of the logit columns).
    """

    open: tuple
    separator: tuple
    close: tuple
    labels: tuple

    @property
    def n_clusters(self):
        return len(self.labels)

    @property
    def single_token(self):
        """Whether every label is one token: the fast path of one logit row per point."""
        return all(len(sequence) == 1 for sequence in self.labels)

    @property
    def end_ids(self):
        """The token that ends a label: ``(after a label, after the last label)``."""
        return self.separator[0], self.close[0]

    @property
    def score_ids(self):
        if self.single_token:
            return tuple(sequence[0] for sequence in self.labels)
        tokens = {token for sequence in self.labels for token in sequence}
        return tuple(sorted(tokens | set(self.end_ids)))

    def n_answer_tokens(self, n_points):
        """The longest answer for ``n_points`` (end of turn included).

        In canonical order point ``i`` has a label of at most ``i``, so the bound takes
        label ``min(i, k - 1)`` for point ``i``.
        """
        k = len(self.labels)
        label_tokens = sum(len(self.labels[min(i, k - 1)]) for i in range(n_points))
        return len(self.open) + label_tokens + (n_points - 1) * len(self.separator) + len(self.close) + 1


def answer_tokens(loaded, n_clusters, answer_format=None):
    """Return the answer's token layout for labels ``0..n_clusters-1``.

    Raises ``ValueError`` when the model has fewer labels than ``n_clusters`` or when
    the tokenizer would merge the answer's labels with its separators.
    """
    answer_format = answer_format or AnswerFormat()
    tokenizer = loaded.tokenizer
    n_clusters = int(n_clusters)
    if n_clusters < 1:
        raise ValueError(f"n_clusters={n_clusters} should be >= 1.")
    if n_clusters > loaded.max_clusters:
        raise ValueError(
            f"n_clusters={n_clusters} is above the {loaded.max_clusters} cluster labels that "
            f"the model {loaded.name!r} can write (labels 0..{loaded.max_clusters - 1})."
        )

    def encode(text):
        return tuple(tokenizer.encode(text, add_special_tokens=False))

    layout = AnswerTokens(
        open=encode(answer_format.open),
        separator=encode(answer_format.separator),
        close=encode(answer_format.close),
        labels=tuple(loaded.label_sequences[:n_clusters]),
    )
    # Every label once, each followed by a separator, and a label before the close.
    probe = list(range(n_clusters)) + [0]
    expected = list(layout.open)
    for i, label in enumerate(probe):
        expected += ([] if i == 0 else list(layout.separator)) + list(layout.labels[label])
    expected += list(layout.close)
    if not layout.separator or not layout.close or list(encode(answer_format.render(probe))) != expected:
        raise ValueError(
            f"The tokenizer of {loaded.name!r} merges the answer's labels with its separators; "
            "constrained decoding needs labels whose tokens stand apart."
        )
    label_token_set = {token for sequence in layout.labels for token in sequence}
    if not layout.single_token and label_token_set & set(layout.end_ids):
        raise ValueError("The answer's separator or closing bracket starts with a label token; labels would be ambiguous.")
    return layout


def label_trie(sequences, end_id):
    """``{node: [child tokens]}`` of the paths ``sequence + (end_id,)``; a node is a token prefix."""
    children = {}
    for sequence in sequences:
        path = tuple(sequence) + (end_id,)
        for depth, token in enumerate(path):
            kids = children.setdefault(path[:depth], [])
            if token not in kids:
                kids.append(token)
    return children


def branch_nodes(children):
    """The trie's nodes below the root where the model chooses (two or more children)."""
    return [node for node, kids in children.items() if node and len(kids) > 1]


def label_log_probabilities(sequences, end_id, children, node_logits, columns):
    """Log-probability of each label: the sum, along its path, of log-softmax over each node's children.

    ``node_logits[node]`` is the row of logits (over ``columns``, a token id to column
    map) read after the tokens of ``node``; only nodes with several children need one.
    """
    log_probs = np.zeros(len(sequences))
    at_node = {}
    for label, sequence in enumerate(sequences):
        path = tuple(sequence) + (end_id,)
        for depth, token in enumerate(path):
            node = path[:depth]
            kids = children[node]
            if len(kids) < 2:
                continue  # a forced token has probability 1
            if node not in at_node:
                row = np.asarray(node_logits[node], dtype=np.float64)[[columns[t] for t in kids]]
                shifted = row - row.max()
                at_node[node] = dict(zip(kids, shifted - np.log(np.exp(shifted).sum())))
            log_probs[label] += at_node[node][token]
    return log_probs
