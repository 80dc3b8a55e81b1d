"""Fixtures for image tests: a tiny random open_clip ViT, registered offline.

Tests that need open_clip take the ``tiny_vit`` fixture. Without the ``[vision]``
extra they are skipped with the reason shown by ``pytest -ra``; with
``SKLEARN_ICC_REQUIRE_VISION=1`` (set by ``make test-vision``) a missing extra fails
them instead, so the vision job cannot pass by skipping.
"""

import json
import os

import numpy as np
import pytest

from sklearn_icc.vision import is_vision_available

TINY_VIT = "sklearn-icc-tiny-vit"
TINY_VIT_CONFIG = {
    "embed_dim": 16,
    # 48 px images in 8 px patches: a 6x6 patch grid of width 32.
    "vision_cfg": {"image_size": 48, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16, "mlp_ratio": 2.0},
    "text_cfg": {"context_length": 8, "vocab_size": 64, "width": 16, "heads": 2, "layers": 1},
}
REQUIRE_ENV = "SKLEARN_ICC_REQUIRE_VISION"


def require_vision_extra():
    if is_vision_available():
        return
    reason = "the [vision] extra (open_clip, torchvision, pillow) is not installed; `make test-vision` runs this"
    if os.environ.get(REQUIRE_ENV, "") == "1":
        pytest.fail(f"{reason}, and {REQUIRE_ENV}=1 requires it.")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def tiny_vit(tmp_path_factory):
    """Name of a tiny open_clip model (random weights), registered with open_clip."""
    require_vision_extra()
    import open_clip

    path = tmp_path_factory.mktemp("open-clip") / f"{TINY_VIT}.json"
    path.write_text(json.dumps(TINY_VIT_CONFIG))
    open_clip.add_model_config(path)
    return TINY_VIT


@pytest.fixture(scope="session")
def digit_images():
    """Twelve real 8x8 digits (0s and 1s) from scikit-learn, as float arrays in [0, 1]."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    keep = np.flatnonzero(digits.target < 2)[:12]
    return list(digits.images[keep] / 16.0), digits.target[keep]
