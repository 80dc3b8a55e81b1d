import numpy as np
import pytest

from sklearn_icc.runtime.capture import decoder_layers
from sklearn_icc.runtime.layer_attention import (
    POINT_ATTENTION,
    _additive_mask,
    attention_weights_at,
    eager_attention,
    point_attention_forward,
)


@pytest.fixture
def ids():
    import torch

    return torch.randint(3, 90, (1, 24), generator=torch.Generator().manual_seed(0))


def _attention_outputs(model, ids):
    """Each layer's ``self_attn`` output ``(output, weights)`` from one pass over ``ids``."""
    import torch

    outputs, handles = {}, []
    for i, layer in enumerate(decoder_layers(model)):
        handles.append(layer.self_attn.register_forward_hook(lambda m, a, out, i=i: outputs.__setitem__(i, out)))
    try:
        with torch.inference_mode():
            logits = model(input_ids=ids, use_cache=False).logits
    finally:
        for handle in handles:
            handle.remove()
    return outputs, logits


def test_only_the_chosen_layers_return_weights_and_they_are_eager_ones(tiny_loaded, ids):
    model = tiny_loaded.model
    with eager_attention(model):
        eager, eager_logits = _attention_outputs(model, ids)
    with attention_weights_at(model, [decoder_layers(model)[1].self_attn]):
        assert model.config._attn_implementation == POINT_ATTENTION
        mixed, mixed_logits = _attention_outputs(model, ids)
    assert mixed[0][1] is None  # layer 0 ran SDPA
    weights = mixed[1][1][0].numpy()
    np.testing.assert_allclose(weights, eager[1][1][0].numpy(), rtol=1e-5, atol=1e-6)
    assert np.all(np.triu(weights, k=1) == 0)  # causal although SDPA's mask is None here
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(mixed_logits.numpy(), eager_logits.numpy(), rtol=1e-4, atol=1e-5)
    assert model.config._attn_implementation == "sdpa"


def test_outside_the_context_every_module_runs_sdpa(tiny_loaded):
    import torch

    attention = decoder_layers(tiny_loaded.model)[0].self_attn
    query = torch.randn(1, 4, 5, 8)
    key, value = torch.randn(1, 2, 5, 8), torch.randn(1, 2, 5, 8)
    output, weights = point_attention_forward(attention, query, key, value, None, scaling=8**-0.5)
    assert weights is None
    with attention_weights_at(tiny_loaded.model, [attention]):
        weighted_output, weights = point_attention_forward(attention, query, key, value, None, scaling=8**-0.5)
    assert weights.shape == (1, 4, 5, 5)
    np.testing.assert_allclose(weighted_output.numpy(), output.numpy(), rtol=1e-5, atol=1e-6)


def test_additive_mask_is_eager_mask_of_sdpa_mask():
    import torch

    query, key = torch.zeros(1, 1, 2, 4), torch.zeros(1, 1, 4, 4)
    # two queries after two cached keys: bottom-right causal alignment
    mask = _additive_mask(None, query, key, causal=True)
    assert (mask == 0).tolist() == [[True, True, True, False], [True, True, True, True]]
    assert mask.min() == torch.finfo(torch.float32).min
    assert _additive_mask(None, query, key, causal=False) is None
    allowed = torch.tensor([[[[False, True, True, False], [False, True, True, True]]]])
    assert (_additive_mask(allowed, query, key, causal=True) == 0).equal(allowed)
    additive = torch.zeros(1, 1, 2, 4)
    assert _additive_mask(additive, query, key, causal=True) is additive


def test_implementation_restored_after_an_exception(tiny_loaded, ids):
    model = tiny_loaded.model
    attention = decoder_layers(model)[0].self_attn
    with pytest.raises(RuntimeError, match="mid-pass"):
        with attention_weights_at(model, [attention]):
            raise RuntimeError("mid-pass")
    assert model.config._attn_implementation == "sdpa"
    assert all(layer.self_attn.config._attn_implementation == "sdpa" for layer in decoder_layers(model))
    outputs, _ = _attention_outputs(model, ids)
    assert outputs[0][1] is None


def test_an_eager_model_stays_eager(tiny_loaded, ids):
    model = tiny_loaded.model
    with eager_attention(model), attention_weights_at(model, []):
        assert model.config._attn_implementation == "eager"
        outputs, _ = _attention_outputs(model, ids)
    assert all(weights is not None for _, weights in outputs.values())
    assert model.config._attn_implementation == "sdpa"


def test_a_model_that_cannot_switch_says_so(tiny_loaded, monkeypatch):
    model = tiny_loaded.model
    monkeypatch.setattr(model, "set_attn_implementation", lambda name: None)  # transformers only warns
    with pytest.raises(ValueError, match="cannot switch its attention implementation"):
        with attention_weights_at(model, []):
            pass
    assert model.config._attn_implementation == "sdpa"
