"""Write an episode's points into a chat prompt and find each point's tokens.

The prompt builder is shared by every estimator and by fine-tuning, so that training
examples are byte for byte the prompts that inference sees.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .plain_text import encode_with_plain_region

POINT_FORMATS = ("paper", "compact", "embedding")
# "embedding" writes no text: each point becomes learned input embeddings (.point_embeddings).
DEFAULT_MAX_FEATURES = 8  # the most features of a point in the "embedding" format, by default


@dataclass(frozen=True)
class PromptTemplate:
    """The system prompt and the instruction of an ICC prompt.

    ``instruction`` is formatted with ``k`` (the number of clusters), ``condition``
    (``" based on <text>"`` when a condition is given, else ``""``) and ``points``
    (the encoded data). ``instruction_unknown_k`` is the instruction when k is not
    given (``n_clusters=None``): it has no ``{k}``, so the model chooses the number of
    clusters; ``None`` means the template cannot leave k out.
    """

    system: str | None = "You are a data clustering expert."
    instruction: str = (
        "Cluster the following data into {k} clusters{condition}. Only output the cluster "
        "labels for each point as a list of integers. Data: {points} Labels:"
    )
    condition_clause: str = " based on {condition}"
    instruction_unknown_k: str | None = (
        "Cluster the following data{condition}; choose the number of clusters yourself. Only output "
        "the cluster labels for each point as a list of integers. Data: {points} Labels:"
    )

    def __post_init__(self):
        for field in ("{k}", "{points}"):
            if field not in self.instruction:
                raise ValueError(f"PromptTemplate.instruction must contain {field}.")
        if self.instruction.count("{points}") != 1:
            raise ValueError("PromptTemplate.instruction must contain {points} exactly once.")
        unknown = self.instruction_unknown_k
        if unknown is not None and ("{k}" in unknown or unknown.count("{points}") != 1):
            raise ValueError("PromptTemplate.instruction_unknown_k must contain {points} exactly once and no {k}.")


PROMPT_TEMPLATES = {
    "paper": PromptTemplate(),
    "short": PromptTemplate(
        system=None,
        instruction="Cluster these points into {k} groups{condition}. Points: {points} Labels:",
        instruction_unknown_k="Cluster these points into groups{condition}. Points: {points} Labels:",
    ),
}


# The one copy of a bracketed list's parts: the paper's points, image spans and answers.
LIST_OPEN, LIST_SEPARATOR, LIST_CLOSE = "[", ", ", "]"


@dataclass(frozen=True)
class AnswerFormat:
    """How the answer is written: ``open`` + labels joined by ``separator`` + ``close``."""

    open: str = LIST_OPEN
    separator: str = LIST_SEPARATOR
    close: str = LIST_CLOSE

    def render(self, labels):
        return self.open + self.separator.join(str(int(label)) for label in labels) + self.close


@dataclass(frozen=True)
class Prompt:
    """A tokenized prompt: ``input_ids`` and the ``[start, end)`` token span of each point.

    Points given as embeddings (images) fill the tokens at ``embedded_positions`` with
    the rows of ``embeddings`` (a tensor); the ids there are placeholders
    (see :mod:`.embedded_prompts`).
    """

    text: str
    input_ids: list
    point_spans: np.ndarray
    embeddings: object = None
    embedded_positions: np.ndarray | None = None

    @property
    def n_points(self):
        return len(self.point_spans)

    @property
    def n_tokens(self):
        return len(self.input_ids)


def resolve_template(prompt, templates=None, kind=""):
    """Return the :class:`PromptTemplate` that the estimator's ``prompt`` names.

    ``templates`` maps names to templates (``None``: :data:`PROMPT_TEMPLATES`); ``kind``
    ends the error message (" for texts"). A template is used as given.
    """
    templates = PROMPT_TEMPLATES if templates is None else templates
    if isinstance(prompt, PromptTemplate):
        return prompt
    if isinstance(prompt, str) and prompt in templates:
        return templates[prompt]
    raise ValueError(f"prompt must be one of {sorted(templates)} or a PromptTemplate{kind}, got {prompt!r}.")


def encode_points(X, point_format="paper"):
    """Write each row of ``X`` as text; return ``(texts, open, separator, close)``.

    ``"paper"`` is the paper's nested list with 2 decimals, ``[[1.23, -4.5], ...]``
    (about 18 tokens per 3-D point with one token per digit). ``"compact"`` rescales
    each feature robustly (median, interquartile range) to integers in [-99, 99] and
    writes one point per line, ``12 -3 45`` (about 9 tokens per 3-D point).
    """
    X = np.asarray(X, dtype=np.float64)
    if point_format == "paper":
        rounded = np.round(X, 2) + 0.0  # + 0.0 turns -0.0 into 0.0
        texts = [LIST_OPEN + LIST_SEPARATOR.join(f"{v:.2f}" for v in row) + LIST_CLOSE for row in rounded]
        return texts, LIST_OPEN, LIST_SEPARATOR, LIST_CLOSE
    if point_format == "compact":
        scaled = compact_scale(X)
        texts = [" ".join(str(v) for v in row) for row in scaled]
        return texts, "\n", "\n", "\n"
    if point_format == "embedding":
        raise ValueError(
            "point_format='embedding' writes no text: each point becomes learned input embeddings "
            "(sklearn_icc.runtime.prompts.point_embeddings.build_point_prompt, or PromptSpec.build)."
        )
    raise ValueError(f"point_format must be one of {POINT_FORMATS}, got {point_format!r}.")


def compact_scale(X):
    """Rescale each feature to integers in [-99, 99]: 10 steps per robust standard deviation."""
    return np.clip(np.round(robust_standardise(X) * 10), -99, 99).astype(np.int64)


def robust_standardise(X):
    """Each feature minus its median, over its robust standard deviation (IQR / 1.349).

    Scale-free and unbounded floats; a feature without spread is divided by its standard
    deviation, or by 1 when it is constant. Shared by the compact and embedding formats.
    """
    X = np.asarray(X, dtype=np.float64)
    # Divide each feature by a power of two near its largest magnitude first (exact, and
    # the result is scale-free): differences of values near 1e300 would overflow.
    _, exponent = np.frexp(np.abs(X).max(axis=0, initial=0.0))
    X = np.ldexp(X, -exponent)
    center = np.median(X, axis=0)
    q75, q25 = np.percentile(X, [75, 25], axis=0)
    scale = (q75 - q25) / 1.349
    fallback = X.std(axis=0)
    scale = np.where(scale > 0, scale, np.where(fallback > 0, fallback, 1.0))
    return (X - center) / scale


def render_user_message(template, n_clusters, points_text, condition=None):
    """The user turn's text, and the character offset of the points within it.

    ``n_clusters=None`` renders the template's ``instruction_unknown_k`` (no k stated).
    """
    instruction = template.instruction
    if n_clusters is None:
        instruction = template.instruction_unknown_k
        if instruction is None:
            raise ValueError("n_clusters=None needs a prompt template with an instruction_unknown_k (one without {k}).")
    if condition and "{condition}" not in instruction:
        raise ValueError(
            f"condition={condition!r} was given, but the prompt template's instruction has no "
            "{condition} field, so the condition would be dropped; add {condition} to it."
        )
    clause = template.condition_clause.format(condition=condition) if condition else ""
    head, tail = instruction.split("{points}")
    head = head.format(k=n_clusters, condition=clause)
    tail = tail.format(k=n_clusters, condition=clause)
    return head + points_text + tail, len(head)


def chat_messages(template, user_text):
    messages = []
    if template.system is not None:
        messages.append({"role": "system", "content": template.system})
    messages.append({"role": "user", "content": user_text})
    return messages


def build_prompt(X, n_clusters, tokenizer, *, template=None, condition=None, point_format="paper"):
    """Build the chat prompt of one episode and locate each point's tokens.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The points, already validated.
    n_clusters : int or None
        The number of clusters named in the instruction; ``None`` states no k (the
        template's ``instruction_unknown_k``).
    tokenizer : transformers tokenizer
        A fast tokenizer with a chat template.
    template : PromptTemplate, default=None
        ``None`` means the paper's prompt.
    condition : str, default=None
        Optional text that says what to cluster by ("colour").
    point_format : {"paper", "compact"}, default="paper"
        ``"embedding"`` prompts are built by
        :func:`~sklearn_icc.runtime.prompts.point_embeddings.build_point_prompt`.

    Returns
    -------
    Prompt
        The text, its token ids (generation prompt included), and ``point_spans``:
        point ``i`` owns tokens ``point_spans[i, 0]:point_spans[i, 1]``, from its first
        character up to the next point's first character.
    """
    template = template or PROMPT_TEMPLATES["paper"]
    texts, open_, sep, close = encode_points(X, point_format)
    return prompt_from_point_texts(texts, (open_, sep, close), n_clusters, tokenizer, template=template,
                                   condition=condition)


def render_chat(template, n_clusters, points_text, condition, tokenizer):
    """The chat template's rendering of the episode's conversation (generation prompt
    added), and the character offset where ``points_text`` starts in it.

    Shared by every prompt builder: numbers, texts and embedded points.
    """
    user_text, points_offset = render_user_message(template, n_clusters, points_text, condition)
    rendered = tokenizer.apply_chat_template(
        chat_messages(template, user_text), tokenize=False, add_generation_prompt=True
    )
    user_at = rendered.rfind(user_text)
    if user_at < 0:
        raise ValueError("The chat template changed the user message; cannot locate the points.")
    return rendered, user_at + points_offset


def prompt_from_point_texts(texts, brackets, n_clusters, tokenizer, *, template, condition=None):
    """Render the chat prompt whose data is ``texts`` (each point already written) and
    locate each point's tokens; ``brackets`` is ``(open, separator, close)`` of the list.

    Shared by the numeric (:func:`build_prompt`) and text
    (:func:`~.text_prompts.build_text_prompt`) prompt builders.
    """
    open_, sep, close = brackets
    starts, pos = [], len(open_)
    for text in texts:
        starts.append(pos)
        pos += len(text) + len(sep)
    points_text = open_ + sep.join(texts) + close
    rendered, data_start = render_chat(template, n_clusters, points_text, condition, tokenizer)
    # User data is read as plain text: no control token may come from it.
    ids, token_starts = encode_with_plain_region(tokenizer, rendered, data_start, data_start + len(points_text))
    token_starts = np.array(token_starts)
    # Point i owns the characters from its own start (the opening bracket for point 0)
    # up to the next point's start; a token belongs to the region where it starts.
    bounds = data_start + np.array([0] + starts[1:] + [len(points_text)])
    owner = np.searchsorted(bounds, token_starts, side="right") - 1
    in_data = (token_starts >= bounds[0]) & (token_starts < bounds[-1])
    spans = np.zeros((len(texts), 2), dtype=np.int64)
    for i in range(len(texts)):
        where = np.flatnonzero(in_data & (owner == i))
        if where.size == 0:
            raise ValueError(f"Point {i} owns no token; the tokenizer merged it with a neighbour.")
        spans[i] = where[0], where[-1] + 1
    return Prompt(text=rendered, input_ids=ids, point_spans=spans)


def fits_context_window(n_prompt_tokens, n_answer_tokens, context_length):
    """Whether a prompt and its answer fit the context window: the one such check."""
    return n_prompt_tokens + n_answer_tokens <= context_length


def check_context_window(n_points, n_prompt_tokens, n_answer_tokens, context_length):
    """Raise ``ValueError`` when a prompt and its answer do not fit the context window."""
    needed = n_prompt_tokens + n_answer_tokens
    if not fits_context_window(n_prompt_tokens, n_answer_tokens, context_length):
        raise ValueError(
            f"The prompt for n={n_points} points needs {needed} tokens ({n_prompt_tokens} prompt "
            f"+ {n_answer_tokens} answer), over the model's context window of {context_length} "
            "tokens. Cluster fewer points or features at once, or use point_format='compact'."
        )
