"""Which image encoder and projector an estimator uses: a small, hashable, typed config."""

from __future__ import annotations

import os
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path

from ..runtime.prompts.embedded import IMAGE_MARKERS  # noqa: F401 - re-exported

PROJECTOR_KINDS = ("linear", "mlp")


@dataclass(frozen=True)
class ImageEncoder:
    """An open_clip image encoder, its pooling, and the projector into the LLM's embeddings.

    Pass one as ``image_encoder=`` to :class:`~sklearn_icc.InContextClustering` or
    :class:`~sklearn_icc.AttentionSpectralClustering`; ``X`` is then a list of images.
    Nothing is loaded until ``fit``; the encoder is cached per process.

    Parameters
    ----------
    model : str, default="ViT-B-16"
        An open_clip model name (``open_clip.list_models()``), or one registered with
        ``open_clip.add_model_config``.
    pretrained : str or path, default=None
        Where the weights come from: a local checkpoint file (``.bin``, ``.pt``,
        ``.safetensors``), a local folder holding ``open_clip_config.json`` and the
        weights (the folder's config then defines the architecture, not ``model``), or an
        open_clip pretrained tag such as ``"laion2b_s34b_b88k"``, which is downloaded only
        when ``SKLEARN_ICC_ALLOW_DOWNLOAD=1``. ``None`` keeps random weights (for tests).
    pooling : int or "embedding", default=2
        ``k``: average-pool the last layer's patch tokens with a ``k x k`` kernel and
        stride (the paper's 1, 2, 3 and 9), giving ``(grid / k)**2`` tokens per image.
        ``"embedding"``: the encoder's pooled image embedding, one token per image.
    drop_remainder : bool, default=False
        When ``pooling`` does not divide the patch grid: ``False`` raises a
        ``ValueError``; ``True`` drops the last rows and columns (the paper's 2x2 pooling
        of SigLIP's 27x27 grid gives 13x13 = 169 tokens).
    projector : {"mlp", "linear"}, default="mlp"
        A 2-layer MLP (linear, GELU, linear; LLaVA-1.5's) or one linear layer from the
        encoder's features to the LLM's embedding size.
    projector_weights : str or path, default=None
        A file written by :meth:`ImageProjector.save`. ``None`` initialises the
        projector at random (seeded by ``seed``): the pipeline runs, but the LLM has not
        learned to read such embeddings, so labels carry no image information until a
        trained projector is given.
    seed : int, default=0
        Seed of the random projector (and of random encoder weights).

    Examples
    --------
    >>> from sklearn_icc.vision import ImageEncoder
    >>> encoder = ImageEncoder("ViT-B-16", pretrained="/models/vit_b16_laion2b.bin", pooling=2)
    >>> encoder.pooling, encoder.projector
    (2, 'mlp')
    """

    model: str = "ViT-B-16"
    pretrained: str | os.PathLike | None = None
    pooling: int | str = 2
    drop_remainder: bool = False
    projector: str = "mlp"
    projector_weights: str | os.PathLike | None = None
    seed: int = 0

    def __post_init__(self):
        if not isinstance(self.model, str) or not self.model:
            raise TypeError(f"ImageEncoder.model must be an open_clip model name, got {self.model!r}.")
        if isinstance(self.pooling, str):
            if self.pooling != "embedding":
                raise ValueError(f"ImageEncoder.pooling must be a positive int or 'embedding', got {self.pooling!r}.")
        elif not isinstance(self.pooling, Integral) or isinstance(self.pooling, bool) or self.pooling < 1:
            raise ValueError(f"ImageEncoder.pooling must be a positive int or 'embedding', got {self.pooling!r}.")
        if self.projector not in PROJECTOR_KINDS:
            raise ValueError(f"ImageEncoder.projector must be one of {PROJECTOR_KINDS}, got {self.projector!r}.")
        for name in ("pretrained", "projector_weights"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, (str, os.PathLike)):
                raise TypeError(f"ImageEncoder.{name} must be a path or None, got {type(value).__name__}.")
        if self.projector_weights is not None and not Path(self.projector_weights).is_file():
            raise ValueError(f"ImageEncoder.projector_weights: no such file {os.fspath(self.projector_weights)!r}.")

    def encode(self, images, loaded):
        """Projected embeddings of each image for ``loaded``'s LLM: ``(n_images, tokens, hidden)``
        (see :func:`~sklearn_icc.vision.encoder.encode_images`)."""
        from .encoder import encode_images

        return encode_images(images, self, loaded)
