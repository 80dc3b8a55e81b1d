"""Images as the points of an episode: input checks and prompt building for the estimators."""

from __future__ import annotations

from ..runtime import build_prompt
from ..runtime.embedded_prompts import build_embedded_prompt
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
