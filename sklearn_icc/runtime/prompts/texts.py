"""Prompts whose points are texts: a quoted, escaped list under an instruction for texts.

Each text is written as a JSON string (quotes, backslashes and newlines escaped), so a
text can hold any character without breaking the list; the chat rendering and the
location of each point's tokens are those of :func:`~.prompts.build_prompt`.
"""

from __future__ import annotations

import json
from numbers import Integral

from .templates import LIST_CLOSE, LIST_OPEN, LIST_SEPARATOR, PromptTemplate, prompt_from_point_texts, resolve_template

DEFAULT_MAX_TEXT_TOKENS = 128
BRACKETS = (LIST_OPEN, LIST_SEPARATOR, LIST_CLOSE)

# The numeric templates' names, worded for texts: an estimator's ``prompt="paper"``
# (its default) clusters texts with the paper's instruction, said of texts.
TEXT_PROMPT_TEMPLATES = {
    "paper": PromptTemplate(
        system="You are a text clustering expert.",
        instruction=(
            "Cluster the following texts into {k} groups{condition}. Only output the group label of "
            "each text as a list of integers. Texts: {points} Labels:"
        ),
        instruction_unknown_k=(
            "Cluster the following texts into groups{condition}; choose the number of groups yourself. "
            "Only output the group label of each text as a list of integers. Texts: {points} Labels:"
        ),
    ),
    "short": PromptTemplate(
        system=None,
        instruction="Cluster these texts into {k} groups{condition}. Texts: {points} Labels:",
        instruction_unknown_k="Cluster these texts into groups{condition}. Texts: {points} Labels:",
    ),
}


def resolve_text_template(prompt):
    """The :class:`PromptTemplate` for texts that ``prompt`` names (a template is used as given)."""
    return resolve_template(prompt, TEXT_PROMPT_TEMPLATES, " for texts")


def cut_texts(texts, tokenizer, max_text_tokens=DEFAULT_MAX_TEXT_TOKENS):
    """Cut each text to its first ``max_text_tokens`` tokens; return ``(texts, n_cut)``.

    Tokens are counted on the text alone (inside the prompt a text's first and last
    tokens may merge with the quotes, so the count there can differ by one or two).
    ``None`` cuts nothing.
    """
    texts = list(texts)
    if max_text_tokens is None:
        return texts, 0
    if not isinstance(max_text_tokens, Integral) or isinstance(max_text_tokens, bool) or max_text_tokens < 1:
        raise ValueError(f"max_text_tokens must be None or an integer >= 1, got {max_text_tokens!r}.")
    if not texts:
        return texts, 0
    offsets = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    out, n_cut = [], 0
    for text, spans in zip(texts, offsets):
        if len(spans) > max_text_tokens:
            out.append(text[: spans[max_text_tokens - 1][1]])
            n_cut += 1
        else:
            out.append(text)
    return out, n_cut


def quote_text(text):
    """A text as it appears in the prompt: a JSON string, non-ASCII characters kept."""
    return json.dumps(text, ensure_ascii=False)


def build_text_prompt(texts, n_clusters, tokenizer, *, template=None, condition=None,
                      max_text_tokens=DEFAULT_MAX_TEXT_TOKENS):
    """Build the chat prompt of one episode of texts and locate each text's tokens.

    Parameters
    ----------
    texts : list of str
        The points, already validated (see :func:`sklearn_icc.cluster._texts.validate_texts`).
    n_clusters : int
        The number of clusters named in the instruction.
    tokenizer : transformers tokenizer
        A fast tokenizer with a chat template.
    template : PromptTemplate, default=None
        ``None`` means the paper's prompt worded for texts
        (``TEXT_PROMPT_TEMPLATES["paper"]``).
    condition : str, default=None
        What to cluster by ("topic"), written into the instruction:
        "Cluster the following texts into 3 groups based on topic."
    max_text_tokens : int or None, default=128
        Each text is cut to this many tokens first (see :func:`cut_texts`); ``None``
        keeps texts whole.

    Returns
    -------
    prompt : Prompt
        Token ids (generation prompt included) and ``point_spans``: text ``i`` owns
        tokens ``point_spans[i, 0]:point_spans[i, 1]``, from its opening quote up to the
        next text's opening quote, as numeric points do.
    n_cut : int
        How many texts were cut (the caller warns about them).

    Examples
    --------
    >>> from sklearn_icc.runtime import load_model
    >>> from sklearn_icc.runtime.prompts.texts import build_text_prompt
    >>> tokenizer = load_model(tiny_model_path, device="cpu").tokenizer
    >>> prompt, n_cut = build_text_prompt(['He said "hi"', "A cake"], 2, tokenizer, condition="topic")
    >>> print(prompt.text.split("user\\n")[1].split("<|im_end|>")[0])  # doctest: +NORMALIZE_WHITESPACE
    Cluster the following texts into 2 groups based on topic. Only output the group label
    of each text as a list of integers. Texts: ["He said \\"hi\\"", "A cake"] Labels:
    >>> [tokenizer.decode(prompt.input_ids[start:end]) for start, end in prompt.point_spans]
    ['["He said \\\\"hi\\\\"", ', '"A cake"]']
    >>> n_cut
    0
    """
    template = template or TEXT_PROMPT_TEMPLATES["paper"]
    texts, n_cut = cut_texts(texts, tokenizer, max_text_tokens)
    if not texts:
        raise ValueError("build_text_prompt needs at least one text.")
    prompt = prompt_from_point_texts([quote_text(t) for t in texts], BRACKETS, n_clusters, tokenizer,
                                     template=template, condition=condition)
    return prompt, n_cut
