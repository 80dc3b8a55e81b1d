"""Load an open_clip image encoder and turn images into projected prompt embeddings."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

from ..runtime.model.sources import ALLOW_DOWNLOAD_ENV, allow_download_from_env
from ._imports import require_vision
from .images import load_images
from .pooling import pool_patches, pooled_grid
from .projector import build_projector

BATCH_SIZE = 16  # images per forward pass of the encoder


@dataclass(eq=False)
class VisionTower:
    """The image half of an open_clip model, its preprocessing, and its patch grid."""

    visual: object
    preprocess: object
    grid: int
    width: int
    embed_dim: int


def _resolve_weights(encoder):
    """``(model_name, pretrained)`` for ``open_clip.create_model``; no download unless allowed."""
    if encoder.pretrained is None:
        if encoder.model.startswith("hf-hub:") and not allow_download_from_env():
            raise ValueError(_download_off(encoder.model))
        return encoder.model, None
    path = Path(os.fspath(encoder.pretrained)).expanduser()
    if path.is_dir():
        if not (path / "open_clip_config.json").is_file():
            raise ValueError(f"ImageEncoder.pretrained={os.fspath(path)!r} is a folder without open_clip_config.json.")
        if not any(path.glob(pattern) for pattern in ("*.safetensors", "*.bin", "*.pth")):
            raise ValueError(f"ImageEncoder.pretrained={os.fspath(path)!r} holds no weights (*.safetensors, *.bin, *.pth).")
        return "local-dir:" + str(path), None
    if path.is_file():
        return encoder.model, str(path)
    looks_like_path = os.sep in os.fspath(encoder.pretrained) or path.suffix in (".bin", ".pt", ".pth", ".safetensors")
    if looks_like_path:
        raise ValueError(f"ImageEncoder.pretrained: no such file or folder {os.fspath(encoder.pretrained)!r}.")
    if not allow_download_from_env():
        raise ValueError(_download_off(f"{encoder.model} / {encoder.pretrained}"))
    return encoder.model, str(encoder.pretrained)  # an open_clip tag, downloaded by open_clip


def _download_off(what):
    return (
        f"The image encoder weights {what!r} would be downloaded, and downloading is off. Pass "
        "ImageEncoder(pretrained=<local checkpoint file or open_clip folder>), or opt in with "
        f"{ALLOW_DOWNLOAD_ENV}=1."
    )


@functools.lru_cache(maxsize=4)
def load_vision_tower(model, pretrained, seed, device):
    """Create (once per process) the image tower of an open_clip model on ``device``."""
    require_vision()
    import open_clip
    import torch
    from open_clip.transform import PreprocessCfg, image_transform_v2

    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            clip = open_clip.create_model(model, pretrained=pretrained, pretrained_text=False, device=device)
    except (RuntimeError, FileNotFoundError, KeyError, ValueError) as exc:
        raise ValueError(f"Could not create the open_clip model {model!r} (pretrained={pretrained!r}): {exc}") from exc
    preprocess_cfg = open_clip.get_model_preprocess_cfg(clip)
    visual = clip.visual.eval()
    preprocess = image_transform_v2(PreprocessCfg(**preprocess_cfg), is_train=False)
    size = PreprocessCfg(**preprocess_cfg).size
    size = size if isinstance(size, int) else size[0]
    with torch.inference_mode():
        probe = visual.forward_intermediates(
            torch.zeros(1, 3, size, size, device=device), indices=1, normalize_intermediates=True
        )
    patches = probe["image_intermediates"][-1]
    if patches.shape[2] != patches.shape[3]:
        raise ValueError(f"The encoder {model!r} has a {tuple(patches.shape[2:])} patch grid; only square grids are supported.")
    return VisionTower(visual, preprocess, int(patches.shape[2]), int(patches.shape[1]), int(probe["image_features"].shape[-1]))


def tower_for(encoder, device):
    model, pretrained = _resolve_weights(encoder)
    return load_vision_tower(model, pretrained, encoder.seed, str(device))


@functools.lru_cache(maxsize=8)
def _projector_for(encoder, in_features, out_features, device, stamp):
    # ``stamp`` (the weights file's mtime) makes a rewritten file load again.
    return build_projector(encoder, in_features, out_features).to(device).eval()


def image_features(images, encoder, device="cpu"):
    """Encoder features of each image: ``(n_images, tokens_per_image, width)``, float32.

    ``images`` are validated and read by :func:`load_images`; each is resized (shorter
    side) and centre-cropped to the encoder's input size by open_clip's preprocessing,
    so images of any size and aspect ratio are accepted.
    """
    import torch

    pil_images = load_images(images)
    tower = tower_for(encoder, device)
    if encoder.pooling != "embedding":
        pooled_grid(tower.grid, encoder.pooling, encoder.drop_remainder)  # fail before encoding
    chunks = []
    with torch.inference_mode():
        for start in range(0, len(pil_images), BATCH_SIZE):
            batch = torch.stack([tower.preprocess(image) for image in pil_images[start : start + BATCH_SIZE]])
            out = tower.visual.forward_intermediates(
                batch.to(device), indices=1, normalize_intermediates=True,
                intermediates_only=encoder.pooling != "embedding",
            )
            if encoder.pooling == "embedding":
                chunks.append(out["image_features"].float()[:, None, :])
            else:
                chunks.append(pool_patches(out["image_intermediates"][-1].float(), encoder.pooling, encoder.drop_remainder))
    return torch.cat(chunks)


def encode_images(images, encoder, loaded):
    """Projected embeddings of each image for ``loaded``'s LLM: ``(n_images, tokens, hidden)``.

    Parameters
    ----------
    images : list of PIL images, arrays or file paths
    encoder : ImageEncoder
    loaded : LoadedModel
        The LLM: its embedding size, device and dtype.
    """
    import torch

    features = image_features(images, encoder, loaded.device)
    hidden = loaded.model.get_input_embeddings().embedding_dim
    stamp = os.stat(encoder.projector_weights).st_mtime_ns if encoder.projector_weights is not None else None
    projector = _projector_for(encoder, features.shape[-1], hidden, str(loaded.device), stamp)
    with torch.inference_mode():
        return projector(features).to(loaded.dtype)
