"""Images as the points of an episode: input checks and prompt building for the estimators."""

from __future__ import annotations

import numpy as np

from ..runtime import build_prompt, constrained_decode, load_model
from ..runtime.decoding import prompt_fits
from ..runtime.embedded_prompts import build_embedded_prompt
from ..runtime.prompts import resolve_template
from ..vision import IMAGE_MARKERS, load_images, looks_like_images
from ._validation import validate_episode


def validate_points(estimator, X):
    """Validate ``X`` for ``estimator.fit``: numeric rows, or images with an ``image_encoder``.

    Images come back as a list of RGB PIL images (``n_features_in_`` is not set, as
    images have no features before encoding); numeric data as float64 via
    :func:`validate_episode`.
    """
    encoder = getattr(estimator, "image_encoder", None)
    if encoder is None:
        if looks_like_images(X):
            raise ValueError(
                "X holds images, but image_encoder is None; pass "
                "image_encoder=sklearn_icc.vision.ImageEncoder(...) to cluster images."
            )
        return validate_episode(estimator, X)
    images = load_images(X)
    if len(images) < estimator.n_clusters:
        raise ValueError(f"n_samples={len(images)} should be >= n_clusters={estimator.n_clusters}.")
    if hasattr(estimator, "n_features_in_"):
        del estimator.n_features_in_
    return images


def encode_points(X, image_encoder, loaded):
    """``X`` unchanged for numeric data, or the images' projected embeddings (a tensor)."""
    if image_encoder is None:
        return X
    from ..vision.encoder import encode_images

    return encode_images(X, image_encoder, loaded)


def episode_prompt(points, n_clusters, loaded, *, image_encoder, template, condition, point_format):
    """The prompt of one episode: text points, or embedding spans between image markers."""
    if image_encoder is None:
        return build_prompt(
            points, n_clusters, loaded.tokenizer, template=template, condition=condition, point_format=point_format
        )
    return build_embedded_prompt(
        points, n_clusters, loaded.tokenizer, template=template, condition=condition, markers=IMAGE_MARKERS
    )


def predict_images(images_fit, labels_fit, images_new, n_clusters, *, image_encoder, model, condition, prompt,
                   device, dtype, point_format=None, adapter=None):
    """Label new images in context: the fitted images and their labels first, as for numbers.

    One prompt holds the fitted images then the new ones; the answer starts with
    ``labels_fit`` as given and constrained decoding labels the new images. Returns
    ``(labels, probabilities)`` of the new images; ``ValueError`` when they do not fit
    the context window together.
    """
    import torch

    loaded = load_model(model, device=device, dtype=dtype, adapter=adapter)
    new = load_images(images_new)
    embeddings = encode_points(list(images_fit) + new, image_encoder, loaded)
    built = episode_prompt(
        embeddings, n_clusters, loaded, image_encoder=image_encoder, template=resolve_template(prompt),
        condition=condition, point_format=point_format,
    )
    if not prompt_fits(loaded, built, n_clusters):
        raise ValueError(
            f"The {len(images_fit)} fitted and {len(new)} new images do not fit in one prompt "
            f"({loaded.context_length} tokens); predict fewer images at once or pool more."
        )
    with torch.inference_mode():
        result = constrained_decode(loaded, built, n_clusters, forced_labels=labels_fit)
    start = len(images_fit)
    return np.asarray(result.labels[start:], dtype=np.int64), result.probabilities[start:]
