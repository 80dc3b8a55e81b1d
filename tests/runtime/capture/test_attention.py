import threading

import numpy as np
import pytest

from sklearn_icc.runtime.capture.points import decoder_layers, span_pooling
from sklearn_icc.runtime.capture.attention import (
    POINT_ATTENTION,
    eager_attention,
    point_attention,
    point_attention_forward,
    point_block_means,
)


class _Attention:
    """What SDPA reads of an attention module."""

    num_key_value_groups = 2
    is_causal = True
    training = False


def _spans(n_points, n_tokens, seed=0):
    cuts = np.sort(np.random.default_rng(seed).choice(np.arange(1, n_tokens), 2 * n_points, replace=False))
    return cuts.reshape(n_points, 2)


@pytest.mark.parametrize("n_points", [3, 8, 11])  # under, at and over head_dim=8: one, one and two SDPA calls
def test_block_means_are_pooled_softmax_weights(n_points):
    import torch

    generator = torch.Generator().manual_seed(n_points)
    query = torch.randn(1, 4, 30, 8, generator=generator)
    key = torch.randn(1, 2, 30, 8, generator=generator)
    pool = span_pooling(_spans(n_points, 30), 30, torch, "cpu", torch.float32)
    with torch.inference_mode():
        per_head = point_block_means(_Attention(), query, key, None, pool, scaling=0.3)
    scores = query @ key.repeat_interleave(2, dim=1).transpose(-1, -2) * 0.3
    scores = scores.masked_fill(~torch.ones(30, 30, dtype=torch.bool).tril(), float("-inf"))
    expected = pool @ scores.softmax(dim=-1)[0] @ pool.T
    assert per_head.shape == (4, n_points, n_points)
    np.testing.assert_allclose(per_head.numpy(), expected.numpy(), rtol=1e-5, atol=1e-7)


def test_block_means_need_the_keys_the_pool_averages():
    import torch

    pool = torch.ones(2, 5) / 5
    with pytest.raises(ValueError, match="one sequence of 5 keys"):
        point_block_means(_Attention(), torch.zeros(1, 4, 6, 8), torch.zeros(1, 2, 6, 8), None, pool)


@pytest.fixture
def ids():
    import torch

    return torch.randint(3, 90, (1, 24), generator=torch.Generator().manual_seed(0))


@pytest.fixture
def pool():
    import torch

    return span_pooling(_spans(5, 24), 24, torch, "cpu", torch.float32)


def _forward(model, ids):
    import torch

    with torch.inference_mode():
        return model(input_ids=ids, use_cache=False).logits


def test_only_the_chosen_layer_does_more_than_sdpa(tiny_loaded, ids, pool, monkeypatch):
    from transformers.integrations import sdpa_attention

    model = tiny_loaded.model
    reference_logits = _forward(model, ids)
    calls = []
    sdpa = sdpa_attention.sdpa_attention_forward
    monkeypatch.setattr(sdpa_attention, "sdpa_attention_forward",
                        lambda module, *args, **kwargs: calls.append(module.layer_idx) or sdpa(module, *args, **kwargs))
    chosen = decoder_layers(model)[1].self_attn
    with point_attention(model, [chosen], pool) as found:
        assert model.config._attn_implementation == POINT_ATTENTION
        logits = _forward(model, ids)
    assert calls == [0, 1, 1]  # 5 points fit one pooling call at head_dim=8
    assert list(found) == [chosen] and found[chosen].shape == (5, 5)
    np.testing.assert_allclose(logits.numpy(), reference_logits.numpy(), rtol=1e-5, atol=1e-6)
    assert model.config._attn_implementation == "sdpa"


def test_equals_the_pooled_eager_weights(tiny_loaded, ids, pool):
    import torch

    model = tiny_loaded.model
    modules = [layer.self_attn for layer in decoder_layers(model)]
    with point_attention(model, modules, pool, heads=[0, 3]) as found:
        _forward(model, ids)
    with eager_attention(model), torch.inference_mode():
        weights = model(input_ids=ids, output_attentions=True, use_cache=False).attentions
    for module, layer_weights in zip(modules, weights):
        expected = pool @ layer_weights[0, [0, 3]].mean(dim=0) @ pool.T
        np.testing.assert_allclose(found[module].numpy(), expected.numpy(), rtol=1e-5, atol=1e-7)


def test_an_eager_model_stays_eager_and_its_weights_are_pooled(tiny_loaded, ids, pool):
    model = tiny_loaded.model
    chosen = decoder_layers(model)[0].self_attn
    with point_attention(model, [chosen], pool) as found:
        _forward(model, ids)
    with eager_attention(model), point_attention(model, [chosen], pool) as from_eager:
        assert model.config._attn_implementation == "eager"
        _forward(model, ids)
    np.testing.assert_allclose(from_eager[chosen].numpy(), found[chosen].numpy(), rtol=1e-5, atol=1e-7)
    assert model.config._attn_implementation == "sdpa"


def test_outside_the_pass_the_function_is_sdpa(tiny_loaded):
    import torch

    attention = decoder_layers(tiny_loaded.model)[0].self_attn
    query, key, value = torch.randn(1, 4, 5, 8), torch.randn(1, 2, 5, 8), torch.randn(1, 2, 5, 8)
    output, weights = point_attention_forward(attention, query, key, value, None, scaling=0.3)
    assert weights is None and output.shape == (1, 5, 4, 8)


def test_another_thread_records_nothing(tiny_loaded, ids, pool):
    model = tiny_loaded.model
    chosen = decoder_layers(model)[0].self_attn
    with point_attention(model, [chosen], pool) as found:
        thread = threading.Thread(target=_forward, args=(model, ids))
        thread.start()
        thread.join()
        assert found == {}
        _forward(model, ids)
        assert list(found) == [chosen]


def test_implementation_restored_after_an_exception(tiny_loaded, ids, pool):
    model = tiny_loaded.model
    with pytest.raises(RuntimeError, match="mid-pass"):
        with point_attention(model, [decoder_layers(model)[0].self_attn], pool):
            raise RuntimeError("mid-pass")
    assert model.config._attn_implementation == "sdpa"
    assert all(layer.self_attn.config._attn_implementation == "sdpa" for layer in decoder_layers(model))


def test_a_model_that_cannot_switch_says_so(tiny_loaded, pool, monkeypatch):
    model = tiny_loaded.model
    monkeypatch.setattr(model, "set_attn_implementation", lambda name: None)  # transformers only warns
    with pytest.raises(ValueError, match="cannot switch its attention implementation"):
        with point_attention(model, [], pool):
            pass
    assert model.config._attn_implementation == "sdpa"
