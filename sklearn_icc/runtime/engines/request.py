"""What an engine is asked and what it answers: label requests, their constraint, the checks.

An episode's prompts are planned first (every ordering of every episode), each with
its :class:`LabelConstraint`, and handed to an engine in one call; the engine returns
one :class:`LabelResult` per request. Whatever the engine, an answer is parsed and
validated here (:func:`labels_from_answer`): exactly ``n_points`` labels in
``0..n_clusters-1``, renumbered in first-appearance order as the in-process decoder
writes them. Nothing is padded or guessed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from ..decoding.answers import canonical_labels
from ..decoding.constrained import prompt_fits


class EngineAnswerError(ValueError):
    """An engine's answer is not ``n_points`` labels in ``0..n_clusters-1``."""


@dataclass(frozen=True)
class LabelConstraint:
    """The answer a prompt allows: ``n_points`` labels in ``0..n_clusters-1``, in
    canonical first-appearance order (the first label is 0; a new cluster takes the next id).

    Examples
    --------
    >>> from sklearn_icc.runtime.engines import LabelConstraint
    >>> constraint = LabelConstraint(n_points=4, n_clusters=2)
    >>> constraint.regex()
    '\\\\[[0-1](, [0-1]){3}\\\\]'
    >>> constraint.json_schema()["minItems"]
    4
    """

    n_points: int
    n_clusters: int

    def __post_init__(self):
        if int(self.n_points) < 1 or int(self.n_clusters) < 1:
            raise ValueError(f"A label constraint needs n_points >= 1 and n_clusters >= 1, got {self}.")
        if self.n_clusters > 10:
            raise ValueError("Engines other than 'transformers' write labels of one digit: n_clusters <= 10.")

    def regex(self):
        """``[l, l, ...]`` with exactly ``n_points`` labels (any order; canonicalise after)."""
        top = self.n_clusters - 1
        repeat = "" if self.n_points == 1 else f"(, [0-{top}]){{{self.n_points - 1}}}"
        return rf"\[[0-{top}]{repeat}\]"

    def grammar(self):
        """An EBNF grammar (xgrammar's, as vLLM's ``structured_outputs.grammar`` takes it) of
        the canonical answers only: the first label is 0 and label ``u`` may follow only
        once labels ``0..u-1`` have appeared; exactly ``n_points`` labels.

        Rule ``r<i>u<u>`` is the rest of the answer after ``i`` labels that used ``u`` clusters.
        """
        n, k = self.n_points, self.n_clusters
        rules = ['root ::= "[0" r1u1']
        for i in range(1, n + 1):
            for used in range(1, min(i, k) + 1):
                if i == n:
                    rules.append(f'r{i}u{used} ::= "]"')
                    continue
                options = [f'", {label}" r{i + 1}u{used}' for label in range(used)]
                if used < k:
                    options.append(f'", {used}" r{i + 1}u{used + 1}')
                rules.append(f"r{i}u{used} ::= " + " | ".join(options))
        return "\n".join(rules)

    def json_schema(self):
        """The JSON schema of the answer: an array of exactly ``n_points`` integers in ``0..n_clusters-1``."""
        return {
            "type": "array",
            "items": {"type": "integer", "minimum": 0, "maximum": self.n_clusters - 1},
            "minItems": self.n_points,
            "maxItems": self.n_points,
        }


@dataclass(frozen=True)
class LabelRequest:
    """One prompt and its constraint, in the form its engine reads.

    ``prompt`` is a tokenized :class:`~sklearn_icc.runtime.Prompt` (the in-process and
    vLLM engines read its token ids); ``messages`` is the chat as text (endpoints apply
    their own chat template). ``seed`` seeds sampling when ``temperature > 0``.
    """

    constraint: LabelConstraint
    prompt: object = None
    messages: tuple = None
    temperature: float = 0.0
    seed: int = 0

    def __post_init__(self):
        if self.prompt is None and self.messages is None:
            raise ValueError("A label request needs a prompt (token ids) or messages (chat text).")
        if self.prompt is not None and self.prompt.n_points != self.constraint.n_points:
            raise ValueError(f"The prompt holds {self.prompt.n_points} points, the constraint {self.constraint.n_points}.")


@dataclass
class LabelResult:
    """An engine's answer to one :class:`LabelRequest`.

    ``labels`` are canonical int64 labels; ``probabilities`` is ``(n_points, k)`` with
    columns in the canonical numbering, or ``None`` when the engine returned no
    log-probabilities for the labels (nothing is made up for them).
    """

    labels: np.ndarray
    probabilities: np.ndarray | None
    answer_text: str | None = None
    n_prompt_tokens: int | None = None
    seconds: float = 0.0


def labels_from_answer(answer, constraint, engine):
    """Parse and validate an answer (``"[0, 1, 1]"``, or ``{"labels": [...]}``): canonical int64 labels.

    Also returns the raw labels (before renumbering), whose probability columns an
    engine maps with :func:`canonical_columns`. Raises :class:`EngineAnswerError`
    naming ``engine`` and what came back.

    Examples
    --------
    >>> from sklearn_icc.runtime.engines import LabelConstraint, labels_from_answer
    >>> labels_from_answer("[2, 0, 2]", LabelConstraint(3, 3), "test")[0]
    array([0, 1, 0])
    """
    shown = answer if len(str(answer)) <= 300 else str(answer)[:300] + "..."
    try:
        value = json.loads(answer) if isinstance(answer, str) else answer
    except json.JSONDecodeError as exc:
        raise EngineAnswerError(f"The {engine} engine answered {shown!r}, which is not JSON ({exc.msg}).") from None
    if isinstance(value, dict) and set(value) == {"labels"}:
        value = value["labels"]
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise EngineAnswerError(f"The {engine} engine answered {shown!r}, which is not a list of integers.")
    if len(value) != constraint.n_points:
        raise EngineAnswerError(
            f"The {engine} engine answered {len(value)} labels for {constraint.n_points} points: {shown!r}."
        )
    if any(v < 0 or v >= constraint.n_clusters for v in value):
        raise EngineAnswerError(
            f"The {engine} engine answered labels outside 0..{constraint.n_clusters - 1}: {shown!r}."
        )
    raw = np.asarray(value, dtype=np.int64)
    return canonical_labels(raw.tolist()), raw


def canonical_columns(raw_labels, probabilities, n_clusters):
    """Reorder probability columns from the raw label ids to the canonical ones
    (first appearance); clusters never used keep their relative order after them."""
    order = list(dict.fromkeys(int(v) for v in raw_labels))
    order += [c for c in range(n_clusters) if c not in order]
    return np.asarray(probabilities)[:, order]


def prompt_request(loaded, built, n_points, n_clusters, *, temperature=0.0, seed=0):
    """The :class:`LabelRequest` of one built prompt of ``n_points`` points; a clear error up front
    when the prompt and its answer do not fit ``loaded``'s context window."""
    if not prompt_fits(loaded, built, n_clusters):
        raise ValueError(
            f"The prompt of {n_points} points needs {built.n_tokens} tokens, too many for the context "
            f"window of {loaded.context_length} tokens with its answer; cluster fewer points at once."
        )
    return LabelRequest(LabelConstraint(n_points, n_clusters), prompt=built, temperature=temperature, seed=seed)
