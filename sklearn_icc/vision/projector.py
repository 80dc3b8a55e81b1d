"""The trainable map from image features to the LLM's embedding space."""

from __future__ import annotations

import os

import torch
from torch import nn

# The kinds ImageEncoder.projector accepts (vision.config.PROJECTOR_KINDS, kept equal by a test).
KINDS = ("linear", "mlp")


class ImageProjector(nn.Module):
    """Project image features into the LLM's input embeddings: linear, or a 2-layer MLP.

    A plain ``torch.nn.Module``: train it like any other (its parameters are trainable),
    then :meth:`save` its state dict and pass the file as
    ``ImageEncoder(projector_weights=...)``.

    Parameters
    ----------
    in_features : int
        Width of the encoder's features (the vision transformer's width for patch
        tokens, its embedding size for ``pooling="embedding"``).
    out_features : int
        The LLM's embedding size (``hidden_size``).
    kind : {"mlp", "linear"}, default="mlp"
        ``"mlp"``: linear, GELU, linear (LLaVA-1.5's projector). ``"linear"``: one layer.

    Examples
    --------
    >>> import torch
    >>> from sklearn_icc.vision import ImageProjector
    >>> projector = ImageProjector(768, 576, kind="mlp")
    >>> projector(torch.zeros(2, 49, 768)).shape
    torch.Size([2, 49, 576])
    """

    def __init__(self, in_features, out_features, kind="mlp"):
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}.")
        self.in_features, self.out_features, self.kind = int(in_features), int(out_features), kind
        if kind == "linear":
            self.layers = nn.Sequential(nn.Linear(self.in_features, self.out_features))
        else:
            self.layers = nn.Sequential(
                nn.Linear(self.in_features, self.out_features),
                nn.GELU(),
                nn.Linear(self.out_features, self.out_features),
            )

    def forward(self, features):
        return self.layers(features)

    def save(self, path):
        """Write the state dict and the shape (kind, sizes) to a safetensors file."""
        from safetensors.torch import save_file

        state = {name: tensor.detach().contiguous().cpu() for name, tensor in self.state_dict().items()}
        metadata = {"kind": self.kind, "in_features": str(self.in_features), "out_features": str(self.out_features)}
        save_file(state, os.fspath(path), metadata=metadata)

    @classmethod
    def load(cls, path):
        """Read a projector written by :meth:`save`; ``ValueError`` if the file is not one."""
        from safetensors import SafetensorError, safe_open
        from safetensors.torch import load_file

        path = os.fspath(path)
        try:
            with safe_open(path, framework="pt") as handle:
                metadata = handle.metadata() or {}
            state = load_file(path)
            projector = cls(int(metadata["in_features"]), int(metadata["out_features"]), metadata["kind"])
            projector.load_state_dict(state)
        except (OSError, KeyError, ValueError, RuntimeError, SafetensorError) as exc:
            raise ValueError(f"{path!r} is not a projector written by ImageProjector.save: {exc}") from exc
        return projector


def build_projector(encoder, in_features, out_features):
    """The projector ``encoder`` (an :class:`ImageEncoder`) asks for, loaded or seeded at random."""
    if encoder.projector_weights is not None:
        projector = ImageProjector.load(encoder.projector_weights)
        expected = (encoder.projector, int(in_features), int(out_features))
        found = (projector.kind, projector.in_features, projector.out_features)
        if found != expected:
            raise ValueError(
                f"The projector in {os.fspath(encoder.projector_weights)!r} is {found[0]} "
                f"{found[1]} -> {found[2]}, but this encoder and LLM need {expected[0]} "
                f"{expected[1]} -> {expected[2]}."
            )
        return projector
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(encoder.seed)
        return ImageProjector(in_features, out_features, encoder.projector)
