"""Average pooling of a patch grid, and what one image costs in prompt tokens.

Pure torch: no open_clip needed, so the token counts can be checked anywhere.
"""

from __future__ import annotations

from numbers import Integral


def pooled_grid(grid, pooling, drop_remainder=False):
    """Side of the grid left after ``pooling x pooling`` average pooling of a ``grid x grid`` one.

    Raises ``ValueError`` when ``pooling`` does not divide ``grid`` (unless
    ``drop_remainder``, which drops the last rows and columns as the paper's 2x2 pooling
    of a 27x27 grid into 13x13 does) or exceeds it.
    """
    if not isinstance(pooling, Integral) or isinstance(pooling, bool) or pooling < 1:
        raise ValueError(f"pooling must be a positive int or 'embedding', got {pooling!r}.")
    if pooling > grid:
        raise ValueError(f"pooling={pooling} is larger than the encoder's {grid}x{grid} patch grid.")
    if grid % pooling and not drop_remainder:
        divisors = [d for d in range(1, grid + 1) if grid % d == 0]
        raise ValueError(
            f"pooling={pooling} does not divide the encoder's {grid}x{grid} patch grid; use one of "
            f"{divisors}, or drop_remainder=True to drop the last {grid % pooling} rows and columns."
        )
    return grid // pooling


def tokens_per_image(grid, pooling, drop_remainder=False):
    """How many embeddings one image puts into the prompt (markers not counted).

    Examples
    --------
    >>> from sklearn_icc.vision import tokens_per_image
    >>> [tokens_per_image(14, p) for p in (1, 2, 7, "embedding")]  # ViT-B/16 at 224 pixels
    [196, 49, 4, 1]
    >>> [tokens_per_image(27, p, drop_remainder=True) for p in (1, 2, 3, 9)]  # the paper's SigLIP
    [729, 169, 81, 9]
    """
    if isinstance(pooling, str) and pooling == "embedding":
        return 1
    return pooled_grid(grid, pooling, drop_remainder) ** 2


def pool_patches(patches, pooling, drop_remainder=False):
    """Average-pool a batch of patch grids into a sequence of tokens per image.

    Parameters
    ----------
    patches : torch.Tensor of shape (n_images, channels, grid, grid)
    pooling : int
        Kernel and stride of the average pooling.
    drop_remainder : bool, default=False

    Returns
    -------
    torch.Tensor of shape (n_images, tokens, channels)
        Row-major order over the pooled grid.
    """
    import torch.nn.functional as F

    if patches.ndim != 4 or patches.shape[2] != patches.shape[3]:
        raise ValueError(f"patches must have shape (n, channels, grid, grid), got {tuple(patches.shape)}.")
    side = pooled_grid(patches.shape[2], pooling, drop_remainder)
    pooled = F.avg_pool2d(patches, kernel_size=pooling, stride=pooling) if pooling > 1 else patches
    pooled = pooled[:, :, :side, :side]
    return pooled.flatten(2).transpose(1, 2)
