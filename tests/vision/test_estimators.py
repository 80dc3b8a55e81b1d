"""Image clustering end to end: tiny random open_clip ViT + tiny random Llama."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone

from sklearn_icc import AttentionSpectralClustering, InContextClustering, in_context_clustering
from sklearn_icc.runtime import PromptTemplate
from sklearn_icc.vision import ImageEncoder, _imports


@pytest.fixture
def encoder(tiny_vit):
    return ImageEncoder(tiny_vit, pooling=3, projector="mlp")


def test_image_clustering_end_to_end(tiny_model, encoder, digit_images):
    images, _ = digit_images
    icc = InContextClustering(model=tiny_model, n_clusters=2, image_encoder=encoder).fit(images)
    assert icc.labels_.dtype == np.int64 and icc.labels_.shape == (12,)
    assert icc.labels_.min() >= 0 and icc.labels_.max() <= 1 and icc.labels_[0] == 0
    np.testing.assert_allclose(icc.label_probabilities_.sum(axis=1), 1.0)
    assert not hasattr(icc, "n_features_in_")
    details = in_context_clustering(images, 2, model=tiny_model, image_encoder=encoder, return_details=True)[2]
    prompt = details["prompts"][0]
    assert prompt.n_tokens == icc.n_prompt_tokens_ and len(prompt.embedded_positions) == 12 * 4
    # 4 embeddings per image (6x6 grid, 3x3 pooling) + "<image>" 7 + "</image>" 8 + ", " 2 characters.
    np.testing.assert_array_equal(np.diff(prompt.point_spans, axis=1).ravel()[1:-1], 4 + 7 + 8 + 2)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(icc)).labels_, icc.labels_)


def test_the_pixels_reach_the_llm(tiny_model, encoder, digit_images):
    images, _ = digit_images
    icc = InContextClustering(model=tiny_model, n_clusters=3, image_encoder=encoder)
    a = icc.fit(images).label_probabilities_
    b = clone(icc).fit(images).label_probabilities_
    inverted = clone(icc).fit([1.0 - image for image in images]).label_probabilities_
    np.testing.assert_allclose(a, b)
    assert not np.allclose(a, inverted)  # same prompt text, other pixels: other probabilities


def test_predict_labels_new_images_after_the_fitted_ones(tiny_model, encoder, digit_images):
    images, _ = digit_images
    icc = InContextClustering(2, model=tiny_model, image_encoder=encoder).fit(images[:8])
    labels = icc.predict(images[8:])
    proba = icc.predict_proba(images[8:])
    assert labels.dtype == np.int64 and labels.shape == (4,) and set(labels.tolist()) <= {0, 1}
    assert proba.shape == (4, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(proba.argmax(axis=1), labels)
    with pytest.raises(TypeError, match="mixes images and numbers"):
        icc.predict([images[0], [0.5, 0.5]])


def test_conditioned_image_clustering(tiny_model, encoder, digit_images):
    images, _ = digit_images
    plain = InContextClustering(2, model=tiny_model, image_encoder=encoder).fit(images)
    colour = InContextClustering(2, model=tiny_model, image_encoder=encoder, condition="colour").fit(images)
    assert colour.n_prompt_tokens_ == plain.n_prompt_tokens_ + len(" based on colour")
    assert colour.labels_.shape == (12,)


def test_attention_spectral_clustering_on_images(tiny_model, encoder, digit_images):
    images, _ = digit_images
    asc = AttentionSpectralClustering(2, model=tiny_model, layer=-1, random_state=0, image_encoder=encoder).fit(images)
    assert asc.labels_.shape == (12,) and asc.affinity_matrix_.shape == (12, 12)
    attn = AttentionSpectralClustering(
        2, model=tiny_model, layer=0, affinity="attention", random_state=0, image_encoder=encoder, condition="shape"
    ).fit(images)
    assert attn.labels_.dtype == np.int64


def test_n_orderings_permutes_images(tiny_model, encoder, digit_images):
    icc = InContextClustering(2, model=tiny_model, image_encoder=encoder, n_orderings=3, random_state=0).fit(digit_images[0])
    assert icc.labels_.shape == (12,) and icc.labels_.max() <= 1


def test_images_need_an_encoder(tiny_model, tmp_path, digit_images):
    with pytest.raises(ValueError, match="X holds images, but image_encoder is None"):
        InContextClustering(1, model=tiny_model).fit([tmp_path / "a.png", "b.jpg"])
    with pytest.raises(ValueError, match="X holds images, but image_encoder is None"):
        AttentionSpectralClustering(1, model=tiny_model).fit(list(digit_images[0]))


@pytest.mark.parametrize(
    "X, error, match",
    [
        ([], ValueError, "empty list of images"),
        ([np.zeros((8, 8)), [0.5, 0.5]], TypeError, "mixes images and numbers"),
        (np.zeros((4, 2)), TypeError, "X must be images"),
    ],
)
def test_bad_image_input_to_fit(tiny_model, encoder, X, error, match):
    with pytest.raises(error, match=match):
        InContextClustering(1, model=tiny_model, image_encoder=encoder).fit(X)


def test_estimator_errors_with_images(tiny_model, encoder, digit_images):
    images = digit_images[0][:4]
    with pytest.raises(ValueError, match="n_samples=4 should be >= n_clusters=5"):
        InContextClustering(5, model=tiny_model, image_encoder=encoder).fit(images)
    with pytest.raises(ValueError, match="decoding='constrained'"):
        InContextClustering(2, model=tiny_model, image_encoder=encoder, decoding="free").fit(images)
    template = PromptTemplate(system=None, instruction="{k} groups: {points}")
    with pytest.raises(ValueError, match="no \\{condition\\} field"):
        InContextClustering(2, model=tiny_model, image_encoder=encoder, prompt=template, condition="colour").fit(images)
    with pytest.raises(ValueError, match="do not fit in one prompt"):
        InContextClustering(2, model=tiny_model, image_encoder=encoder, chunk_size=2).fit(images)
    with pytest.raises(ValueError, match="pooling=4 does not divide"):
        InContextClustering(2, model=tiny_model, image_encoder=ImageEncoder(encoder.model, pooling=4)).fit(images)
    with pytest.raises(ValueError, match="image_encoder"):
        InContextClustering(2, model=tiny_model, image_encoder="ViT-B-16").fit(images)


def test_missing_extra_names_the_install_command(tiny_model, monkeypatch, digit_images):
    # Whatever is installed, a missing module makes the probe fail with the pip command.
    monkeypatch.setattr(_imports, "VISION_MODULES", _imports.VISION_MODULES + ("sklearn_icc_no_such_module",))
    _imports.is_vision_available.cache_clear()
    try:
        with pytest.raises(ImportError, match=r"pip install sklearn-icc\[vision\]"):
            InContextClustering(2, model=tiny_model, image_encoder=ImageEncoder(pooling=2)).fit(digit_images[0])
    finally:
        _imports.is_vision_available.cache_clear()


def test_real_photos_of_different_sizes(tiny_model, encoder):
    from sklearn.datasets import load_sample_images

    china, flower = load_sample_images().images  # 427x640 RGB photos
    photos = [china, flower, china[100:300, 200:500], flower[:200, :200], china[::2, ::2]]
    icc = InContextClustering(2, model=tiny_model, image_encoder=encoder, condition="colour").fit(photos)
    assert icc.labels_.shape == (5,) and set(icc.labels_.tolist()) <= {0, 1}
