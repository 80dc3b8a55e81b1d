"""Reading images and encoding them with a tiny random open_clip ViT (needs the [vision] extra)."""

import numpy as np
import pytest
import torch

from sklearn_icc.vision import ImageEncoder, image_features, load_images


@pytest.fixture
def pil_module(tiny_vit):
    from PIL import Image

    return Image


def test_load_images_accepts_pil_arrays_and_paths(pil_module, tmp_path, digit_images):
    from sklearn.datasets import load_sample_images

    china = load_sample_images().images[0]  # a real 427x640 RGB photo, uint8
    path = tmp_path / "china.png"
    pil_module.fromarray(china).save(path)
    images = load_images([china, digit_images[0][0], pil_module.fromarray(china).convert("L"), str(path), path])
    assert [image.mode for image in images] == ["RGB"] * 5
    assert images[0].size == (640, 427) and images[1].size == (8, 8)
    np.testing.assert_array_equal(np.asarray(images[3]), china)
    stacked = load_images(np.stack(digit_images[0][:3]))  # an (n, H, W) array
    assert len(stacked) == 3


def test_unreadable_and_missing_files(tiny_vit, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    with pytest.raises(ValueError, match=r"X\[1\]: cannot read .*broken.png"):
        load_images([np.zeros((4, 4)), broken])
    with pytest.raises(ValueError, match="no such image file"):
        load_images([tmp_path / "missing.jpg"])


@pytest.mark.parametrize(
    "X, error, match",
    [
        ([], ValueError, "empty list of images"),
        ([np.zeros((8, 8)), [1.0, 2.0]], TypeError, "mixes images and numbers"),
        ([np.zeros((8, 8)), 3.5], TypeError, "mixes images and numbers"),
        ([[1.0, 2.0], [3.0, 4.0]], TypeError, r"X\[0\] is list, not an image"),
        (np.zeros((5, 3)), TypeError, "got an array of shape"),
        ([np.full((8, 8), 16.0)], ValueError, r"values in \[0, 1\].*images / 16"),
        ([np.full((8, 8), np.nan)], ValueError, "NaN"),
        ([np.zeros((8, 8, 2))], ValueError, "C in 1, 3, 4"),
    ],
)
def test_bad_image_input(tiny_vit, X, error, match):
    with pytest.raises(error, match=match):
        load_images(X)


@pytest.mark.parametrize("pooling, tokens, width", [(1, 36, 32), (2, 9, 32), (3, 4, 32), (6, 1, 32), ("embedding", 1, 16)])
def test_feature_shapes_per_pooling(tiny_vit, digit_images, pooling, tokens, width):
    features = image_features(digit_images[0][:3], ImageEncoder(tiny_vit, pooling=pooling))
    assert features.shape == (3, tokens, width) and features.dtype == torch.float32


def test_pooling_must_divide_the_grid(tiny_vit, digit_images):
    with pytest.raises(ValueError, match="pooling=4 does not divide the encoder's 6x6 patch grid; use one of"):
        image_features(digit_images[0][:2], ImageEncoder(tiny_vit, pooling=4))
    assert image_features(digit_images[0][:2], ImageEncoder(tiny_vit, pooling=4, drop_remainder=True)).shape == (2, 1, 32)


def test_images_of_different_sizes_are_resized_to_the_encoder(tiny_vit):
    rng = np.random.default_rng(0)
    images = [rng.random((20, 30, 3)), rng.random((100, 60, 3)), rng.random((48, 48))]
    assert image_features(images, ImageEncoder(tiny_vit, pooling=2)).shape == (3, 9, 32)


def test_pooled_patches_are_the_mean_of_unpooled_ones(tiny_vit, digit_images):
    full = image_features(digit_images[0][:2], ImageEncoder(tiny_vit, pooling=1))
    pooled = image_features(digit_images[0][:2], ImageEncoder(tiny_vit, pooling=3))
    grid = full.reshape(2, 6, 6, 32)
    torch.testing.assert_close(pooled[:, 0], grid[:, :3, :3].mean(dim=(1, 2)))


def test_weights_come_from_a_local_file_or_folder(tiny_vit, digit_images, tmp_path):
    import json

    import open_clip
    from safetensors.torch import save_file

    from .conftest import TINY_VIT_CONFIG

    torch.manual_seed(123)
    source = open_clip.create_model(tiny_vit)
    checkpoint = tmp_path / "tiny.pt"
    torch.save(source.state_dict(), checkpoint)
    folder = tmp_path / "tiny-folder"
    folder.mkdir()
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY_VIT_CONFIG}))
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, folder / "open_clip_model.safetensors")

    images = digit_images[0][:2]
    with torch.inference_mode():
        expected = source.visual(torch.stack([t for t in _preprocessed(source, images)]))
    for pretrained in (checkpoint, str(folder)):
        loaded = image_features(images, ImageEncoder(tiny_vit, pretrained=pretrained, pooling="embedding"))
        torch.testing.assert_close(loaded[:, 0], expected)
    random = image_features(images, ImageEncoder(tiny_vit, pooling="embedding"))
    assert not torch.allclose(random[:, 0], expected)


def _preprocessed(clip, images):
    import open_clip
    from open_clip.transform import PreprocessCfg, image_transform_v2

    preprocess = image_transform_v2(PreprocessCfg(**open_clip.get_model_preprocess_cfg(clip)), is_train=False)
    return [preprocess(image) for image in load_images(images)]


def test_no_download_without_opt_in(tiny_vit, tmp_path):
    with pytest.raises(ValueError, match="downloading is off.*SKLEARN_ICC_ALLOW_DOWNLOAD=1"):
        image_features([np.zeros((8, 8))], ImageEncoder("ViT-B-16", pretrained="laion2b_s34b_b88k"))
    with pytest.raises(ValueError, match="downloading is off"):
        image_features([np.zeros((8, 8))], ImageEncoder("hf-hub:timm/ViT-B-16-SigLIP"))
    with pytest.raises(ValueError, match="no such file or folder"):
        image_features([np.zeros((8, 8))], ImageEncoder(tiny_vit, pretrained=str(tmp_path / "none.bin")))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="without open_clip_config.json"):
        image_features([np.zeros((8, 8))], ImageEncoder(tiny_vit, pretrained=tmp_path / "empty"))
