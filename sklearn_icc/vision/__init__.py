"""Images in the prompt: open_clip image encoders, patch pooling, and a projector.

Needs the ``[vision]`` extra (``pip install sklearn-icc[vision]``); importing this
package does not import open_clip, so the error names the install command only when an
image is actually encoded. :class:`ImageProjector` and the encoding functions import
torch on first use.
"""

from ._imports import is_vision_available, require_vision
from .config import IMAGE_MARKERS, ImageEncoder
from .episodes import ImageEpisodes
from .images import load_images, looks_like_images
from .pooling import pool_patches, pooled_grid, tokens_per_image

_LAZY = {
    "ImageProjector": ".projector",
    "encode_images": ".encoder",
    "image_features": ".encoder",
    "load_vision_tower": ".encoder",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "IMAGE_MARKERS",
    "ImageEncoder",
    "ImageEpisodes",
    "ImageProjector",
    "encode_images",
    "image_features",
    "is_vision_available",
    "load_images",
    "load_vision_tower",
    "looks_like_images",
    "pool_patches",
    "pooled_grid",
    "require_vision",
    "tokens_per_image",
]
