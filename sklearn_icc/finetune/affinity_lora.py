"""LoRA on the affinity model's layers: the ablation against training all their weights.

Each ``nn.Linear`` of the kept layers gets a low-rank change ``B @ A * alpha / rank``
through :mod:`torch.nn.utils.parametrize`; its own weight and the norms stay frozen. The
final state merges the changes into plain weights, so the adapter folder and its loading
do not depend on how the layers were trained.
"""

from __future__ import annotations

import copy
import math


def _lora_module():
    import torch
    from torch import nn

    class LoRADelta(nn.Module):
        """``weight + B @ A * scale``: ``A`` random, ``B`` zero, so training starts at the base model."""

        def __init__(self, out_features, in_features, rank, alpha):
            super().__init__()
            self.A = nn.Parameter(torch.randn(rank, in_features) / math.sqrt(in_features))
            self.B = nn.Parameter(torch.zeros(out_features, rank))
            self.scale = float(alpha) / rank

        def forward(self, weight):
            return weight + (self.B @ self.A).to(weight.dtype) * self.scale

    return LoRADelta


def apply_lora(model, rank, alpha=None):
    """Freeze ``model.layers`` and give each of their linear maps a rank-``rank`` LoRA change.

    ``alpha`` defaults to ``rank`` (a scale of 1). Returns the number of trainable
    parameters added.
    """
    from torch import nn
    from torch.nn.utils import parametrize

    LoRADelta = _lora_module()
    for parameter in model.layers.parameters():
        parameter.requires_grad_(False)
    added = 0
    for module in list(model.layers.modules()):
        if isinstance(module, nn.Linear):
            out_features, in_features = module.weight.shape
            delta = LoRADelta(out_features, in_features, rank, alpha or rank).to(module.weight.device)
            parametrize.register_parametrization(module, "weight", delta)
            added += delta.A.numel() + delta.B.numel()
    return added


def merged_copy(model):
    """A copy of ``model`` whose LoRA changes are merged into plain weights (no parametrizations)."""
    from torch.nn.utils import parametrize

    merged = copy.deepcopy(model)
    for module in list(merged.modules()):
        if parametrize.is_parametrized(module, "weight"):
            parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
    return merged
