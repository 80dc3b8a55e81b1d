import numpy as np
import pandas as pd
import pytest

from sklearn_icc.cluster._texts import looks_like_texts, validate_texts

TEXTS = ["a cat", "a dog", "stock prices fell"]


@pytest.mark.parametrize("X", [TEXTS, tuple(TEXTS), np.array(TEXTS), np.array(TEXTS, dtype=object),
                               pd.Series(TEXTS), pd.Series(TEXTS, dtype="string")])
def test_one_dimensional_sequences_of_strings_are_texts(X):
    assert looks_like_texts(X)
    out = validate_texts(X)
    assert out == TEXTS and all(type(t) is str for t in out)


@pytest.mark.parametrize("X", [[[0.0, 1.0]], np.zeros((3, 2)), [1, 2, 3], "a cat", [], np.array([]), 5])
def test_numbers_and_single_strings_are_not_texts(X):
    assert not looks_like_texts(X)


@pytest.mark.parametrize("X", [["a cat", 1.5], ["a cat", 2], np.array(["a", 3], dtype=object),
                               pd.Series(["a", None]), ["a cat", None], ["a cat", b"bytes"]])
def test_strings_mixed_with_other_values_are_a_type_error(X):
    assert looks_like_texts(X)
    with pytest.raises(TypeError, match=r"X mixes texts with other values: item 1 is"):
        validate_texts(X)


@pytest.mark.parametrize("blank", ["", "   ", "\n\t"])
def test_empty_or_whitespace_texts_are_named(blank):
    with pytest.raises(ValueError, match=r"1 empty or whitespace-only text\(s\), at index 1;"):
        validate_texts(["a cat", blank, "a dog"])


def test_two_dimensional_strings_are_rejected():
    for X in (np.array([["a", "b"], ["c", "d"]]), pd.DataFrame({"text": ["a", "b"]}), [["a"], ["b"]]):
        assert looks_like_texts(X)
        with pytest.raises(ValueError, match=r"texts must be a 1-D sequence"):
            validate_texts(X)


def test_a_single_string_and_too_few_texts_are_rejected():
    with pytest.raises(TypeError, match="single string"):
        validate_texts("a cat")
    with pytest.raises(ValueError, match="n_samples=2 should be >= n_clusters=3"):
        validate_texts(["a", "b"], min_samples=3)
    with pytest.raises(TypeError, match="must be a list, array or pandas Series"):
        validate_texts(42)
