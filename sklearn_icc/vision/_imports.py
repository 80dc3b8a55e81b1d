"""Is the ``[vision]`` extra installed? A cached probe, and the error that says how to get it."""

from __future__ import annotations

import functools
import importlib.util

# The import names of the extra's packages: open-clip-torch, its torchvision, pillow.
VISION_MODULES = ("open_clip", "torchvision", "PIL")
INSTALL_HINT = "pip install sklearn-icc[vision]"


@functools.lru_cache(maxsize=None)
def is_vision_available():
    """Whether open_clip, torchvision and Pillow can be imported (probed once, not imported)."""
    return all(importlib.util.find_spec(name) is not None for name in VISION_MODULES)


def require_vision(what="Image clustering"):
    """Raise ``ImportError`` naming the install command when the ``[vision]`` extra is missing."""
    if not is_vision_available():
        missing = [name for name in VISION_MODULES if importlib.util.find_spec(name) is None]
        raise ImportError(
            f"{what} needs the optional packages of sklearn-icc's [vision] extra (missing: "
            f"{', '.join(missing)}). Install them with `{INSTALL_HINT}`, after a torch and "
            "torchvision pair that match (for example `pip install torch==2.14.1 torchvision==0.29.1`)."
        )
