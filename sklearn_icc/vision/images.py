"""Read a collection of images (PIL images, arrays, file paths) into RGB PIL images."""

from __future__ import annotations

import os
import sys
from numbers import Number

import numpy as np

from ._imports import require_vision


def _is_pil(item):
    image_module = sys.modules.get("PIL.Image")
    return image_module is not None and isinstance(item, image_module.Image)


def _is_image_item(item):
    return _is_pil(item) or isinstance(item, (str, os.PathLike)) or (
        isinstance(item, np.ndarray) and item.ndim in (2, 3) and item.size > 0
    )


def looks_like_images(X):
    """Whether ``X`` is meant as images: a list holding PIL images, paths or 2-D/3-D arrays,
    or a 4-D array."""
    if isinstance(X, np.ndarray):
        return X.ndim == 4
    if isinstance(X, (list, tuple)) and len(X) > 0:
        return any(
            _is_pil(item) or isinstance(item, (str, os.PathLike)) or (isinstance(item, np.ndarray) and item.ndim >= 2)
            for item in X
        )
    return False


def as_image_list(X):
    """Split ``X`` into a list of images, or raise ``TypeError``/``ValueError`` naming the problem.

    ``X`` is a list (or tuple) of PIL images, arrays of shape ``(H, W)`` or
    ``(H, W, C)`` and file paths, or one array of shape ``(n, H, W)`` or
    ``(n, H, W, C)``.
    """
    if isinstance(X, np.ndarray):
        if X.ndim not in (3, 4):
            raise TypeError(
                f"With an image_encoder, X must be images: a list of PIL images, arrays or file "
                f"paths, or an array of shape (n, H, W[, C]); got an array of shape {X.shape}."
            )
        items = list(X)
    elif isinstance(X, (list, tuple)):
        items = list(X)
    else:
        raise TypeError(
            "With an image_encoder, X must be a list of PIL images, arrays of shape (H, W[, C]) "
            f"or file paths; got {type(X).__name__}."
        )
    if not items:
        raise ValueError("X is an empty list of images; give at least n_clusters images.")
    kinds = {("number" if isinstance(item, Number) or _is_numeric_row(item) else "image" if _is_image_item(item) else None)
             for item in items}
    if "number" in kinds and "image" in kinds:
        raise TypeError("X mixes images and numbers; cluster images and numeric rows separately.")
    for i, item in enumerate(items):
        if not _is_image_item(item):
            raise TypeError(
                f"X[{i}] is {type(item).__name__}, not an image: give PIL images, arrays of shape "
                "(H, W) or (H, W, C), or file paths."
            )
    return items


def _is_numeric_row(item):
    if isinstance(item, (list, tuple)):
        return all(isinstance(v, Number) for v in item)
    return isinstance(item, np.ndarray) and item.ndim <= 1


def to_rgb(item, index=0):
    """One image as an RGB PIL image; ``ValueError`` for unreadable files and bad arrays."""
    require_vision()
    from PIL import Image, UnidentifiedImageError

    if _is_pil(item):
        return item.convert("RGB")
    if isinstance(item, (str, os.PathLike)):
        path = os.fspath(item)
        if not os.path.isfile(path):
            raise ValueError(f"X[{index}]: no such image file {path!r}.")
        try:
            with Image.open(path) as image:
                return image.convert("RGB")
        except (UnidentifiedImageError, OSError) as exc:
            raise ValueError(f"X[{index}]: cannot read {path!r} as an image: {exc}") from exc
    array = np.asarray(item)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 3 and array.shape[2] not in (3, 4):
        raise ValueError(f"X[{index}]: an image array must be (H, W) or (H, W, C) with C in 1, 3, 4; got {array.shape}.")
    if array.dtype == np.uint8:
        pixels = array
    elif np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer) or array.dtype == bool:
        values = array.astype(np.float64)
        if not np.isfinite(values).all():
            raise ValueError(f"X[{index}]: the image array contains NaN or infinity.")
        if values.min() < 0 or values.max() > 1:
            raise ValueError(
                f"X[{index}]: a {array.dtype} image array must hold values in [0, 1] (or be uint8 in "
                f"[0, 255]); got [{values.min():g}, {values.max():g}]. Rescale it first "
                "(load_digits images: images / 16)."
            )
        pixels = np.round(values * 255).astype(np.uint8)
    else:
        raise ValueError(f"X[{index}]: unsupported image array dtype {array.dtype}.")
    return Image.fromarray(pixels).convert("RGB")


def load_images(X):
    """Validate ``X`` as a collection of images and return a list of RGB PIL images."""
    require_vision()
    return [to_rgb(item, i) for i, item in enumerate(as_image_list(X))]
