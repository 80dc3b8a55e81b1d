"""The endpoint engine: an OpenAI-compatible ``/v1/chat/completions`` server over HTTP.

``vllm serve``, llama.cpp's server, Ollama and OpenAI all take the same request. Each
prompt is sent as chat messages with a JSON-schema ``response_format`` (an array of
exactly n integers in ``0..k-1``), or, with ``guided="vllm"``, vLLM's own
``structured_outputs`` grammar of the canonical answers. The answer is parsed and
validated (:func:`~sklearn_icc.runtime.engines.request.labels_from_answer`) and
renumbered in first-appearance order. Requests run ``max_concurrency`` at a time, with
a timeout, and are retried with exponential backoff on HTTP 429 and 5xx, on
connection errors and timeouts, and on answers that do not validate; after
``max_retries`` retries the error names the engine and what came back.

The API key is read from the environment (``SKLEARN_ICC_API_KEY``, else
``OPENAI_API_KEY``) for each request; it is never stored, pickled, printed or logged,
and it is scrubbed from any error text.
"""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from ..prompts.templates import chat_messages, encode_points, render_user_message
from .request import EngineAnswerError, LabelConstraint, LabelRequest, LabelResult, canonical_columns, labels_from_answer

#: The environment variables the API key is read from, in this order.
API_KEY_VARIABLES = ("SKLEARN_ICC_API_KEY", "OPENAI_API_KEY")
GUIDED = ("json_schema", "vllm")


class EndpointError(RuntimeError):
    """An endpoint gave no valid answer (after the retries, where retrying could help)."""


def api_key():
    """The API key from the environment, or ``None``; read at each request, never kept."""
    for name in API_KEY_VARIABLES:
        if os.environ.get(name):
            return os.environ[name]
    return None


def _scrub(text):
    key = api_key()
    return text.replace(key, "***") if key else text


def is_endpoint_url(engine):
    """Whether ``engine`` names an OpenAI-compatible endpoint: an ``http://`` or ``https://`` URL."""
    return isinstance(engine, str) and engine.startswith(("http://", "https://")) and len(engine) > len("https://")


@dataclass(frozen=True, repr=False)
class EndpointEngine:
    """Send label requests to an OpenAI-compatible endpoint.

    Parameters
    ----------
    url : str
        The API's base URL, ``http(s)://host:port/v1``; requests go to ``url + "/chat/completions"``.
    model : str
        The ``model`` field of each request (the name the server serves).
    guided : {"json_schema", "vllm"}, default="json_schema"
        ``"json_schema"``: OpenAI's ``response_format`` (any compatible server).
        ``"vllm"``: vLLM's ``structured_outputs`` grammar of canonical answers
        (first-appearance order, as the in-process decoder writes them).
    timeout : float, default=60
        Seconds to wait for one response.
    max_retries : int, default=3
        Retries of a request after a 429, a 5xx, a connection error, a timeout or an
        invalid answer; then :class:`EndpointError`.
    backoff : float, default=1.0
        Seconds before the first retry, doubled for each next one (or the server's
        ``Retry-After``, at most 60 s).
    max_concurrency : int, default=8
        Requests in flight at once.
    logprobs : bool, default=True
        Ask for the top log-probabilities of each answer token, from which label
        probabilities are read (``None`` when the server returns none).
    json_root : {"array", "object"}, default="array"
        The schema's root: the array of labels, or ``{"labels": [...]}`` for servers
        whose strict structured outputs need an object at the root (OpenAI's).
    """

    url: str
    model: str
    guided: str = "json_schema"
    timeout: float = 60.0
    max_retries: int = 3
    backoff: float = 1.0
    max_concurrency: int = 8
    logprobs: bool = True
    json_root: str = "array"

    name = "endpoint"
    returns_probabilities = False  # only where the server returns log-probabilities
    takes_embeddings = False
    device = "endpoint"

    def __post_init__(self):
        if not is_endpoint_url(self.url):
            raise ValueError(f"An endpoint engine needs an http:// or https:// URL, got {self.url!r}.")
        if self.guided not in GUIDED:
            raise ValueError(f"guided must be one of {GUIDED}, got {self.guided!r}.")
        if self.json_root not in ("array", "object"):
            raise ValueError(f"json_root must be 'array' or 'object', got {self.json_root!r}.")
        if self.max_retries < 0 or self.max_concurrency < 1 or self.timeout <= 0:
            raise ValueError("EndpointEngine needs max_retries >= 0, max_concurrency >= 1 and timeout > 0.")

    def __repr__(self):
        return f"EndpointEngine(url={self.url!r}, model={self.model!r}, guided={self.guided!r})"

    def request(self, points, n_clusters, spec, *, temperature=0.0, seed=0):
        """The :class:`LabelRequest` of one ordering: its chat messages, as the in-process prompt words them."""
        if spec.images or spec.point_format == "embedding":
            raise ValueError("An endpoint reads text: images and point_format='embedding' run in process only.")
        texts, open_, separator, close = encode_points(points, spec.point_format)
        user_text, _ = render_user_message(spec.template, n_clusters, open_ + separator.join(texts) + close,
                                           spec.condition)
        return LabelRequest(LabelConstraint(len(points), n_clusters),
                            messages=tuple(chat_messages(spec.template, user_text)), temperature=temperature,
                            seed=seed)

    def body(self, request):
        """The JSON body of one request (no key: that goes in the header)."""
        constraint = request.constraint
        body = {
            "model": self.model,
            "messages": list(request.messages),
            "temperature": request.temperature,
            "seed": int(request.seed),
            "max_tokens": 3 * constraint.n_points + 8,
        }
        if self.guided == "json_schema":
            schema = constraint.json_schema()
            if self.json_root == "object":
                schema = {"type": "object", "properties": {"labels": schema}, "required": ["labels"],
                          "additionalProperties": False}
            body["response_format"] = {"type": "json_schema", "json_schema": {
                "name": "cluster_labels", "strict": True, "schema": schema}}
        else:
            body["structured_outputs"] = {"grammar": constraint.grammar()}
        if self.logprobs:
            body.update(logprobs=True, top_logprobs=min(20, constraint.n_clusters))
        return body

    def label(self, requests, verbose=0):
        """Send the requests, ``max_concurrency`` at a time; one :class:`LabelResult` each, in order."""
        requests = list(requests)
        with ThreadPoolExecutor(max_workers=self.max_concurrency) as pool, \
                tqdm(total=len(requests), desc=f"{self.url} requests", disable=verbose < 1) as bar:
            futures = [pool.submit(self._label_one, request) for request in requests]
            results = []
            try:
                for future in futures:
                    results.append(future.result())
                    bar.update(1)
            except BaseException:
                for future in futures:  # the requests not yet sent are not sent
                    future.cancel()
                raise
        return results

    def _label_one(self, request):
        problem = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(problem.wait if problem.wait is not None else self.backoff * 2 ** (attempt - 1))
            start = time.perf_counter()
            try:
                response = self._post(self.body(request))
                return self._result(response, request, time.perf_counter() - start)
            except _Retryable as exc:
                problem = exc
            except EngineAnswerError as exc:
                problem = _Retryable(str(exc))
        raise EndpointError(_scrub(
            f"The endpoint engine at {self.url} (model {self.model!r}) gave no valid answer in "
            f"{self.max_retries + 1} attempts; the last: {problem}"
        ))

    def _post(self, body):
        headers = {"Content-Type": "application/json"}
        key = api_key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        http_request = urllib.request.Request(self.url.rstrip("/") + "/chat/completions",
                                              data=json.dumps(body).encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(http_request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            text = _scrub(exc.read()[:300].decode(errors="replace"))
            if exc.code == 429 or exc.code >= 500:
                retry_after = exc.headers.get("Retry-After") if exc.headers else None
                wait = min(60.0, float(retry_after)) if retry_after and retry_after.isdigit() else None
                raise _Retryable(f"HTTP {exc.code}: {text!r}", wait) from None
            raise EndpointError(f"The endpoint engine at {self.url} answered HTTP {exc.code}: {text!r}") from None
        except (urllib.error.URLError, ConnectionError, socket.timeout, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise _Retryable(f"no response ({type(reason).__name__}: {reason})") from None
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            raise _Retryable(f"the response is not JSON: {_scrub(raw[:300].decode(errors='replace'))!r}") from None

    def _result(self, response, request, seconds):
        try:
            choice = response["choices"][0]
            text = choice["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise _Retryable(f"the response has no choices[0].message.content: {_scrub(str(response)[:300])!r}")
        constraint = request.constraint
        labels, raw = labels_from_answer(text if isinstance(text, str) else "", constraint, self.name)
        probabilities = content_label_probabilities(choice.get("logprobs"), constraint)
        if probabilities is not None:
            probabilities = canonical_columns(raw, probabilities, constraint.n_clusters)
        usage = response.get("usage") or {}
        return LabelResult(labels, probabilities, answer_text=text, n_prompt_tokens=usage.get("prompt_tokens"),
                           seconds=seconds)


class _Retryable(Exception):
    def __init__(self, message, wait=None):
        super().__init__(message)
        self.wait = wait


def content_label_probabilities(logprobs, constraint):
    """``(n_points, k)`` probabilities (raw label ids) from a chat response's
    ``logprobs.content``: at each token that is a label, its ``top_logprobs`` entries
    that are labels, renormalised (a label missing from them gets 0). ``None`` when the
    response has none, or their label tokens do not line up with the n labels."""
    content = (logprobs or {}).get("content") if isinstance(logprobs, dict) else None
    if not content:
        return None
    names = [str(label) for label in range(constraint.n_clusters)]
    rows = []
    for token in content:
        if str(token.get("token", "")).strip() not in names:
            continue
        row = np.zeros(constraint.n_clusters)
        for entry in token.get("top_logprobs") or []:
            name = str(entry.get("token", "")).strip()
            if name in names and row[int(name)] == 0:
                row[int(name)] = np.exp(float(entry["logprob"]))
        if row.sum() <= 0:
            return None
        rows.append(row / row.sum())
    return np.vstack(rows) if len(rows) == constraint.n_points else None
