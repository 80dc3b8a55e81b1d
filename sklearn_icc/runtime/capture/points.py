"""Capture what a forward pass computes about each point: attention between points and
mean hidden states, at chosen layers, without keeping every layer's token attention.

The layers asked for reduce their token-by-token attention to point-by-point block means
as they run, within SDPA and without forming the attention weights
(:func:`~sklearn_icc.runtime.capture.attention.point_attention`); hooks average each point's
hidden states, and the pass stops after the last layer asked for.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass, field

from ..prompts.embedded import model_inputs
from ..model.faults import check_finite, out_of_memory_advice
from .attention import point_attention
from ..prompts.templates import check_context_window


class _StopForward(Exception):
    """Raised by a hook once every requested layer has run."""


@dataclass
class PointCapture:
    """Per-layer point features from one forward pass.

    ``attention[l]`` is ``(n, n)``: the mean attention from point ``i``'s tokens to
    point ``j``'s tokens at layer ``l`` (heads averaged), zero above the diagonal.
    ``hidden[l]`` is ``(n, hidden_size)``: the mean output of layer ``l`` over each
    point's tokens. Layers are 0-based decoder layers.
    """

    attention: dict = field(default_factory=dict)
    hidden: dict = field(default_factory=dict)
    seconds: float = 0.0


def decoder_layers(model):
    """The model's list of decoder layers (``model.model.layers`` for Llama-like models)."""
    body = getattr(model, getattr(model, "base_model_prefix", "model"), None)
    layers = getattr(body, "layers", None)
    if layers is None:
        raise ValueError(
            f"Cannot find the decoder layers of {type(model).__name__}; attention capture "
            "supports models whose body has a `layers` list (Llama, Qwen, Mistral, SmolLM ...)."
        )
    return layers


def resolve_layers(layers, n_layers):
    """Turn layer indices (negative from the end) into sorted 0-based indices, checked."""
    resolved = []
    for layer in layers:
        index = layer + n_layers if layer < 0 else layer
        if not 0 <= index < n_layers:
            raise ValueError(f"layer={layer} is out of range for a model with {n_layers} layers.")
        resolved.append(int(index))
    return sorted(set(resolved))


def resolve_heads(heads, n_heads):
    if heads is None or (isinstance(heads, str) and heads == "all"):
        return None
    heads = [int(h) for h in heads]
    if not heads or any(not 0 <= h < n_heads for h in heads):
        raise ValueError(f"heads={heads} must be a non-empty list of indices in [0, {n_heads}).")
    return sorted(set(heads))


def span_pooling(point_spans, n_tokens, torch, device, dtype):
    """``(n_points, n_tokens)`` matrix whose row ``i`` averages point ``i``'s tokens."""
    pool = torch.zeros(len(point_spans), n_tokens, device=device, dtype=dtype)
    for i, (start, end) in enumerate(point_spans):
        pool[i, start:end] = 1.0 / (end - start)
    return pool


def capture_points(loaded, prompt, layers, *, attention=True, hidden=True, heads=None):
    """Run one forward pass over ``prompt`` and return :class:`PointCapture` at ``layers``.

    Parameters
    ----------
    loaded : LoadedModel
    prompt : Prompt
        From :func:`build_prompt`; its ``point_spans`` say which tokens are which point.
    layers : list of int
        Decoder layers, 0-based; negative values count from the end.
    attention, hidden : bool, default=True
        What to capture.
    heads : list of int or None, default=None
        Heads to average; ``None`` averages all.

    Returns
    -------
    PointCapture
    """
    import torch

    model = loaded.model
    blocks = decoder_layers(model)
    wanted = resolve_layers(layers, len(blocks))
    n_heads = model.config.num_attention_heads
    head_index = resolve_heads(heads, n_heads)
    check_context_window(prompt.n_points, prompt.n_tokens, 0, loaded.context_length)
    ids = torch.as_tensor([prompt.input_ids], device=loaded.device)
    pool = span_pooling(prompt.point_spans, prompt.n_tokens, torch, loaded.device, torch.float32)
    capture = PointCapture()
    last = wanted[-1]
    handles = []

    def on_layer(layer):
        def hook(module, args, output):
            states = output[0] if isinstance(output, tuple) else output
            if hidden:
                pooled = check_finite(pool @ states[0].float(), f"hidden states of layer {layer}", model)
                capture.hidden[layer] = pooled.cpu().numpy()
            if layer == last:
                raise _StopForward

        return hook

    for layer in wanted:
        handles.append(blocks[layer].register_forward_hook(on_layer(layer)))
    start = time.perf_counter()
    modules = [blocks[layer].self_attn for layer in wanted]
    context = point_attention(model, modules, pool, head_index) if attention else nullcontext({})
    try:
        with out_of_memory_advice(model), context as found, torch.inference_mode():
            try:
                model(**model_inputs(model, ids, prompt), use_cache=False)
            except _StopForward:
                pass
    finally:
        for handle in handles:
            handle.remove()
    for layer, module in zip(wanted, modules) if attention else ():
        if module not in found:
            raise ValueError(f"Layer {layer} computed no attention between points.")
        pooled = check_finite(found[module], f"attention weights of layer {layer}", model)
        capture.attention[layer] = pooled.tril().cpu().numpy()
    capture.seconds = time.perf_counter() - start
    return capture


def n_decoder_layers(loaded):
    return len(decoder_layers(loaded.model))
