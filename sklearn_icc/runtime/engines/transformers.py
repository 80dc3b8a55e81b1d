"""The in-process engine: transformers and sklearn-icc's own constrained decoder.

It wraps :func:`~sklearn_icc.runtime.constrained_decode` (one prompt) and
:func:`~sklearn_icc.runtime.decoding.batching.batched_constrained_decode` (many,
padded batches) unchanged: the labels are those of ``engine="transformers"``.
"""

from __future__ import annotations

import time

from ..decoding.batching import batched_constrained_decode
from ..decoding.constrained import constrained_decode
from .request import LabelResult, prompt_request


class TransformersEngine:
    """Run label requests on a :class:`~sklearn_icc.runtime.LoadedModel` in this process.

    Parameters
    ----------
    loaded : LoadedModel
    batch_size : int, default=8
        At most this many prompts per forward pass.
    """

    name = "transformers"
    returns_probabilities = True
    takes_embeddings = True

    def __init__(self, loaded, batch_size=8):
        self.loaded = loaded
        self.batch_size = int(batch_size)

    @property
    def device(self):
        return str(self.loaded.device)

    def request(self, points, n_clusters, spec, *, temperature=0.0, seed=0):
        """The :class:`LabelRequest` of one ordering of an episode (its tokenized prompt)."""
        built = spec.build(spec.encode(points, self.loaded), n_clusters, self.loaded)
        return prompt_request(self.loaded, built, len(points), n_clusters, temperature=temperature, seed=seed)

    def label(self, requests, verbose=0):
        """One :class:`LabelResult` per request: prompts with text only go in padded
        batches, prompts that carry embeddings one at a time."""
        start = time.perf_counter()
        requests = list(requests)
        batched = [i for i, r in enumerate(requests) if r.prompt.embeddings is None]
        alone = [i for i, r in enumerate(requests) if r.prompt.embeddings is not None]
        results = [None] * len(requests)
        temperatures = {r.temperature for r in requests}
        if len(temperatures) > 1:
            raise ValueError("The requests of one call to the transformers engine share one temperature.")
        if batched:
            decoded = batched_constrained_decode(
                self.loaded, [requests[i].prompt for i in batched],
                [requests[i].constraint.n_clusters for i in batched], batch_size=self.batch_size,
                temperature=temperatures.pop(), seeds=[requests[i].seed for i in batched],
            )
            for i, result in zip(batched, decoded):
                results[i] = result
        for i in alone:
            r = requests[i]
            results[i] = constrained_decode(self.loaded, r.prompt, r.constraint.n_clusters, temperature=r.temperature,
                                            seed=r.seed)
        seconds = (time.perf_counter() - start) / max(1, len(requests))
        return [LabelResult(result.labels, result.probabilities, n_prompt_tokens=r.prompt.n_tokens, seconds=seconds)
                for result, r in zip(results, requests)]
