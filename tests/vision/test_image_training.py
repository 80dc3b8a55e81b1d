"""finetune_images: the projector and LoRA train, the encoder stays frozen, the result round-trips."""

import json

import numpy as np
import pytest

from sklearn_icc import InContextClustering
from sklearn_icc.finetune import LoraSettings, TrainingSettings, finetune_images
from sklearn_icc.finetune.image_training import PROJECTOR_FILE, image_training_inputs
from sklearn_icc.runtime.model.adapters import ADAPTER_CARD
from sklearn_icc.vision import ImageEncoder, ImageEpisodes

RED, BLUE = np.zeros((8, 8, 3)), np.zeros((8, 8, 3))
RED[..., 0], BLUE[..., 2] = 1.0, 1.0
COLOURS = [RED] * 6 + [BLUE] * 6
COLOUR_LABELS = ["red"] * 6 + ["blue"] * 6


def quick(**kwargs):
    settings = dict(max_steps=3, batch_size=2, micro_batch_size=2, eval_every=0, n_eval_episodes=2,
                    device="cpu", learning_rate=1e-2)
    settings.update(kwargs)
    return TrainingSettings(**settings)


@pytest.fixture
def encoder(tiny_vit):
    return ImageEncoder(tiny_vit, pooling=3, projector="mlp")


@pytest.fixture(scope="module")
def episodes():
    return ImageEpisodes(COLOURS, COLOUR_LABELS, n_clusters=(2,), n_samples=(4, 6))


def test_projector_and_lora_train_while_the_encoder_stays_frozen(tiny_model, encoder, episodes, tmp_path):
    from safetensors.torch import load_file

    from sklearn_icc.vision.encoder import tower_for
    from sklearn_icc.vision.projector import ImageProjector, build_projector

    tower = tower_for(encoder, "cpu")
    before = {name: value.clone() for name, value in tower.visual.state_dict().items()}
    icc = finetune_images(tiny_model, tmp_path / "a", images=episodes, image_encoder=encoder,
                          heldout=episodes, lora=LoraSettings(r=4), training=quick(eval_every=3), progress=False)
    for name, value in tower_for(encoder, "cpu").visual.state_dict().items():
        assert value.equal(before[name]), name
    assert not any(p.requires_grad and p.grad is not None for p in tower.visual.parameters())
    trained = ImageProjector.load(tmp_path / "a" / PROJECTOR_FILE)
    start = build_projector(encoder, trained.in_features, trained.out_features)
    for (name, a), b in zip(trained.state_dict().items(), start.state_dict().values()):
        assert not a.equal(b), name
    lora_b = {k: v for k, v in load_file(tmp_path / "a" / "adapter_model.safetensors").items() if "lora_B" in k}
    assert lora_b and all(v.abs().max() > 0 for v in lora_b.values())  # LoRA B starts at zero
    card = json.loads((tmp_path / "a" / ADAPTER_CARD).read_text())
    assert card["kind"] == "images" and card["steps"] == 3 and len(card["train_losses"]) == 3
    assert card["image_encoder"]["model"] == encoder.model and card["image_encoder"]["pooling"] == 3
    assert card["image_encoder"]["projector_weights"] == PROJECTOR_FILE
    assert card["images"]["conditions"] == {"None": ["blue", "red"]}
    assert [entry["step"] for entry in card["learning_curve"]] == [0, 3]
    assert all(0 <= entry["heldout_accuracy"] <= 1 for entry in card["learning_curve"])
    assert isinstance(icc, InContextClustering)


def test_a_few_steps_lower_the_loss_on_solid_colours(tmp_path, encoder, episodes):
    from tests.conftest import build_tiny_model_dir

    model = build_tiny_model_dir(tmp_path / "model", initializer_range=0.5)
    finetune_images(model, tmp_path / "a", images=episodes, image_encoder=encoder, lora=LoraSettings(r=8, alpha=16),
                    training=quick(max_steps=12, learning_rate=3e-2), progress=False)
    losses = [entry["loss"] for entry in json.loads((tmp_path / "a" / ADAPTER_CARD).read_text())["train_losses"]]
    assert len(losses) == 12 and losses[-1] < 0.5 * losses[0], losses


def test_the_returned_estimator_uses_the_saved_adapter_and_projector(tiny_model, encoder, episodes, tmp_path):
    import torch
    from peft import PeftModel

    from sklearn_icc.runtime import constrained_decode
    from sklearn_icc.runtime.model.loading import load_model_uncached
    from sklearn_icc.runtime.spec import PromptSpec
    from sklearn_icc.vision import ImageProjector, image_features

    out = tmp_path / "a"
    icc = finetune_images(tiny_model, out, images=episodes, image_encoder=encoder, lora=LoraSettings(r=4),
                          training=quick(), progress=False)
    assert icc.adapter == str(out) and icc.model == tiny_model
    assert icc.image_encoder.projector_weights == str(out / PROJECTOR_FILE)
    card = json.loads((out / ADAPTER_CARD).read_text())
    saved = ImageEncoder(**{**card["image_encoder"], "projector_weights": str(out / PROJECTOR_FILE)})
    assert saved == icc.image_encoder
    fitted = icc.set_params(n_clusters=2).fit(COLOURS)
    # The same episode by hand: the unmerged peft adapter and the projector file.
    loaded = load_model_uncached(tiny_model, device="cpu", dtype="float32")
    loaded.model = PeftModel.from_pretrained(loaded.model, str(out)).eval().get_base_model()  # LoRA unmerged
    with torch.no_grad():
        embeddings = ImageProjector.load(out / PROJECTOR_FILE)(image_features(COLOURS, encoder))
    prompt = PromptSpec.from_params("paper", image_encoder=encoder).build(embeddings, 2, loaded)
    expected = constrained_decode(loaded, prompt, 2)
    np.testing.assert_array_equal(fitted.labels_, expected.labels)
    np.testing.assert_allclose(fitted.label_probabilities_, expected.probabilities, atol=1e-4)
    base = InContextClustering(model=tiny_model, n_clusters=2, image_encoder=encoder).fit(COLOURS)
    assert not np.allclose(base.label_probabilities_, fitted.label_probabilities_, atol=1e-4)


def test_conditioned_episodes_put_the_condition_in_the_prompt(tiny_loaded, encoder):
    from sklearn_icc.finetune.examples import IGNORE_INDEX, end_of_turn_id
    from sklearn_icc.finetune.image_training import frozen_features
    from sklearn_icc.runtime.prompts.templates import resolve_template
    from sklearn_icc.vision.projector import build_projector

    shapes = ["round", "square"] * 6
    episodes = ImageEpisodes(COLOURS, {"colour": COLOUR_LABELS, "shape": shapes}, n_clusters=(2,), n_samples=(4, 6))
    features = frozen_features(episodes, encoder, "cpu")
    projector = build_projector(encoder, features.shape[-1], tiny_loaded.model.get_input_embeddings().embedding_dim)
    settings = quick()
    for index in range(6):
        inputs = image_training_inputs(tiny_loaded, projector, features, episodes, index,
                                       template=resolve_template("paper"),
                                       eot_id=end_of_turn_id(tiny_loaded.tokenizer), settings=settings)
        indices, y, condition = episodes.episode(index, seed=settings.seed)
        labels = inputs["labels"][0]
        answer = tiny_loaded.tokenizer.decode(labels[labels != IGNORE_INDEX])
        assert answer.startswith("[" + ", ".join(str(v) for v in _canonical(y)) + "]")
        assert inputs["inputs_embeds"].requires_grad
        prompt_text = _prompt_text(tiny_loaded, episodes, index, settings, encoder, projector, features)
        assert f"based on {condition}" in prompt_text


def _canonical(y):
    from sklearn_icc.runtime.decoding.constrained import canonical_labels

    return canonical_labels(y)


def _prompt_text(loaded, episodes, index, settings, encoder, projector, features):
    from sklearn_icc.runtime.prompts.embedded import build_embedded_prompt
    from sklearn_icc.runtime.prompts.templates import resolve_template
    from sklearn_icc.vision import IMAGE_MARKERS

    indices, y, condition = episodes.episode(index, seed=settings.seed)
    prompt = build_embedded_prompt(projector(features[indices]), int(y.max()) + 1, loaded.tokenizer,
                                   template=resolve_template("paper"), condition=condition, markers=IMAGE_MARKERS)
    return prompt.text


def test_bad_arguments(tiny_model, encoder, episodes, tmp_path):
    with pytest.raises(TypeError, match="images must be ImageEpisodes"):
        finetune_images(tiny_model, tmp_path / "a", images=COLOURS, image_encoder=encoder)
    with pytest.raises(TypeError, match="image_encoder must be ImageEncoder"):
        finetune_images(tiny_model, tmp_path / "a", images=episodes, image_encoder="ViT-B-16")
    with pytest.raises(TypeError, match="heldout must be"):
        finetune_images(tiny_model, tmp_path / "a", images=episodes, image_encoder=encoder, heldout=COLOURS)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x").write_text("x")
    with pytest.raises(ValueError, match="exists and is not empty"):
        finetune_images(tiny_model, tmp_path / "b", images=episodes, image_encoder=encoder)


def test_frozen_features_are_the_encoders_in_chunks(encoder, monkeypatch):
    from sklearn_icc.finetune import image_training
    from sklearn_icc.vision import image_features

    monkeypatch.setattr(image_training, "FEATURE_CHUNK", 5)
    episodes = ImageEpisodes(COLOURS, COLOUR_LABELS)
    features = image_training.frozen_features(episodes, encoder, "cpu")
    np.testing.assert_allclose(features.numpy(), image_features(COLOURS, encoder).numpy(), atol=1e-5)
    assert not features.is_inference() and not features.requires_grad
