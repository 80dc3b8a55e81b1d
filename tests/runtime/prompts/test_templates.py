import warnings

import numpy as np
import pytest

from sklearn_icc.runtime import PROMPT_TEMPLATES, PromptTemplate, build_prompt, encode_points
from sklearn_icc.runtime.prompts.templates import check_context_window, compact_scale, resolve_template


@pytest.fixture
def X():
    return np.random.default_rng(0).normal(scale=3, size=(7, 3))


def test_paper_format_rounds_to_two_decimals():
    texts, open_, sep, close = encode_points(np.array([[1.234, -0.001], [10.0, 2.5]]), "paper")
    assert texts == ["[1.23, 0.00]", "[10.00, 2.50]"]
    assert (open_, sep, close) == ("[", ", ", "]")


def test_compact_format_writes_small_integers(X):
    texts, *_ = encode_points(X, "compact")
    assert len(texts) == len(X)
    values = np.array([[int(v) for v in t.split(" ")] for t in texts])
    assert values.shape == X.shape
    assert np.abs(values).max() <= 99
    # Rescaling keeps the order of each feature.
    for j in range(X.shape[1]):
        assert np.all(np.diff(values[np.argsort(X[:, j]), j]) >= 0)


def test_compact_scale_handles_constant_features():
    scaled = compact_scale(np.array([[1.0, 5.0], [1.0, 6.0], [1.0, 7.0]]))
    assert np.all(scaled[:, 0] == 0)


def test_unknown_point_format_is_rejected(X):
    with pytest.raises(ValueError, match="point_format"):
        encode_points(X, "binary")


@pytest.mark.parametrize("point_format", ["paper", "compact"])
def test_point_spans_cover_each_point_in_order(tiny_loaded, X, point_format):
    tokenizer = tiny_loaded.tokenizer
    prompt = build_prompt(X, 3, tokenizer, point_format=point_format)
    texts, *_ = encode_points(X, point_format)
    spans = prompt.point_spans
    assert spans.shape == (len(X), 2)
    assert np.all(spans[:, 1] > spans[:, 0])
    assert np.all(spans[1:, 0] == spans[:-1, 1])  # contiguous, no overlap
    for (start, end), text in zip(spans, texts):
        assert text in tokenizer.decode(prompt.input_ids[start:end])
    assert prompt.input_ids == tokenizer.apply_chat_template(
        [{"role": "system", "content": "You are a data clustering expert."},
         {"role": "user", "content": prompt.text.split("<|im_start|>user\n")[1].split("<|im_end|>")[0]}],
        add_generation_prompt=True, tokenize=True, return_dict=True,
    )["input_ids"]


def test_prompt_names_k_and_condition(tiny_loaded, X):
    prompt = build_prompt(X, 4, tiny_loaded.tokenizer, condition="the first feature")
    assert "into 4 clusters based on the first feature." in prompt.text
    assert prompt.text.endswith("<|im_start|>assistant\n")
    assert "You are a data clustering expert." in prompt.text


def test_custom_template_without_system(tiny_loaded, X):
    template = PromptTemplate(system=None, instruction="Group {points} in {k}.")
    prompt = build_prompt(X, 2, tiny_loaded.tokenizer, template=template)
    assert "system" not in prompt.text
    assert "in 2." in prompt.text


def test_template_must_hold_points_and_k():
    with pytest.raises(ValueError, match="points"):
        PromptTemplate(instruction="Cluster into {k}.")
    with pytest.raises(ValueError, match="k"):
        PromptTemplate(instruction="Cluster {points}.")


def test_resolve_template_names():
    assert resolve_template("paper").system == "You are a data clustering expert."
    with pytest.raises(ValueError, match="prompt must be one of"):
        resolve_template("poem")


def test_context_window_error_names_n_tokens_and_limit():
    with pytest.raises(ValueError, match=r"n=50 points needs 1100 tokens.*window of 1000"):
        check_context_window(50, 1000, 100, 1000)
    check_context_window(50, 900, 100, 1000)


def test_unknown_k_prompt_states_no_k():
    from conftest import build_char_tokenizer

    tokenizer = build_char_tokenizer()
    X = np.zeros((3, 2))
    known = build_prompt(X, 3, tokenizer)
    unknown = build_prompt(X, None, tokenizer)
    assert "into 3 clusters" in known.text and "clusters" in unknown.text
    assert "3 clusters" not in unknown.text and "choose the number of clusters yourself" in unknown.text
    short = build_prompt(X, None, tokenizer, template=PROMPT_TEMPLATES["short"])
    assert "Cluster these points into groups." in short.text
    assert unknown.n_points == 3


def test_templates_that_cannot_leave_k_out():
    from conftest import build_char_tokenizer

    template = PromptTemplate(instruction="{k} groups: {points}", instruction_unknown_k=None)
    with pytest.raises(ValueError, match="n_clusters=None needs a prompt template with an instruction_unknown_k"):
        build_prompt(np.zeros((2, 1)), None, build_char_tokenizer(), template=template)
    with pytest.raises(ValueError, match="instruction_unknown_k must contain"):
        PromptTemplate(instruction="{k} groups: {points}", instruction_unknown_k="{k}: {points}")


@pytest.mark.parametrize("exponent", [-996, 996, 1020])  # about 1e-300, 1e300, 1e307: exact powers of two
def test_compact_scale_is_warning_free_and_scale_free_at_extreme_magnitudes(exponent):
    X = np.random.default_rng(0).normal(size=(20, 3))
    X[:, 2] = 1.0  # a constant feature
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's overflow warnings fail the test
        scaled = compact_scale(np.ldexp(X, exponent))
    np.testing.assert_array_equal(scaled, compact_scale(X))
    assert scaled.dtype == np.int64 and np.abs(scaled).max() <= 99
