import re
from itertools import product

import numpy as np
import pytest

from sklearn_icc.runtime import canonical_labels
from sklearn_icc.runtime.engines import (
    EngineAnswerError,
    LabelConstraint,
    canonical_columns,
    check_engine,
    labels_from_answer,
)


def grammar_language(grammar):
    """Every string an EBNF grammar of literal alternatives (LabelConstraint.grammar's form) derives."""
    rules = {}
    for line in grammar.splitlines():
        name, body = line.split(" ::= ")
        rules[name] = [re.findall(r'"([^"]*)"\s*(\w+)?', option.strip())[0] for option in body.split(" | ")]

    def expand(name):
        out = set()
        for literal, rest in rules[name]:
            out |= {literal + tail for tail in (expand(rest) if rest else {""})}
        return out

    return expand("root")


@pytest.mark.parametrize("n, k", [(1, 1), (4, 2), (5, 3), (6, 4)])
def test_grammar_derives_exactly_the_canonical_answers(n, k):
    canonical = {"[" + ", ".join(map(str, seq)) + "]" for seq in product(range(k), repeat=n)
                 if list(canonical_labels(seq)) == list(seq)}
    assert grammar_language(LabelConstraint(n, k).grammar()) == canonical


def test_regex_and_schema_fix_the_count_and_range():
    constraint = LabelConstraint(3, 2)
    assert re.fullmatch(constraint.regex(), "[1, 0, 1]")
    assert not re.fullmatch(constraint.regex(), "[1, 0]")
    assert not re.fullmatch(constraint.regex(), "[1, 0, 2]")
    schema = constraint.json_schema()
    assert schema["minItems"] == schema["maxItems"] == 3
    assert schema["items"] == {"type": "integer", "minimum": 0, "maximum": 1}


def test_answers_are_validated_and_canonicalised():
    constraint = LabelConstraint(4, 3)
    labels, raw = labels_from_answer("[2, 2, 0, 1]", constraint, "x")
    assert labels.dtype == np.int64 and labels.tolist() == [0, 0, 1, 2] and raw.tolist() == [2, 2, 0, 1]
    assert labels_from_answer('{"labels": [1, 0, 0, 1]}', constraint, "x")[0].tolist() == [0, 1, 1, 0]
    for answer, message in [("[0, 1", "not JSON"), ("[0, 1, 2]", "3 labels for 4 points"),
                            ("[0, 1, 3, 0]", "outside 0..2"), ('["0", 1, 1, 1]', "not a list of integers"),
                            ("[true, 0, 0, 0]", "not a list of integers"), ('{"x": 1}', "not a list")]:
        with pytest.raises(EngineAnswerError, match=re.escape(message)) as info:
            labels_from_answer(answer, constraint, "my-engine")
        assert "my-engine" in str(info.value)


def test_probability_columns_follow_the_canonical_labels():
    probabilities = np.array([[0.1, 0.2, 0.7], [0.6, 0.3, 0.1]])
    moved = canonical_columns([2, 0], probabilities, 3)
    np.testing.assert_array_equal(moved, probabilities[:, [2, 0, 1]])


def test_constraint_and_engine_checks():
    with pytest.raises(ValueError, match="n_clusters <= 10"):
        LabelConstraint(3, 11)
    with pytest.raises(ValueError, match="n_points >= 1"):
        LabelConstraint(0, 2)
    for engine in ("transformers", "vllm", "http://127.0.0.1:8000/v1", "https://api.openai.com/v1"):
        check_engine(engine)
    for engine in ("torch", "ftp://x/v1", "http://", ""):
        with pytest.raises(ValueError, match="engine must be"):
            check_engine(engine)


def test_engine_vllm_without_vllm_names_the_install(tiny_model):
    import importlib.util

    import numpy as np

    from sklearn_icc import InContextClustering

    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vLLM is installed here; tests/runtime/engines/test_vllm.py runs it")
    with pytest.raises(ImportError, match="pip install vllm"):
        InContextClustering(2, engine="vllm", model=tiny_model).fit(np.arange(8.0).reshape(4, 2))
