"""Points given as embeddings: spans, conditions and decoding through inputs_embeds.

These use random embeddings and the tiny Llama, so they run without the [vision] extra.
"""

import numpy as np
import pytest
import torch

from sklearn_icc.runtime import PromptTemplate, build_prompt, constrained_decode, free_decode
from sklearn_icc.runtime.capture.points import capture_points
from sklearn_icc.runtime.prompts.embedded import build_embedded_prompt, model_inputs


def embeddings(n, m, hidden=32, seed=0):
    return torch.randn(n, m, hidden, generator=torch.Generator().manual_seed(seed))


def test_each_point_owns_its_markers_embeddings_and_separator(tiny_loaded):
    tok = tiny_loaded.tokenizer
    prompt = build_embedded_prompt(embeddings(4, 3), 2, tok)
    spans, positions = prompt.point_spans, prompt.embedded_positions
    assert spans.shape == (4, 2) and len(positions) == 12
    assert prompt.embeddings.shape == (12, 32)
    np.testing.assert_array_equal(spans[1:, 0], spans[:-1, 1])  # contiguous, in order
    for i, (start, end) in enumerate(spans):
        mine = positions[3 * i : 3 * i + 3]
        assert start < mine[0] and mine[-1] < end
        np.testing.assert_array_equal(np.diff(mine), 1)
        text = tok.decode(prompt.input_ids[start : mine[0]])
        assert text.endswith("<image>")
    # Character tokenizer: "<image>" 7 + 3 embeddings + "</image>" 8 + ", " 2 = 20 tokens per inner image.
    assert list(np.diff(spans, axis=1).ravel()) == [1 + 1 + 20, 20, 20, 19]
    assert prompt.n_tokens == len(prompt.input_ids)
    assert prompt.text.count("<image><3 embeddings></image>") == 4


def test_condition_goes_into_the_instruction(tiny_loaded):
    plain = build_embedded_prompt(embeddings(3, 2), 2, tiny_loaded.tokenizer)
    colour = build_embedded_prompt(embeddings(3, 2), 2, tiny_loaded.tokenizer, condition="colour")
    assert "into 2 clusters based on colour. Only output" in colour.text
    assert colour.n_tokens == plain.n_tokens + len(" based on colour")
    np.testing.assert_array_equal(colour.point_spans - colour.point_spans[0, 0], plain.point_spans - plain.point_spans[0, 0])


def test_a_condition_the_template_cannot_hold_is_refused(tiny_loaded):
    template = PromptTemplate(system=None, instruction="{k} groups: {points}")
    with pytest.raises(ValueError, match="no \\{condition\\} field"):
        build_embedded_prompt(embeddings(3, 2), 2, tiny_loaded.tokenizer, template=template, condition="colour")
    with pytest.raises(ValueError, match="no \\{condition\\} field"):
        build_prompt(np.zeros((3, 2)), 2, tiny_loaded.tokenizer, template=template, condition="colour")


def test_model_inputs_put_the_embeddings_at_their_positions(tiny_loaded):
    prompt = build_embedded_prompt(embeddings(3, 2), 2, tiny_loaded.tokenizer)
    ids = torch.as_tensor([prompt.input_ids])
    embeds = model_inputs(tiny_loaded.model, ids, prompt)["inputs_embeds"][0]
    table = tiny_loaded.model.get_input_embeddings()(ids)[0]
    torch.testing.assert_close(embeds[prompt.embedded_positions], prompt.embeddings)
    others = np.setdiff1d(np.arange(prompt.n_tokens), prompt.embedded_positions)
    torch.testing.assert_close(embeds[others], table[others])
    assert set(model_inputs(tiny_loaded.model, ids)) == {"input_ids"}


def test_constrained_decoding_reads_the_embeddings(tiny_loaded):
    tok = tiny_loaded.tokenizer
    first = constrained_decode(tiny_loaded, build_embedded_prompt(embeddings(12, 2, seed=1) * 5, 3, tok), 3)
    again = constrained_decode(tiny_loaded, build_embedded_prompt(embeddings(12, 2, seed=1) * 5, 3, tok), 3)
    other = constrained_decode(tiny_loaded, build_embedded_prompt(embeddings(12, 2, seed=2) * 5, 3, tok), 3)
    assert first.labels.dtype == np.int64 and first.labels.shape == (12,) and first.labels.max() <= 2
    np.testing.assert_allclose(first.probabilities.sum(axis=1), 1.0)
    np.testing.assert_array_equal(first.labels, again.labels)
    assert not np.allclose(first.probabilities, other.probabilities)  # the model sees the embeddings


def test_window_verification_matches_one_label_per_pass_on_embeddings(tiny_loaded):
    prompt = build_embedded_prompt(embeddings(20, 2, seed=3) * 5, 3, tiny_loaded.tokenizer)
    plain = constrained_decode(tiny_loaded, prompt, 3, window=1)
    fast = constrained_decode(tiny_loaded, prompt, 3, window=16)
    np.testing.assert_array_equal(plain.labels, fast.labels)
    np.testing.assert_allclose(plain.probabilities, fast.probabilities, atol=1e-4)


def test_capture_reads_embedding_spans(tiny_loaded):
    prompt = build_embedded_prompt(embeddings(5, 2), 2, tiny_loaded.tokenizer)
    capture = capture_points(tiny_loaded, prompt, [0, 1])
    assert capture.attention[1].shape == (5, 5) and capture.hidden[1].shape == (5, 32)
    other = capture_points(tiny_loaded, build_embedded_prompt(embeddings(5, 2, seed=9), 2, tiny_loaded.tokenizer), [1])
    assert not np.allclose(capture.hidden[1], other.hidden[1])


def test_free_decoding_refuses_embeddings(tiny_loaded):
    prompt = build_embedded_prompt(embeddings(3, 2), 2, tiny_loaded.tokenizer)
    with pytest.raises(ValueError, match="decoding='constrained'"):
        free_decode(tiny_loaded, prompt, 2)


def test_gradients_reach_the_projector_through_the_prompt(tiny_loaded):
    # How training will plug in: the language-modelling loss back-propagates into the projector.
    from sklearn_icc.vision import ImageProjector

    torch.manual_seed(0)
    projector = ImageProjector(16, 32, "mlp")
    features = torch.randn(3, 2, 16)
    prompt = build_embedded_prompt(projector(features), 2, tiny_loaded.tokenizer)
    ids = torch.as_tensor([prompt.input_ids])
    try:
        logits = tiny_loaded.model(**model_inputs(tiny_loaded.model, ids, prompt)).logits
        torch.nn.functional.cross_entropy(logits[0, :-1], ids[0, 1:]).backward()
    finally:
        tiny_loaded.model.zero_grad(set_to_none=True)  # the shared model stays as it was
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in projector.parameters())
