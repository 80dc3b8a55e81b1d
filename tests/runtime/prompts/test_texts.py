import json

import numpy as np
import pytest

from sklearn_icc.runtime import PromptTemplate, constrained_decode
from sklearn_icc.runtime.capture.points import capture_points
from sklearn_icc.runtime.prompts.texts import (
    TEXT_PROMPT_TEMPLATES,
    build_text_prompt,
    cut_texts,
    quote_text,
    resolve_text_template,
)

TEXTS = ["The match was great", 'She said "no"', "back\\slash", "two\nlines", "tea and toast", "A cake"]
# The tiny model's tokenizer knows only ASCII; the default one reads any text.
WIDE = TEXTS + ["café au lait, 東京"]


def user_message(prompt):
    return prompt.text.split("<|im_start|>user\n")[1].split("<|im_end|>")[0]


def test_texts_are_a_quoted_escaped_list_that_reads_back(tiny_loaded):
    prompt, n_cut = build_text_prompt(TEXTS, 3, tiny_loaded.tokenizer)
    message = user_message(prompt)
    listed = message[message.index("Texts: ") + len("Texts: "): message.rindex(" Labels:")]
    assert json.loads(listed) == TEXTS
    assert n_cut == 0
    assert message.startswith("Cluster the following texts into 3 groups.")


def test_each_text_owns_its_tokens_in_order(tiny_loaded):
    tokenizer = tiny_loaded.tokenizer
    prompt, _ = build_text_prompt(TEXTS, 2, tokenizer)
    spans = prompt.point_spans
    assert spans.shape == (len(TEXTS), 2)
    assert np.all(spans[:, 1] > spans[:, 0])
    assert np.all(spans[1:, 0] == spans[:-1, 1])
    for (start, end), text in zip(spans, TEXTS):
        assert quote_text(text) in tokenizer.decode(prompt.input_ids[start:end])
    assert prompt.input_ids == list(tokenizer(prompt.text, add_special_tokens=False)["input_ids"])


def test_condition_is_written_and_a_template_without_its_field_is_an_error(tiny_loaded):
    prompt, _ = build_text_prompt(TEXTS, 2, tiny_loaded.tokenizer, condition="sentiment")
    assert "into 2 groups based on sentiment." in prompt.text
    plain = PromptTemplate(system=None, instruction="Group {k}: {points}")
    with pytest.raises(ValueError, match="no {condition} field"):
        build_text_prompt(TEXTS, 2, tiny_loaded.tokenizer, template=plain, condition="sentiment")


def test_long_texts_are_cut_to_the_token_budget(tiny_loaded):
    tokenizer = tiny_loaded.tokenizer  # one token per character
    texts, n_cut = cut_texts(["abcdefghij", "abc", "abcdef"], tokenizer, 5)
    assert texts == ["abcde", "abc", "abcde"] and n_cut == 2
    assert cut_texts(["abcdefghij"], tokenizer, None) == (["abcdefghij"], 0)
    prompt, n_cut = build_text_prompt(["x" * 50, "short"], 2, tokenizer, max_text_tokens=10)
    assert n_cut == 1 and '"' + "x" * 10 + '"' in prompt.text and "x" * 11 not in prompt.text
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="max_text_tokens"):
            cut_texts(["abc"], tokenizer, bad)


def test_named_templates_resolve_for_texts():
    assert resolve_text_template("paper") is TEXT_PROMPT_TEMPLATES["paper"]
    custom = PromptTemplate(instruction="{k} {points}")
    assert resolve_text_template(custom) is custom
    with pytest.raises(ValueError, match="prompt must be one of"):
        resolve_text_template("nonsense")


def test_constrained_decoding_and_capture_work_on_a_text_prompt(tiny_loaded):
    prompt, _ = build_text_prompt(TEXTS, 3, tiny_loaded.tokenizer, condition="topic")
    result = constrained_decode(tiny_loaded, prompt, 3)
    assert result.labels.dtype == np.int64 and result.labels.shape == (len(TEXTS),)
    assert result.labels.min() >= 0 and result.labels.max() < 3
    assert np.allclose(result.probabilities.sum(axis=1), 1.0)
    capture = capture_points(tiny_loaded, prompt, [-1])
    A, H = capture.attention[1], capture.hidden[1]
    assert A.shape == (len(TEXTS), len(TEXTS)) and np.all(np.diag(A) > 0) and np.all(np.triu(A, 1) == 0)
    assert H.shape == (len(TEXTS), tiny_loaded.model.config.hidden_size) and np.isfinite(H).all()


@pytest.mark.default_model
def test_spans_and_cut_on_the_default_tokenizer():
    from sklearn_icc.runtime import load_model

    tokenizer = load_model("default", device="cpu").tokenizer
    prompt, n_cut = build_text_prompt(WIDE, 2, tokenizer, condition="topic")
    assert n_cut == 0 and json.loads(user_message(prompt).split("Texts: ")[1].rsplit(" Labels:")[0]) == WIDE
    spans = prompt.point_spans
    assert np.all(spans[1:, 0] == spans[:-1, 1]) and np.all(spans[:, 1] > spans[:, 0])
    for (start, end), text in zip(spans, WIDE):
        # A BPE token may join a text's closing quote with the separator after it.
        assert quote_text(text)[1:-1] in tokenizer.decode(prompt.input_ids[start:end])
    long = " ".join(["word"] * 300)
    (cut,), n_cut = cut_texts([long], tokenizer, 20)
    assert n_cut == 1 and len(tokenizer(cut, add_special_tokens=False)["input_ids"]) == 20


@pytest.mark.default_model
def test_default_model_labels_texts_by_a_condition():
    from sklearn_icc.data import load_topic_sentiment_texts
    from sklearn_icc.runtime import load_model

    loaded = load_model("default", device="cpu")
    texts, _, _ = load_topic_sentiment_texts()
    prompt, _ = build_text_prompt(texts[::8], 4, loaded.tokenizer, condition="topic")
    result = constrained_decode(loaded, prompt, 4)
    assert result.labels.dtype == np.int64 and result.labels.shape == (16,)
    assert result.labels.min() >= 0 and result.labels.max() < 4
    capture = capture_points(loaded, prompt, [9], attention=False)
    assert capture.hidden[9].shape == (16, loaded.model.config.hidden_size)
