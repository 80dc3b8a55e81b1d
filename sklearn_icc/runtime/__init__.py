"""The shared LLM runtime: the only code that touches a torch model.

Loading and caching (:func:`load_model`), device and dtype resolution, prompt
building with point spans (:func:`build_prompt`), and decoding
(:func:`constrained_decode`, :func:`free_decode`).
"""

from .decoding.constrained import DecodeResult, canonical_labels, constrained_decode
from .decoding.free import free_decode, parse_label_list
from .model.devices import resolve_device, resolve_dtype
from .model.faults import DeviceOutOfMemoryError, NonFiniteOutputError
from .model.loading import LoadedModel, clear_model_cache, load_model
from .prompts.templates import (
    POINT_FORMATS,
    PROMPT_TEMPLATES,
    AnswerFormat,
    Prompt,
    PromptTemplate,
    build_prompt,
    encode_points,
)
from .model.cache import cache_dir
from .decoding.prefix_cache import clear_prefix_caches
from .model.sources import resolve_model_source

__all__ = [
    "AnswerFormat",
    "DecodeResult",
    "DeviceOutOfMemoryError",
    "LoadedModel",
    "NonFiniteOutputError",
    "POINT_FORMATS",
    "PROMPT_TEMPLATES",
    "Prompt",
    "PromptTemplate",
    "build_prompt",
    "cache_dir",
    "canonical_labels",
    "clear_model_cache",
    "clear_prefix_caches",
    "constrained_decode",
    "encode_points",
    "free_decode",
    "load_model",
    "parse_label_list",
    "resolve_device",
    "resolve_dtype",
    "resolve_model_source",
]
