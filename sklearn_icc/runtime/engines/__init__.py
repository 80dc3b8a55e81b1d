"""Where prompts run: in process (transformers), in-process vLLM, OpenAI-compatible endpoints.

Every engine takes the same thing, a list of :class:`LabelRequest` (a prompt and its
:class:`LabelConstraint`), planned for a whole fit or many episodes at once, and
returns one :class:`LabelResult` per request:

- ``"transformers"``: :class:`~.transformers.TransformersEngine`, sklearn-icc's own
  constrained decoder (probabilities, hidden states, embedded points and images);
- ``"vllm"``: :class:`~.vllm.VLLMEngine`, an in-process ``vllm.LLM`` (labels and
  probabilities; no hidden states, no embedded points);
- an ``http(s)://.../v1`` URL: :class:`~.endpoint.EndpointEngine` (labels;
  probabilities where the server returns log-probabilities).

Engine modules import their backends lazily: vLLM is needed only for ``"vllm"``.
"""

import os

from .endpoint import API_KEY_VARIABLES, EndpointEngine, EndpointError, is_endpoint_url
from .request import (
    EngineAnswerError,
    LabelConstraint,
    LabelRequest,
    LabelResult,
    canonical_columns,
    labels_from_answer,
)

ENGINE_NAMES = ("transformers", "vllm")


def check_engine(engine):
    """Raise ``ValueError`` unless ``engine`` is ``"transformers"``, ``"vllm"``, an
    ``http(s)://`` URL or an :class:`EndpointEngine`."""
    if isinstance(engine, EndpointEngine) or engine in ENGINE_NAMES or is_endpoint_url(engine):
        return
    raise ValueError(
        f"engine must be 'transformers', 'vllm', an http(s)://host:port/v1 URL or an EndpointEngine, got {engine!r}."
    )


def resolve_engine(engine, model_spec, batch_size=8):
    """The engine object for an estimator's ``engine`` parameter and its :class:`~sklearn_icc.runtime.spec.ModelSpec`."""
    check_engine(engine)
    if isinstance(engine, EndpointEngine):
        return engine
    if engine == "transformers":
        from .transformers import TransformersEngine

        return TransformersEngine(model_spec.load(), batch_size=batch_size)
    if engine == "vllm":
        from .vllm import VLLMEngine

        if model_spec.device_map is not None or not isinstance(model_spec.model, (str, os.PathLike)):
            raise ValueError("engine='vllm' loads the model itself: give model= as a name or path, not a loaded model.")
        return VLLMEngine(model_spec.model, adapter=model_spec.adapter)
    if model_spec.adapter is not None:
        raise ValueError("An endpoint serves its own weights: adapter= cannot be sent to it; serve the adapter "
                         "(vllm serve --enable-lora --lora-modules name=path) and name it in model=.")
    return EndpointEngine(engine, model=str(model_spec.model))


__all__ = [
    "API_KEY_VARIABLES",
    "ENGINE_NAMES",
    "EndpointEngine",
    "EndpointError",
    "EngineAnswerError",
    "LabelConstraint",
    "LabelRequest",
    "LabelResult",
    "canonical_columns",
    "check_engine",
    "labels_from_answer",
    "resolve_engine",
]
