"""Point-by-point attention at chosen layers, without eager attention or its weights.

The affinity needs, per head, the mean attention from point ``i``'s tokens to point
``j``'s tokens: ``pool @ W @ pool.T``, with ``W`` the layer's ``(tokens, tokens)``
attention weights and ``pool`` the ``(points, tokens)`` averaging matrix. Only eager
attention returns ``W``, and it is several times slower than SDPA; switching the whole
model to it makes every layer pay. But ``W @ pool.T`` is attention with the pooling
columns as values, so SDPA computes it without ever forming ``W``: one more SDPA call
per ``head_dim`` points, at the chosen layers only. Every other layer runs plain SDPA.

The mechanism is transformers' documented ``AttentionInterface``: for the duration of a
pass the model runs one registered attention function (with SDPA's mask, registered
with ``AttentionMaskInterface``) that does the above where asked and is SDPA elsewhere.
A model already running eager attention keeps it, and its weights are pooled instead.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache

POINT_ATTENTION = "sklearn_icc_point_attention"


@dataclass
class _PointPass:
    """What one pass reduces: at which modules, over which tokens, into what."""

    modules: dict  # id(attention module) -> the module, as a key of `found`
    pool: object  # (n_points, n_tokens) tensor
    heads: list | None
    found: dict  # attention module -> (n_points, n_points) tensor, filled as the pass runs


# The pass in progress, per thread and task: another thread's pass on the same model
# finds none, and runs plain SDPA.
_CURRENT: ContextVar[_PointPass | None] = ContextVar("sklearn_icc_point_pass", default=None)


def point_block_means(module, query, key, attention_mask, pool, **kwargs):
    """Per head, the mean attention from each point's tokens to each point's tokens.

    Parameters
    ----------
    module : torch.nn.Module
        The attention module (its ``num_key_value_groups`` and ``is_causal`` are read).
    query, key : torch.Tensor
        ``(1, heads, tokens, head_dim)`` and ``(1, kv_heads, tokens, head_dim)``,
        after rotary embeddings.
    attention_mask : torch.Tensor or None
        SDPA's mask (``None``: causal).
    pool : torch.Tensor
        ``(n_points, tokens)``; row ``i`` averages point ``i``'s tokens.
    **kwargs
        The module's other attention arguments (``scaling``, ``dropout``, ...).

    Returns
    -------
    torch.Tensor
        ``(heads, n_points, n_points)`` in float32: ``pool @ W_h @ pool.T`` per head.
    """
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    batch, kv_heads, kv_length, width = key.shape
    if batch != 1 or kv_length != pool.shape[1]:
        raise ValueError(f"Point attention needs one sequence of {pool.shape[1]} keys, got {tuple(key.shape)}.")
    columns = pool.T.to(query.dtype)
    to_points = []
    # values as wide as the keys, so that SDPA keeps its fused kernel
    for start in range(0, columns.shape[1], width):
        chunk = columns[:, start : start + width]
        values = torch.nn.functional.pad(chunk, (0, width - chunk.shape[1]))
        values = values.expand(batch, kv_heads, kv_length, width).contiguous()
        output, _ = sdpa_attention_forward(module, query, key, values, attention_mask, **kwargs)
        to_points.append(output[0, ..., : chunk.shape[1]])  # (tokens, heads, points in chunk)
    return torch.einsum("it,thj->hij", pool, torch.cat(to_points, dim=-1).float())


def point_attention_forward(module, query, key, value, attention_mask, **kwargs):
    """The registered attention function: SDPA, and point block means where asked.

    The signature of an ``AttentionInterface`` function; returns ``(output, None)``.
    """
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    output = sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
    current = _CURRENT.get()
    if current is not None and id(module) in current.modules:
        per_head = point_block_means(module, query, key, attention_mask, current.pool, **kwargs)
        current.found[module] = _mean_of_heads(per_head, current.heads)
    return output


def _mean_of_heads(per_head, heads):
    return (per_head if heads is None else per_head[heads]).float().mean(dim=0)


@lru_cache(maxsize=None)
def _register_point_attention():
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(POINT_ATTENTION, point_attention_forward)
    AttentionMaskInterface.register(POINT_ATTENTION, sdpa_mask)


@contextmanager
def point_attention(model, attention_modules, pool, heads=None):
    """Run ``model`` so that ``attention_modules`` reduce their attention to point means.

    Inside, a forward pass fills the yielded dict: ``{module: (n_points, n_points)}``,
    the mean attention from point ``i``'s tokens to point ``j``'s tokens, averaged over
    ``heads``. Only those modules do more than SDPA; no ``(tokens, tokens)`` weights are
    formed. A model running eager attention keeps it and its weights are pooled. The
    model's attention implementation is restored on exit, also on an exception.

    Parameters
    ----------
    model : transformers.PreTrainedModel
    attention_modules : list of torch.nn.Module
        Decoder layers' ``self_attn`` modules.
    pool : torch.Tensor
        ``(n_points, n_tokens)``; row ``i`` averages point ``i``'s tokens.
    heads : list of int or None, default=None
        Heads to average; ``None`` averages all.

    Yields
    ------
    dict of torch.nn.Module to torch.Tensor

    Raises
    ------
    ValueError
        If the model's attention implementation cannot be switched.
    """
    found = {}
    if model.config._attn_implementation == "eager":
        with _pooled_eager_weights(attention_modules, pool, heads, found):
            yield found
        return
    _register_point_attention()
    with _attention_implementation(model, POINT_ATTENTION):
        state = _PointPass({id(module): module for module in attention_modules}, pool, heads, found)
        token = _CURRENT.set(state)
        try:
            yield found
        finally:
            _CURRENT.reset(token)


@contextmanager
def _pooled_eager_weights(attention_modules, pool, heads, found):
    def pool_weights(module, args, output):
        if output[1] is not None:
            weights = output[1][0] if heads is None else output[1][0, heads]
            found[module] = pool @ weights.float().mean(dim=0) @ pool.T

    handles = [module.register_forward_hook(pool_weights) for module in attention_modules]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def eager_attention(model):
    """Run the whole model with eager attention, every layer returning its weights (a
    context manager; the slower path that :func:`point_attention` avoids)."""
    return _attention_implementation(model, "eager")


@contextmanager
def _attention_implementation(model, implementation):
    previous = model.config._attn_implementation
    if previous == implementation:
        yield
        return
    cannot = f"{type(model).__name__} cannot switch its attention implementation, so its attention cannot be read"
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
