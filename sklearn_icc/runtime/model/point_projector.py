"""The point projector: a learned linear map of a numeric point into the LLM's input embeddings."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..prompts.point_embeddings import POINT_PROJECTOR_FILE, point_features
from ..prompts.templates import DEFAULT_MAX_FEATURES


class PointProjector(nn.Module):
    """A linear map from a point's features to ``tokens_per_point`` input embeddings.

    A plain ``torch.nn.Module`` (trainable); :meth:`save` and :meth:`load` write and read
    it as safetensors with its sizes in the metadata.

    Parameters
    ----------
    hidden_size : int
        The LLM's embedding size.
    max_features : int, default=8
        The most features a point may have; fewer are zero-padded.
    tokens_per_point : int, default=1
        Embeddings per point.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_icc.runtime.model.point_projector import PointProjector
    >>> projector = PointProjector(hidden_size=576, max_features=8, tokens_per_point=2)
    >>> projector.embed(np.random.default_rng(0).normal(size=(5, 3))).shape
    torch.Size([5, 2, 576])
    """

    def __init__(self, hidden_size, max_features=DEFAULT_MAX_FEATURES, tokens_per_point=1):
        super().__init__()
        for name, value in (("hidden_size", hidden_size), ("max_features", max_features),
                            ("tokens_per_point", tokens_per_point)):
            if int(value) != value or value < 1:
                raise ValueError(f"PointProjector.{name} must be an integer >= 1, got {value!r}.")
        self.hidden_size, self.max_features, self.tokens_per_point = int(hidden_size), int(max_features), int(tokens_per_point)
        self.linear = nn.Linear(2 * self.max_features, self.tokens_per_point * self.hidden_size)

    def forward(self, features):
        """``(..., 2 * max_features)`` features (:func:`point_features`) to ``(..., tokens_per_point, hidden_size)``."""
        out = self.linear(features.to(self.linear.weight.dtype))
        return out.reshape(*features.shape[:-1], self.tokens_per_point, self.hidden_size)

    def embed(self, X):
        """The embeddings of the rows of ``X`` (an episode), without gradients: ``(n, tokens, hidden)``."""
        weight = self.linear.weight
        features = torch.as_tensor(point_features(X, self.max_features), device=weight.device)
        with torch.no_grad():
            return self(features)

    def match_embedding_scale(self, embedding_weight, seed=0):
        """Start among the token embeddings: the bias at their mean row, the weights at a
        scale that gives outputs their spread (a default ``nn.Linear`` is far larger)."""
        rows = embedding_weight.detach().float()
        generator = torch.Generator().manual_seed(seed)
        std = float(rows.std()) / np.sqrt(2 * self.max_features)
        with torch.no_grad():
            weight = torch.randn(self.linear.weight.shape, generator=generator) * std
            self.linear.weight.copy_(weight.to(self.linear.weight))
            self.linear.bias.copy_(rows.mean(0).repeat(self.tokens_per_point).to(self.linear.bias))
        return self

    def save(self, path):
        """Write the state dict and the sizes to a safetensors file."""
        from safetensors.torch import save_file

        state = {name: tensor.detach().float().contiguous().cpu() for name, tensor in self.state_dict().items()}
        metadata = {"kind": "point_projector", "hidden_size": str(self.hidden_size),
                    "max_features": str(self.max_features), "tokens_per_point": str(self.tokens_per_point)}
        save_file(state, os.fspath(path), metadata=metadata)

    @classmethod
    def load(cls, path, hidden_size=None):
        """Read a projector written by :meth:`save`.

        ``ValueError`` if the file is not one, or (given ``hidden_size``) if its output
        width is not the model's.
        """
        from safetensors import SafetensorError, safe_open
        from safetensors.torch import load_file

        path = os.fspath(path)
        try:
            with safe_open(path, framework="pt") as handle:
                metadata = handle.metadata() or {}
            if metadata.get("kind") != "point_projector":
                raise ValueError(f"its metadata names no point projector ({metadata})")
            projector = cls(int(metadata["hidden_size"]), int(metadata["max_features"]),
                            int(metadata["tokens_per_point"]))
            projector.load_state_dict(load_file(path))
        except (OSError, KeyError, ValueError, RuntimeError, SafetensorError) as exc:
            raise ValueError(f"{path!r} is not a point projector written by PointProjector.save: {exc}") from exc
        if hidden_size is not None and projector.hidden_size != int(hidden_size):
            raise ValueError(
                f"The point projector {path!r} writes embeddings of size {projector.hidden_size}, but the "
                f"model's embeddings have size {int(hidden_size)}: it was trained for another base model."
            )
        return projector


def load_point_projector(adapter_path, model):
    """The adapter's point projector, ready for inference beside ``model``, or ``None``.

    ``None`` when there is no adapter or it has no :data:`POINT_PROJECTOR_FILE`; the
    projector is frozen, in eval mode, on the device and in the dtype of ``model``'s
    input embeddings.
    """
    if adapter_path is None or not (Path(adapter_path) / POINT_PROJECTOR_FILE).is_file():
        return None
    embeddings = model.get_input_embeddings()
    projector = PointProjector.load(Path(adapter_path) / POINT_PROJECTOR_FILE, embeddings.embedding_dim)
    projector.to(device=embeddings.weight.device, dtype=embeddings.weight.dtype).eval()
    projector.requires_grad_(False)
    return projector
