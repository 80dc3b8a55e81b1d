import numpy as np
import pytest

from sklearn_icc.runtime import build_prompt
from sklearn_icc.runtime.capture.points import capture_points, decoder_layers, resolve_heads, resolve_layers
from sklearn_icc.runtime.capture.attention import eager_attention


@pytest.fixture
def prompt(tiny_loaded):
    X = np.random.default_rng(0).normal(size=(6, 2))
    return build_prompt(X, 2, tiny_loaded.tokenizer)


def test_point_attention_is_causal_block_means(tiny_loaded, prompt):
    import torch

    capture = capture_points(tiny_loaded, prompt, [0, 1])
    assert sorted(capture.attention) == [0, 1] and sorted(capture.hidden) == [0, 1]
    A = capture.attention[1]
    assert A.shape == (6, 6)
    assert np.all(np.triu(A, k=1) == 0) and np.all(np.diag(A) > 0)
    # Recompute layer 1's block means from the full attention returned by transformers.
    model = tiny_loaded.model
    model.set_attn_implementation("eager")
    try:
        with torch.inference_mode():
            out = model(torch.tensor([prompt.input_ids]), output_attentions=True, output_hidden_states=True)
    finally:
        model.set_attn_implementation("sdpa")
    full = out.attentions[1][0].mean(dim=0).numpy()
    (s2, e2), (s4, e4) = prompt.point_spans[2], prompt.point_spans[4]
    assert A[4, 2] == pytest.approx(full[s4:e4, s2:e2].mean(), rel=1e-4)
    # hidden_states[0] is the embeddings and the last entry is after the final norm,
    # so layer 0's output is hidden_states[1].
    hidden = out.hidden_states[1][0].numpy()
    np.testing.assert_allclose(capture.hidden[0][4], hidden[s4:e4].mean(axis=0), rtol=1e-4, atol=1e-5)
    assert model.config._attn_implementation == "sdpa"  # restored


@pytest.mark.parametrize("layers, heads", [([1], None), ([0], None), ([0, 1], None), ([1], [1, 3]), ([-1], [2])])
@pytest.mark.parametrize("n_points", [6, 20])  # 20 points: three pooling calls at head_dim=8
def test_capture_equals_the_all_eager_capture(tiny_loaded, layers, heads, n_points):
    """Point attention within SDPA at the chosen layers only: the all-eager pass's matrices."""
    X = np.random.default_rng(n_points).normal(size=(n_points, 2))
    prompt = build_prompt(X, 2, tiny_loaded.tokenizer)
    capture = capture_points(tiny_loaded, prompt, layers, heads=heads)
    with eager_attention(tiny_loaded.model):
        reference = capture_points(tiny_loaded, prompt, layers, heads=heads)
    assert sorted(capture.attention) == sorted(reference.attention) == resolve_layers(layers, 2)
    for layer in reference.attention:
        np.testing.assert_allclose(capture.attention[layer], reference.attention[layer], rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(capture.hidden[layer], reference.hidden[layer], rtol=1e-5, atol=1e-6)
    assert tiny_loaded.model.config._attn_implementation == "sdpa"


def test_attention_implementation_restored_after_a_failed_capture(tiny_loaded, prompt):
    def fail(module, args, output):
        raise RuntimeError("layer 0 failed")

    handle = decoder_layers(tiny_loaded.model)[0].register_forward_hook(fail)
    try:
        with pytest.raises(RuntimeError, match="layer 0 failed"):
            capture_points(tiny_loaded, prompt, [1])
    finally:
        handle.remove()
    assert tiny_loaded.model.config._attn_implementation == "sdpa"
    again = capture_points(tiny_loaded, prompt, [1], hidden=False)
    assert again.attention[1].shape == (6, 6)


def test_heads_subset_changes_the_average(tiny_loaded, prompt):
    every = capture_points(tiny_loaded, prompt, [0], hidden=False).attention[0]
    one = capture_points(tiny_loaded, prompt, [0], hidden=False, heads=[1]).attention[0]
    assert not np.allclose(every, one)


def test_pass_stops_after_the_last_requested_layer(tiny_loaded, prompt):
    seen = []
    handle = decoder_layers(tiny_loaded.model)[1].register_forward_pre_hook(lambda *a: seen.append(1))
    try:
        capture_points(tiny_loaded, prompt, [0])
    finally:
        handle.remove()
    assert seen == []


def test_layer_and_head_ranges():
    assert resolve_layers([-1, 0, 0], 30) == [0, 29]
    with pytest.raises(ValueError, match="layer=30 is out of range for a model with 30 layers"):
        resolve_layers([30], 30)
    with pytest.raises(ValueError, match="layer=-31 is out of range"):
        resolve_layers([-31], 30)
    assert resolve_heads(None, 4) is None
    with pytest.raises(ValueError, match=r"heads=\[4\] must be"):
        resolve_heads([4], 4)
