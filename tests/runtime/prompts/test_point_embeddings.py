"""point_format="embedding" at inference: features, the projector file, prompts, decoding."""

import dataclasses

import numpy as np
import pytest
import torch

from sklearn_icc.runtime import build_prompt, constrained_decode
from sklearn_icc.runtime.prompts.point_embeddings import (
    FEATURE_CLIP,
    POINT_PROJECTOR_FILE,
    build_point_prompt,
    point_features,
)
from sklearn_icc.runtime.model.point_projector import PointProjector, load_point_projector
from sklearn_icc.runtime.prompts.templates import compact_scale, robust_standardise
from sklearn_icc.runtime.spec import PromptSpec
from sklearn_icc.vision import ImageProjector

SPEC = PromptSpec.from_params("paper", point_format="embedding")


def with_projector(loaded, tokens_per_point=1, seed=0):
    """``loaded`` with a random (untrained) point projector at the embeddings' scale."""
    hidden = loaded.model.get_input_embeddings().embedding_dim
    projector = PointProjector(hidden, 8, tokens_per_point).match_embedding_scale(
        loaded.model.get_input_embeddings().weight, seed=seed)
    return dataclasses.replace(loaded, point_projector=projector.eval())


def test_features_are_scale_free_padded_and_flag_the_present_features():
    X = np.random.default_rng(0).normal(size=(20, 3))
    features = point_features(X, 5)
    assert features.shape == (20, 10) and features.dtype == np.float32
    np.testing.assert_allclose(point_features(X * 1e6 + 3e7, 5), features, atol=1e-5)
    np.testing.assert_array_equal(features[:, 3:5], 0.0)
    np.testing.assert_array_equal(features[:, 5:8], 1.0)
    np.testing.assert_array_equal(features[:, 8:], 0.0)
    # The compact format's integers are these floats, times 10, rounded.
    np.testing.assert_array_equal(compact_scale(X), np.clip(np.round(robust_standardise(X) * 10), -99, 99))


def test_an_outlier_is_clipped():
    X = np.array([[0.0], [1.0], [2.0], [3.0], [1e9]])
    features = point_features(X, 1)
    assert features[-1, 0] == FEATURE_CLIP and np.abs(features[:-1, 0]).max() < 2


def test_more_features_than_the_projector_takes_is_an_error_naming_the_limit():
    with pytest.raises(ValueError, match="at most max_features=4 features .* X has 5"):
        point_features(np.zeros((3, 5)), 4)


def test_projector_output_shape_and_save_load_round_trip(tmp_path):
    projector = PointProjector(hidden_size=12, max_features=4, tokens_per_point=2)
    X = np.random.default_rng(1).normal(size=(6, 3))
    out = projector.embed(X)
    assert out.shape == (6, 2, 12) and not out.requires_grad
    path = tmp_path / POINT_PROJECTOR_FILE
    projector.save(path)
    again = PointProjector.load(path, hidden_size=12)
    assert (again.hidden_size, again.max_features, again.tokens_per_point) == (12, 4, 2)
    torch.testing.assert_close(again.embed(X), out)


def test_loading_refuses_other_files_and_other_sizes(tmp_path):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"nonsense")
    with pytest.raises(ValueError, match="is not a point projector written by PointProjector.save"):
        PointProjector.load(junk)
    image = tmp_path / "image.safetensors"
    ImageProjector(8, 12, "linear").save(image)
    with pytest.raises(ValueError, match="metadata names no point projector"):
        PointProjector.load(image)
    path = tmp_path / POINT_PROJECTOR_FILE
    PointProjector(12, 4).save(path)
    with pytest.raises(ValueError, match="embeddings of size 12, but the model's embeddings have size 32"):
        PointProjector.load(path, hidden_size=32)
    with pytest.raises(ValueError, match="tokens_per_point must be an integer >= 1"):
        PointProjector(12, 4, 0)


def test_an_adapters_projector_is_loaded_frozen_in_the_models_dtype(tiny_loaded, tmp_path):
    assert load_point_projector(None, tiny_loaded.model) is None
    assert load_point_projector(tmp_path, tiny_loaded.model) is None  # an adapter without one
    PointProjector(32, 4).save(tmp_path / POINT_PROJECTOR_FILE)
    model = tiny_loaded.model.to(torch.bfloat16)
    try:
        projector = load_point_projector(tmp_path, model)
        assert projector.linear.weight.dtype == torch.bfloat16 and not projector.training
        assert not any(p.requires_grad for p in projector.parameters())
        assert projector.embed(np.zeros((2, 1))).dtype == torch.bfloat16
    finally:
        tiny_loaded.model.to(torch.float32)


@pytest.mark.parametrize("tokens_per_point", [1, 2])
def test_a_point_costs_its_embeddings_and_one_separator(tiny_loaded, tokens_per_point):
    loaded = with_projector(tiny_loaded, tokens_per_point)
    X = np.random.default_rng(0).normal(size=(7, 3))
    prompt = SPEC.build(X, 3, loaded)
    widths = np.diff(prompt.point_spans, axis=1).ravel()
    # Point 0 also owns " [" (two characters here); the last point owns "]".
    assert widths.tolist() == [tokens_per_point + 3] + [tokens_per_point + 1] * 6
    np.testing.assert_array_equal(prompt.point_spans[1:, 0], prompt.point_spans[:-1, 1])  # contiguous
    assert len(prompt.embedded_positions) == 7 * tokens_per_point
    for i, (start, end) in enumerate(prompt.point_spans):  # each point's embeddings lie in its own span
        mine = prompt.embedded_positions[i * tokens_per_point:(i + 1) * tokens_per_point]
        assert start <= mine.min() and mine.max() < end
    ids = np.asarray(prompt.input_ids)
    assert ids[prompt.point_spans[1, 1] - 1] == tiny_loaded.tokenizer.convert_tokens_to_ids(",")
    assert ids[prompt.point_spans[-1, 1] - 1] == tiny_loaded.tokenizer.convert_tokens_to_ids("]")
    # The same instruction and template as the text formats: only the data differ.
    text = build_prompt(X, 3, tiny_loaded.tokenizer, point_format="compact")
    head = prompt.point_spans[0, 0]
    assert prompt.input_ids[:head] == text.input_ids[:head] and head >= text.point_spans[0, 0] - 1
    torch.testing.assert_close(prompt.embeddings, loaded.point_projector.embed(X).reshape(7 * tokens_per_point, -1))


def test_the_layout_does_not_depend_on_the_embeddings(tiny_loaded):
    loaded = with_projector(tiny_loaded)
    X = np.random.default_rng(0).normal(size=(5, 2))
    placeholders = build_point_prompt(torch.zeros(5, 1, 1), 2, tiny_loaded.tokenizer)
    real = SPEC.build(X, 2, loaded)
    assert placeholders.input_ids == real.input_ids
    np.testing.assert_array_equal(placeholders.point_spans, real.point_spans)


def test_without_a_projector_the_error_says_how_to_get_one(tiny_loaded):
    with pytest.raises(ValueError, match=r"needs a trained point projector, but no adapter is loaded.*"
                                         r"finetune\(\.\.\., training=TrainingSettings\(point_format='embedding'\)\)"):
        SPEC.build(np.zeros((3, 2)), 2, tiny_loaded)
    with pytest.raises(ValueError, match="writes no text"):
        build_prompt(np.zeros((3, 2)), 2, tiny_loaded.tokenizer, point_format="embedding")


@pytest.fixture(scope="module")
def sensitive_loaded(tmp_path_factory):
    """A tiny model whose large init makes its labels depend on the points."""
    from sklearn_icc.runtime import load_model
    from tests.conftest import build_tiny_model_dir

    return load_model(build_tiny_model_dir(tmp_path_factory.mktemp("sensitive"), initializer_range=0.5), device="cpu")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_windowed_greedy_decoding_gives_the_labels_of_one_label_per_pass(sensitive_loaded, seed):
    loaded = with_projector(sensitive_loaded, seed=seed)
    with torch.no_grad():
        loaded.point_projector.linear.weight.mul_(20.0)
    X = np.random.default_rng(seed).normal(size=(30, 3))
    prompt = SPEC.build(X, 3, loaded)
    windowed = constrained_decode(loaded, prompt, 3)
    plain = constrained_decode(loaded, prompt, 3, window=1)
    assert len(set(plain.labels)) > 1  # mixed labels: the window's guesses are tested, not only accepted
    np.testing.assert_array_equal(windowed.labels, plain.labels)
    np.testing.assert_allclose(windowed.probabilities, plain.probabilities, rtol=1e-4, atol=1e-5)
    assert windowed.labels.dtype == np.int64 and set(windowed.labels) <= {0, 1, 2}
    assert plain.n_forward_passes == 29 > windowed.n_forward_passes  # the first label is always 0
