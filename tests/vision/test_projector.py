"""The projector: trainable, saved and loaded as a state dict (needs torch and safetensors only)."""

import pytest
import torch

from sklearn_icc.vision import ImageEncoder, ImageProjector
from sklearn_icc.vision.projector import build_projector


@pytest.mark.parametrize("kind, n_layers", [("linear", 1), ("mlp", 3)])
def test_projector_maps_features_to_the_llm_width(kind, n_layers):
    projector = ImageProjector(32, 48, kind)
    assert len(projector.layers) == n_layers
    assert projector(torch.zeros(2, 9, 32)).shape == (2, 9, 48)


def test_projector_trains_saves_and_loads(tmp_path):
    torch.manual_seed(0)
    projector = ImageProjector(8, 4, "mlp")
    assert all(p.requires_grad for p in projector.parameters())
    x, target = torch.randn(16, 8), torch.randn(16, 4)
    optimizer = torch.optim.SGD(projector.parameters(), lr=0.1)
    before = torch.nn.functional.mse_loss(projector(x), target).item()
    for _ in range(20):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(projector(x), target)
        loss.backward()
        optimizer.step()
    assert loss.item() < before
    path = tmp_path / "projector.safetensors"
    projector.save(path)
    loaded = ImageProjector.load(path)
    assert (loaded.kind, loaded.in_features, loaded.out_features) == ("mlp", 8, 4)
    torch.testing.assert_close(loaded(x), projector(x))
    # An ImageEncoder pointing at the file gets the trained weights.
    again = build_projector(ImageEncoder(projector="mlp", projector_weights=path), 8, 4)
    torch.testing.assert_close(again(x), projector(x))


def test_projector_file_must_match(tmp_path):
    path = tmp_path / "projector.safetensors"
    ImageProjector(8, 4, "linear").save(path)
    with pytest.raises(ValueError, match="is linear 8 -> 4, but this encoder and LLM need mlp 8 -> 4"):
        build_projector(ImageEncoder(projector="mlp", projector_weights=path), 8, 4)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"nonsense")
    with pytest.raises(ValueError, match="not a projector written by ImageProjector.save"):
        ImageProjector.load(junk)


def test_random_projectors_are_seeded():
    x = torch.randn(3, 8)
    a = build_projector(ImageEncoder(seed=1), 8, 4)(x)
    b = build_projector(ImageEncoder(seed=1), 8, 4)(x)
    c = build_projector(ImageEncoder(seed=2), 8, 4)(x)
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)


def test_projector_kinds_match_the_encoder_config():
    from sklearn_icc.vision.config import PROJECTOR_KINDS
    from sklearn_icc.vision.projector import KINDS

    assert KINDS == PROJECTOR_KINDS
