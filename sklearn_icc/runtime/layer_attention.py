"""Attention weights from chosen layers only: eager there, SDPA everywhere else.

Eager attention is the implementation that returns weights, and it is slower than
SDPA; switching the whole model to it makes every layer pay for the few whose weights
are read. Instead, for the duration of a pass, the model runs one attention
implementation registered with transformers' documented ``AttentionInterface`` (and,
for its mask, ``AttentionMaskInterface``, with SDPA's mask): in the attention modules
asked for it computes the model's own eager attention and returns the weights; in
every other module it is SDPA, as the model runs without capture.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache

POINT_ATTENTION = "sklearn_icc_point_attention"

# ids of the attention modules whose weights the current pass reads (one set per
# thread and task, so a pass in one thread leaves another's attention as SDPA)
_WEIGHTED_MODULES: ContextVar[frozenset] = ContextVar("sklearn_icc_weighted_modules", default=frozenset())


def _eager_forward_of(module):
    """The eager attention function of ``module``'s own model code (softcapping, sinks and
    all), which is what transformers falls back to for ``attn_implementation="eager"``."""
    own = getattr(sys.modules.get(type(module).__module__), "eager_attention_forward", None)
    if own is not None:
        return own
    from transformers.models.llama.modeling_llama import eager_attention_forward

    return eager_attention_forward


def _additive_mask(attention_mask, query, key, causal):
    """The float mask eager attention adds to its scores, from SDPA's mask: ``None``
    (causal, or nothing) or boolean (True attends), as ``eager_mask`` builds it."""
    import torch

    if attention_mask is not None and attention_mask.dtype != torch.bool:
        return attention_mask
    if attention_mask is None:
        if not causal:
            return None
        q_length, kv_length = query.shape[-2], key.shape[-2]
        # bottom-right aligned, so a query block after cached keys sees all of them
        attention_mask = torch.ones(q_length, kv_length, dtype=torch.bool, device=query.device).tril(
            kv_length - q_length
        )
    zero = torch.zeros((), device=query.device, dtype=query.dtype)
    return torch.where(attention_mask, zero, torch.finfo(query.dtype).min)


def point_attention_forward(module, query, key, value, attention_mask, **kwargs):
    """Attention of one module: eager with weights where asked, else SDPA without.

    The signature of an ``AttentionInterface`` function: returns ``(output, weights)``,
    ``weights`` being ``None`` outside the modules :func:`attention_weights_at` names.
    """
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if id(module) not in _WEIGHTED_MODULES.get():
        return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
    causal = kwargs.pop("is_causal", None)
    causal = getattr(module, "is_causal", True) if causal is None else causal
    mask = _additive_mask(attention_mask, query, key, causal)
    return _eager_forward_of(module)(module, query, key, value, mask, **kwargs)


@lru_cache(maxsize=None)
def _register_point_attention():
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(POINT_ATTENTION, point_attention_forward)
    AttentionMaskInterface.register(POINT_ATTENTION, sdpa_mask)


@contextmanager
def attention_weights_at(model, attention_modules):
    """Run ``model`` so that ``attention_modules`` (its layers' ``self_attn``) return weights.

    Those modules compute eager attention and every other layer keeps SDPA. A model
    already running eager attention is left as it is (every layer returns weights).
    The model's attention implementation is restored on exit, also on an exception.

    Parameters
    ----------
    model : transformers.PreTrainedModel
    attention_modules : iterable of torch.nn.Module
        The attention modules whose weights are read.

    Raises
    ------
    ValueError
        If the model's attention implementation cannot be switched.
    """
    if model.config._attn_implementation == "eager":
        yield
        return
    _register_point_attention()
    with _attention_implementation(model, POINT_ATTENTION):
        token = _WEIGHTED_MODULES.set(frozenset(id(module) for module in attention_modules))
        try:
            yield
        finally:
            _WEIGHTED_MODULES.reset(token)


def eager_attention(model):
    """Run the whole model with eager attention, every layer returning weights (a context
    manager; the slower path that :func:`attention_weights_at` avoids)."""
    return _attention_implementation(model, "eager")


@contextmanager
def _attention_implementation(model, implementation):
    previous = model.config._attn_implementation
    if previous == implementation:
        yield
        return
    cannot = f"{type(model).__name__} cannot switch its attention implementation, so its attention weights cannot be read"
    try:
        model.set_attn_implementation(implementation)
    except (ValueError, AttributeError) as exc:
        raise ValueError(f"{cannot}: {exc}") from exc
    try:
        if model.config._attn_implementation != implementation:  # transformers only warned
            raise ValueError(f"{cannot}.")
        yield
    finally:
        model.set_attn_implementation(previous)
