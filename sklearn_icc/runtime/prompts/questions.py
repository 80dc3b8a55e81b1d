"""The question prompt of the conditioned reading: one text, one question about it.

Each text is read on its own in a chat prompt that asks the model what the user wants
to cluster by::

    <system>  <user> What is the sentiment of this text? Answer with one word.
              Text: "<text>" <end of turn> <assistant>

The question comes first, so every text of a call shares the prompt up to its opening
quote: that prefix is computed once (:mod:`~sklearn_icc.runtime.capture.conditioned`).
User strings (the text and the condition) are tokenized as plain text: a text that
holds a control token's spelling (``<|im_end|>``) gets ordinary tokens, never the
control token's id (:func:`~sklearn_icc.runtime.prompts.plain_text.plain_ids`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .plain_text import plain_ids, template_ids

#: The most tokens a condition may take: a short phrase ("how the writer feels"), not a
#: paragraph of instructions.
MAX_CONDITION_TOKENS = 16
#: What the reading asks when no condition is given.
GENERIC_CONDITION = "topic"

_LEADING_WORDS = re.compile(r"^(?:(?:cluster|group|sort)(?: the)? texts? )?(?:by|based on|according to|on)\s+",
                            re.IGNORECASE)
_ARTICLE = re.compile(r"^(?:the|their|its)\s+", re.IGNORECASE)
_USER_MARK = "\uE000USER\uE000"


def normalise_condition(condition):
    """The condition as the question names it: trimmed, without a leading "by"/"based on"
    or article, and without a trailing full stop.

    Examples
    --------
    >>> from sklearn_icc.runtime.prompts.questions import normalise_condition
    >>> normalise_condition(" by sentiment. "), normalise_condition("Based on the topic")
    ('sentiment', 'topic')
    >>> normalise_condition("how the writer feels")
    'how the writer feels'
    """
    text = " ".join(str(condition).split()).rstrip(".?!").strip()
    text = _LEADING_WORDS.sub("", text)
    return _ARTICLE.sub("", text).strip()


#: Words that mark a condition as content-like (what a text is about), read from the
#: text's own tokens (see ``benchmarks/conditioned_design.py``): an open class of nouns.
CONTENT_WORDS = frozenset({
    "about", "topic", "topics", "subject", "subjects", "theme", "themes", "product", "products", "item", "items",
    "object", "objects", "category", "categories", "domain", "field", "genre", "content", "place", "places",
    "location", "country", "city", "brand", "company", "entity", "thing", "things", "mentioned", "discussed",
    "app", "apps", "application", "applications", "software", "service", "services", "tool", "tools", "platform",
    "website", "websites", "game", "games", "sport", "sports", "team", "teams", "food", "foods", "dish", "dishes",
    "cuisine", "animal", "animals", "species", "language", "languages", "vehicle", "vehicles", "device",
    "devices", "event", "events", "industry", "industries", "sector", "sectors", "department", "departments",
    "course", "courses", "region", "regions", "destination", "destinations", "venue", "venues",
})
#: Words that mark a condition as attitude-like (how a text is written, what its writer
#: feels or wants), read at the answer slot; they win over :data:`CONTENT_WORDS`, so "how
#: the writer feels about the product" is attitude-like.
ATTITUDE_WORDS = frozenset({
    "feel", "feels", "feeling", "feelings", "felt", "sentiment", "sentiments", "emotion", "emotions", "emotional",
    "mood", "moods", "tone", "tones", "attitude", "attitudes", "opinion", "opinions", "stance", "polarity",
    "urgency", "urgent", "sarcasm", "sarcastic", "politeness", "polite", "formality", "formal", "satisfaction",
    "satisfied", "intent", "intention", "intentions", "purpose", "request", "requests", "whether", "who",
})


def condition_kind(condition):
    """``"attitude"`` when the condition names a word of :data:`ATTITUDE_WORDS`, else
    ``"content"`` when it names one of :data:`CONTENT_WORDS` (what a text is about), else
    ``"attitude"``; ``None`` (no condition) is content.

    An unknown condition is read as attitude-like because that errs the cheaper way: on
    the shipped sets an attitude condition read as content fell to chance, a content one
    read at the answer slot kept part of its partition (``docs/texts.rst``).

    Examples
    --------
    >>> from sklearn_icc.runtime.prompts.questions import condition_kind
    >>> condition_kind("which product it is about"), condition_kind("how the writer feels")
    ('content', 'attitude')
    >>> condition_kind("app"), condition_kind("how the writer feels about the product")
    ('content', 'attitude')
    """
    if condition is None:
        return "content"
    words = set(re.findall(r"[a-z]+", condition.lower()))
    if words & ATTITUDE_WORDS:
        return "attitude"
    return "content" if words & CONTENT_WORDS else "attitude"


def check_condition(condition, tokenizer=None, *, max_tokens=MAX_CONDITION_TOKENS):
    """Validate ``condition`` for the conditioned reading; return it normalised.

    ``None`` stays ``None`` (the caller asks the generic question). An empty or
    whitespace-only condition, or one longer than ``max_tokens`` tokens, is a
    ``ValueError``.

    Examples
    --------
    >>> from sklearn_icc.runtime.prompts.questions import check_condition
    >>> check_condition("by topic")
    'topic'
    >>> check_condition("   ")
    Traceback (most recent call last):
    ...
    ValueError: condition is empty or whitespace; give what to cluster by ("topic", "sentiment") or None.
    """
    if condition is None:
        return None
    if not isinstance(condition, str):
        raise TypeError(f"condition must be a string or None, got {type(condition).__name__}.")
    normalised = normalise_condition(condition)
    if not normalised:
        raise ValueError('condition is empty or whitespace; give what to cluster by ("topic", "sentiment") or None.')
    n_tokens = (len(tokenizer(normalised, add_special_tokens=False, split_special_tokens=True)["input_ids"])
                if tokenizer is not None else len(normalised.split()))
    if n_tokens > max_tokens:
        raise ValueError(
            f"condition takes {n_tokens} tokens, more than the {max_tokens} allowed; name what to cluster by "
            'in a short phrase ("sentiment", "the product mentioned"), not a paragraph of instructions.'
        )
    return normalised


QUESTIONS = {
    "what_is": "What is the {condition} of this text? Answer with one word.",
    "tell_me": "Tell me {condition}. Answer with one word.",
    "classify": "Classify this text by {condition}. Answer with one word.",
    "says_about": "What does this text say about {condition}? Answer with one word.",
    "tell_me_in_text": "Tell me {condition} in this text. Answer with one word.",
}
#: ``"auto"``: ``"tell_me_in_text"`` for a condition worded as a clause ("how the writer
#: feels"), else ``"what_is"`` (measured in ``benchmarks/conditioned_design.py`` and
#: ``docs/texts.rst``: against ``"tell_me"``, the support messages' "how the writer feels"
#: 0.74 -> 0.96 and the travel reviews' "who is travelling" 0.87 -> 1.00, the other clauses
#: measured equal). ``"says_about"`` partitions some clauses well too, but its answers
#: describe the text ("This text is an example of a rhetorical question"), so the
#: clusters' names say nothing: not the default.
DEFAULT_QUESTION = "auto"
_CLAUSE = re.compile(r"^(?:how|what|which|who|whom|whose|whether|where|when|why|if)\b", re.IGNORECASE)


def question(condition, style=DEFAULT_QUESTION):
    """The question asked of each text.

    Examples
    --------
    >>> from sklearn_icc.runtime.prompts.questions import question
    >>> question("sentiment")
    'What is the sentiment of this text? Answer with one word.'
    >>> question("how the writer feels")
    'Tell me how the writer feels in this text. Answer with one word.'
    """
    condition = condition or GENERIC_CONDITION
    if style == "auto":
        style = "tell_me_in_text" if _CLAUSE.match(condition) else "what_is"
    if style not in QUESTIONS:
        raise ValueError(f"style must be 'auto' or one of {sorted(QUESTIONS)}, got {style!r}.")
    return QUESTIONS[style].format(condition=condition)


@dataclass(frozen=True)
class QuestionPrompt:
    """The token ids shared by every text of one question, and around each text.

    A text's prompt is ``prefix + plain_ids(text) + suffix``; ``opener`` is the
    answer's opening (:func:`opener`) that the ``"opened"`` reading slot reads after it.
    """

    prefix: tuple
    suffix: tuple
    condition: str | None
    opener: tuple = ()

    def ids(self, text_ids):
        return list(self.prefix) + list(text_ids) + list(self.suffix)


def opener(condition):
    """The opening of the answer that the ``"opened"`` reading slot reads: the condition
    itself, capitalised, then a colon, as if the model had begun its answer with it
    (``"Urgency:"``). Measured in ``benchmarks/conditioned_openers.py``: read after this
    opener, the support messages' urgency rose from ARI -0.01 to 0.52 and the friends'
    "how the writer feels" from 0.25 to 0.84, but the travel reviews' "traveller" fell from
    1.00 to 0.24; so the opened reading is a candidate beside the plain one, never the
    only reading (:func:`~sklearn_icc.cluster._conditioned.conditioned_partition`).

    Examples
    --------
    >>> from sklearn_icc.runtime.prompts.questions import opener
    >>> opener("urgency"), opener("how the writer feels"), opener(None)
    ('Urgency:', 'How the writer feels:', 'Topic:')
    """
    condition = condition or GENERIC_CONDITION
    return condition[0].upper() + condition[1:] + ":"


LAYOUTS = {
    "question_first": '{question}\nText: "{text}"',
    "text_first": 'Text: "{text}"\n{question}',
}
DEFAULT_LAYOUT = "question_first"


def build_question_prompt(tokenizer, condition, layout=DEFAULT_LAYOUT, style=DEFAULT_QUESTION):
    """The :class:`QuestionPrompt` of ``condition`` (already checked by :func:`check_condition`).

    ``layout`` puts the question before the text (``"question_first"``: the question
    is part of the shared prefix) or after it (``"text_first"``).

    Examples
    --------
    >>> from sklearn_icc.runtime import load_model
    >>> from sklearn_icc.runtime.prompts.questions import build_question_prompt
    >>> from sklearn_icc.runtime.prompts.plain_text import plain_ids
    >>> tokenizer = load_model(tiny_model_path, device="cpu").tokenizer
    >>> prompt = build_question_prompt(tokenizer, "sentiment")
    >>> print(tokenizer.decode(prompt.ids(plain_ids(tokenizer, "I love it"))).split("user\\n")[1])
    What is the sentiment of this text? Answer with one word.
    Text: "I love it"<|im_end|>
    <|im_start|>assistant
    <BLANKLINE>
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {sorted(LAYOUTS)}, got {layout!r}.")
    user = LAYOUTS[layout].format(question=question(condition, style), text=_USER_MARK)
    rendered = tokenizer.apply_chat_template([{"role": "user", "content": user}], tokenize=False,
                                             add_generation_prompt=True)
    user_at = rendered.rfind(user)
    if user_at < 0:
        raise ValueError("The chat template changed the user message; cannot build the question prompt.")
    asked_before, asked_after = user.split(_USER_MARK)
    before, after = rendered[:user_at], rendered[user_at + len(user):]
    prefix = template_ids(tokenizer, before) + plain_ids(tokenizer, asked_before)
    suffix = plain_ids(tokenizer, asked_after) + template_ids(tokenizer, after)
    return QuestionPrompt(prefix=tuple(prefix), suffix=tuple(suffix), condition=condition,
                          opener=tuple(plain_ids(tokenizer, opener(condition))))
