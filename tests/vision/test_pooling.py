"""Patch pooling and token counts; pure torch, so these run without the [vision] extra."""

import numpy as np
import pytest
import torch

from sklearn_icc.vision import ImageEncoder, pool_patches, pooled_grid, tokens_per_image


@pytest.mark.parametrize(
    "pooling, expected", [(1, 196), (2, 49), (7, 4), (14, 1), ("embedding", 1)]
)
def test_tokens_per_image_on_a_vit_b16_grid(pooling, expected):
    assert tokens_per_image(14, pooling) == expected  # ViT-B/16 at 224 px: 14x14 patches


@pytest.mark.parametrize("pooling, expected", [(1, 729), (2, 169), (3, 81), (9, 9)])
def test_the_papers_siglip_counts(pooling, expected):
    # The paper's 27x27 grid: 2x2 pooling drops the last row and column (13x13 = 169).
    assert tokens_per_image(27, pooling, drop_remainder=True) == expected


@pytest.mark.parametrize("pooling", [3, 9])
def test_a_pooling_that_does_not_divide_the_grid_is_refused(pooling):
    with pytest.raises(ValueError, match=f"pooling={pooling} does not divide the encoder's 14x14 patch grid"):
        pooled_grid(14, pooling)
    assert tokens_per_image(14, pooling, drop_remainder=True) == (14 // pooling) ** 2


def test_pooling_larger_than_the_grid():
    with pytest.raises(ValueError, match="larger than"):
        pooled_grid(6, 9, drop_remainder=True)


def test_pool_patches_averages_blocks_in_row_major_order():
    grid = torch.arange(16.0).reshape(1, 1, 4, 4)
    pooled = pool_patches(grid.repeat(2, 3, 1, 1), 2)
    assert pooled.shape == (2, 4, 3)
    np.testing.assert_allclose(pooled[0, :, 0].numpy(), [2.5, 4.5, 10.5, 12.5])
    np.testing.assert_array_equal(pool_patches(grid, 1)[0, :, 0].numpy(), np.arange(16.0))
    dropped = pool_patches(torch.ones(1, 2, 5, 5), 2, drop_remainder=True)
    assert dropped.shape == (1, 4, 2)


@pytest.mark.parametrize("bad", [0, -1, 2.5, "mean", True])
def test_image_encoder_rejects_bad_pooling(bad):
    with pytest.raises(ValueError, match="pooling must be a positive int or 'embedding'"):
        ImageEncoder("ViT-B-16", pooling=bad)


def test_image_encoder_checks_projector_and_paths(tmp_path):
    with pytest.raises(ValueError, match="projector must be one of"):
        ImageEncoder(projector="conv")
    with pytest.raises(ValueError, match="no such file"):
        ImageEncoder(projector_weights=tmp_path / "missing.safetensors")
    with pytest.raises(TypeError, match="model must be an open_clip model name"):
        ImageEncoder(model=None)
    assert hash(ImageEncoder()) == hash(ImageEncoder())  # hashable: the encoder cache keys on it
