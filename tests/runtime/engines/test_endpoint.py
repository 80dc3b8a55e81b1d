"""The endpoint engine against a server of the tests' own on 127.0.0.1: faults, retries, the key."""

import logging
import pickle
import re
import socket

import numpy as np
import pytest

from sklearn_icc import InContextClustering
from sklearn_icc.runtime.engines import EndpointEngine, EndpointError, LabelConstraint, LabelRequest

from .fake_server import FakeServer, chat_reply

MESSAGES = ({"role": "user", "content": "Cluster [1] [2] [9]"},)
KEY = "sk-test-4f1c9e-secret"


def request(n=3, k=2):
    return LabelRequest(LabelConstraint(n, k), messages=MESSAGES)


def engine(url, **kwargs):
    return EndpointEngine(url, "m", **{"backoff": 0.01, "max_retries": 2, "timeout": 5, **kwargs})


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused_is_retried_then_a_clear_error():
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(EndpointError, match=r"gave no valid answer in 3 attempts.*no response.*Refused"):
        engine(url).label([request()])


def test_a_timeout_is_retried_then_a_clear_error():
    with FakeServer([("sleep", 1.0)]) as server:
        with pytest.raises(EndpointError, match=r"in 2 attempts.*no response.*timed out"):
            engine(server.url, timeout=0.2, max_retries=1).label([request()])
        assert len(server.bodies) == 2


@pytest.mark.parametrize("reply, message", [
    (("raw", "{not json"), "the response is not JSON"),
    (("json", chat_reply("[0, 1")), "not JSON"),
    (("json", chat_reply("[0, 1]")), "2 labels for 3 points"),
    (("json", chat_reply("[0, 1, 5]")), "outside 0..1"),
    (("json", {"choices": []}), "no choices"),
])
def test_invalid_answers_are_retried_then_a_clear_error_never_labels(reply, message):
    with FakeServer([reply]) as server:
        with pytest.raises(EndpointError, match=re.escape(message)) as info:
            engine(server.url).label([request()])
        assert len(server.bodies) == 3  # one try and two retries
        assert "endpoint" in str(info.value) and server.url in str(info.value)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_429_and_5xx_are_retried_then_succeed(status):
    with FakeServer([("status", status, "busy"), ("status", status, "busy"), ("json", chat_reply("[1, 1, 0]"))]) as server:
        (result,) = engine(server.url).label([request()])
        assert len(server.bodies) == 3
    assert result.labels.tolist() == [0, 0, 1] and result.labels.dtype == np.int64
    assert result.probabilities is None  # no log-probabilities came back: none are made up


@pytest.mark.parametrize("status", [429, 500])
def test_429_and_5xx_that_persist_are_a_clear_error(status):
    with FakeServer([("status", status, "overloaded")]) as server:
        with pytest.raises(EndpointError, match=f"in 3 attempts.*HTTP {status}.*overloaded"):
            engine(server.url).label([request()])
        assert len(server.bodies) == 3


def test_a_client_error_is_not_retried():
    with FakeServer([("status", 401, "bad key")]) as server:
        with pytest.raises(EndpointError, match="HTTP 401.*bad key"):
            engine(server.url).label([request()])
        assert len(server.bodies) == 1


def echo_headers(body):
    return ("status", 500, f"you sent {body} with headers")


def test_the_api_key_is_sent_but_never_stored_printed_pickled_or_logged(monkeypatch, caplog):
    monkeypatch.setenv("SKLEARN_ICC_API_KEY", KEY)
    caplog.set_level(logging.DEBUG)
    with FakeServer([("json", chat_reply("[0, 1, 1, 0, 2, 2]"))]) as server:
        icc = InContextClustering(3, engine=server.url, model="some-model").fit(np.arange(12.0).reshape(6, 2))
        assert server.headers[0]["Authorization"] == f"Bearer {KEY}"
        assert KEY not in repr(icc) and KEY.encode() not in pickle.dumps(icc)
        assert KEY not in repr(EndpointEngine(server.url, "m")) and KEY.encode() not in pickle.dumps(
            EndpointEngine(server.url, "m"))
    # A server that echoes the key back into an error body: the error shows *** instead.
    with FakeServer([lambda body: ("status", 500, f"key {KEY} rejected")]) as server:
        with pytest.raises(EndpointError) as info:
            engine(server.url).label([request()])
    assert KEY not in str(info.value) and "***" in str(info.value)
    assert all(KEY not in record.getMessage() for record in caplog.records)


def logprob_content(labels, top):
    """A chat response's logprobs.content for the answer ``[l, l, ...]``: ``top`` gives each label's top entries."""
    content = [{"token": "[", "logprob": 0.0, "top_logprobs": []}]
    for i, (label, entries) in enumerate(zip(labels, top)):
        if i:
            content.append({"token": ",", "logprob": 0.0, "top_logprobs": []})
        content.append({"token": f" {label}" if i else str(label), "logprob": 0.0,
                        "top_logprobs": [{"token": str(t), "logprob": float(np.log(p))} for t, p in entries]})
    return content + [{"token": "]", "logprob": 0.0, "top_logprobs": []}]


def test_end_to_end_fit_against_a_fake_openai_server():
    X = np.array([[0.0, 0.1], [5.0, 5.1], [9.0, 9.1], [0.1, 0.0], [5.1, 5.0]])
    top = [[(2, 0.8), (0, 0.2)], [(1, 0.6), (2, 0.4)], [(0, 0.9), (1, 0.1)], [(2, 0.7), (1, 0.3)], [(1, 1.0)]]
    answer = chat_reply("[2, 1, 0, 2, 1]", logprobs=logprob_content([2, 1, 0, 2, 1], top), prompt_tokens=77)
    with FakeServer([("json", answer)]) as server:
        icc = InContextClustering(3, engine=server.url, model="default", point_format="compact").fit(X)
        body = server.bodies[0]
    assert icc.labels_.tolist() == [0, 1, 2, 0, 1] and icc.labels_.dtype == np.int64
    # Columns follow the canonical labels: raw 2 -> 0, 1 -> 1, 0 -> 2.
    np.testing.assert_allclose(icc.label_probabilities_[0], [0.8, 0.0, 0.2])
    np.testing.assert_allclose(icc.label_probabilities_.sum(axis=1), 1.0)
    assert icc.n_prompt_tokens_ == 77 and icc.device_ == "endpoint"
    schema = body["response_format"]["json_schema"]["schema"]
    assert schema["minItems"] == schema["maxItems"] == 5 and schema["items"]["maximum"] == 2
    assert body["model"] == "default" and body["temperature"] == 0.0 and body["logprobs"] is True
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert "into 3 clusters" in body["messages"][1]["content"]


def test_fit_predict_many_sends_every_prompt_and_keeps_their_order():
    X_list = [np.random.default_rng(i).normal(size=(n, 2)) for i, n in enumerate((3, 4, 5, 6))]

    def answer(body):
        n = body["response_format"]["json_schema"]["schema"]["minItems"]
        return ("json", chat_reply(str([1] + [0] * (n - 1))))

    with FakeServer([answer]) as server:
        labels = InContextClustering(2, engine=server.url, n_orderings=2).fit_predict_many(X_list)
        assert len(server.bodies) == 8  # 4 episodes x 2 orderings
    assert [len(l) for l in labels] == [3, 4, 5, 6]


def test_an_object_root_wraps_the_labels_and_is_read_back():
    with FakeServer([("json", chat_reply('{"labels": [1, 0, 1]}'))]) as server:
        (result,) = engine(server.url, json_root="object").label([request()])
        schema = server.bodies[0]["response_format"]["json_schema"]["schema"]
    assert schema["required"] == ["labels"] and schema["properties"]["labels"]["maxItems"] == 3
    assert result.labels.tolist() == [0, 1, 0]


def test_vllm_guidance_sends_the_canonical_grammar():
    with FakeServer([("json", chat_reply("[0, 1, 1]"))]) as server:
        engine(server.url, guided="vllm").label([request()])
        body = server.bodies[0]
    assert "response_format" not in body and body["structured_outputs"]["grammar"].startswith('root ::= "[0"')


@pytest.mark.parametrize("params, X, message", [
    ({"n_clusters": None}, np.ones((4, 2)), "needs n_clusters"),
    ({"chunk_size": 5}, np.ones((6, 2)), "chunk_size needs"),
    ({"decoding": "free"}, np.ones((4, 2)), "decoding='free'"),
    ({"point_format": "embedding"}, np.ones((4, 2)), "embedding"),
    ({}, ["a text", "another", "third"], "numeric points"),
])
def test_what_an_endpoint_cannot_do_is_refused_before_any_request(params, X, message):
    with FakeServer([("json", chat_reply("[0]"))]) as server:
        with pytest.raises(ValueError, match=re.escape(message)):
            InContextClustering(**{"n_clusters": 2, **params}, engine=server.url).fit(X)
        assert server.bodies == []


def test_predict_is_refused_on_an_endpoint_and_bad_engines_fail_validation():
    with FakeServer([("json", chat_reply("[0, 1, 0]"))]) as server:
        icc = InContextClustering(2, engine=server.url).fit(np.array([[0.0], [5.0], [0.1]]))
    with pytest.raises(ValueError, match="predict runs in process"):
        icc.predict([[0.0]])
    with pytest.raises(ValueError, match="engine must be"):
        InContextClustering(2, engine="sglang").fit(np.ones((3, 1)))
