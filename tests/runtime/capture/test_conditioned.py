"""The conditioned reading: padded batches read each text as it would be read alone."""

import numpy as np
import pytest

from sklearn_icc.runtime.capture.conditioned import SLOTS, _batches, answer_word, read_texts
from sklearn_icc.runtime.decoding.prefix_cache import prefix_cache_for

TEXTS = ["a cat sat", "the stock market fell sharply today", "ok", "dogs bark at night", "rain again"]


def test_a_batch_reads_each_text_as_alone(tiny_loaded):
    together = read_texts(tiny_loaded, TEXTS, "topic", answer_tokens=3, opened=True)
    assert together.batches == [len(TEXTS)]
    for slot in SLOTS:
        assert together.states[slot].shape == (len(TEXTS), 3, 32)  # 2 layers + embeddings
        assert np.isfinite(together.states[slot]).all()
    for i, text in enumerate(TEXTS):
        alone = read_texts(tiny_loaded, [text], "topic", answer_tokens=3, opened=True)
        for slot in SLOTS:
            np.testing.assert_allclose(alone.states[slot][0], together.states[slot][i], atol=1e-4)
        assert alone.answers[0] == together.answers[i]


def test_no_answer_tokens_reads_the_same_states_without_answers(tiny_loaded):
    with_answers = read_texts(tiny_loaded, TEXTS, "topic", answer_tokens=3)
    without = read_texts(tiny_loaded, TEXTS, "topic", answer_tokens=0)
    assert set(without.states) == {"prompt", "text"} and without.answers == [""] * len(TEXTS)
    for slot in without.states:
        np.testing.assert_allclose(without.states[slot], with_answers.states[slot], atol=1e-5)
    assert "answer" in with_answers.states


def test_the_opened_slot_is_the_prompt_with_its_opener_and_changes_nothing_else(tiny_loaded, monkeypatch):
    import sklearn_icc.runtime.capture.conditioned as conditioned
    from sklearn_icc.runtime.prompts.questions import QuestionPrompt, build_question_prompt

    plain = read_texts(tiny_loaded, TEXTS, "urgency", answer_tokens=3)
    opened = read_texts(tiny_loaded, TEXTS, "urgency", answer_tokens=3, opened=True)
    assert set(opened.states) == set(plain.states) | {"opened"} and opened.answers == plain.answers
    for slot in plain.states:  # the opener is cut from the cache again: the answers never see it
        np.testing.assert_array_equal(opened.states[slot], plain.states[slot])
    assert not np.allclose(opened.states["opened"], plain.states["prompt"])

    def with_opener(tokenizer, condition, layout, style):  # the opener as part of every text's prompt
        p = build_question_prompt(tokenizer, condition, layout, style)
        return QuestionPrompt(prefix=p.prefix, suffix=p.suffix + p.opener, condition=condition)

    monkeypatch.setattr(conditioned, "build_question_prompt", with_opener)
    longer = read_texts(tiny_loaded, TEXTS, "urgency", answer_tokens=0)
    np.testing.assert_allclose(opened.states["opened"], longer.states["prompt"], atol=1e-4)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_answer_tokens_must_be_a_count(tiny_loaded, bad):
    with pytest.raises(ValueError, match="answer_tokens must be an int >= 0"):
        read_texts(tiny_loaded, TEXTS[:2], "topic", answer_tokens=bad)


def test_keep_steps_returns_every_answer_step(tiny_loaded):
    reading = read_texts(tiny_loaded, TEXTS[:3], "topic", answer_tokens=2, keep_steps=True, layers=[0, 2])
    assert reading.states["steps"].shape == (3, 2, 2, 32) and reading.layers == (0, 2)


def test_the_shared_prefix_comes_from_the_prefix_cache(tiny_loaded):
    store = prefix_cache_for(tiny_loaded.model)
    assert store is not None
    read_texts(tiny_loaded, TEXTS[:2], "a condition never asked before", answer_tokens=1)
    hits = store.hits
    reading = read_texts(tiny_loaded, TEXTS[2:], "a condition never asked before", answer_tokens=1)
    assert store.hits == hits + 1 and reading.n_prefix_tokens > 0


def test_one_long_text_is_cut_and_does_not_pad_the_batch(tiny_loaded):
    texts = ["short one"] * 12 + ["x" * 5000]
    reading = read_texts(tiny_loaded, texts, "topic", answer_tokens=1, max_text_tokens=200, token_budget=400)
    assert reading.n_cut == 1
    assert len(reading.batches) >= 2 and sum(reading.batches) == len(texts)
    assert np.isfinite(reading.states["prompt"]).all()


def test_batches_sort_by_length_under_the_budget():
    lengths = np.array([5, 100, 6, 7, 5])
    batches = _batches(lengths, 30)
    assert sorted(i for b in batches for i in b) == list(range(5))
    assert batches[-1] == [1]  # the long one alone
    assert all(max(lengths[b]) * len(b) <= 30 or len(b) == 1 for b in batches)


def test_identical_texts_read_identically(tiny_loaded):
    reading = read_texts(tiny_loaded, ["same text"] * 4, "topic", answer_tokens=2)
    states = reading.states["prompt"]
    assert np.allclose(states, states[0], atol=1e-5) and len(set(reading.answers)) == 1


@pytest.mark.parametrize("answer, word", [("The sentiment of this text is positive.", "positive"),
                                          ('Topic: "Travel"', "travel"), ("Negative", "negative"), ("", ""),
                                          ("The writer feels a sense of pride in", "pride"),
                                          ("The writer is feeling a bit overwhelmed.", "overwhelmed"),
                                          ("This text is quite urgent, as it", "urgent")])
def test_answer_word_takes_the_word_after_the_opener(answer, word):
    assert answer_word(answer) == word


@pytest.fixture(scope="module")
def tiny_gemma(tmp_path_factory):
    """A tiny random Gemma 3: a sliding-window layer (window 512, as Gemma 3 270M's) beside a full one."""
    from sklearn_icc.runtime import load_model
    from tests.conftest import build_tiny_gemma_dir

    return load_model(build_tiny_gemma_dir(tmp_path_factory.mktemp("tiny-gemma3")), device="cpu")


def test_a_sliding_window_model_reads_with_the_opener_cut_again(tiny_gemma):
    # The opener is cut from each layer's cache by the layer's own crop, which a sliding-window
    # layer needs (it counts the positions it has seen); cutting its tensors alone broke the next mask.
    plain = read_texts(tiny_gemma, TEXTS, "urgency", answer_tokens=3)
    opened = read_texts(tiny_gemma, TEXTS, "urgency", answer_tokens=3, opened=True)
    assert opened.answers == plain.answers
    for slot in plain.states:
        np.testing.assert_allclose(opened.states[slot], plain.states[slot], atol=1e-5)
    for i, text in enumerate(TEXTS):
        alone = read_texts(tiny_gemma, [text], "urgency", answer_tokens=3, opened=True)
        for slot in opened.states:
            np.testing.assert_allclose(alone.states[slot][0], opened.states[slot][i], atol=1e-4)
