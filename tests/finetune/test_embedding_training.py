"""finetune(point_format="embedding"): the projector trains with the LoRA and serves both estimators."""

import json
import shutil

import numpy as np
import pytest
import torch

from sklearn_icc import AttentionSpectralClustering, InContextClustering, in_context_clustering_many
from sklearn_icc.datasets import EpisodeGrid
from sklearn_icc.finetune import LoraSettings, finetune
from sklearn_icc.finetune.embedding_training import PointEpisodeDataset, collate_point_examples
from sklearn_icc.runtime import clear_model_cache, load_model
from sklearn_icc.runtime.model.adapters import ADAPTER_CARD
from sklearn_icc.runtime.prompts.point_embeddings import POINT_PROJECTOR_FILE
from sklearn_icc.runtime.model.point_projector import PointProjector
from tests.finetune.test_training import quick as text_quick

GRID = EpisodeGrid(n_clusters=(2,), n_features=(1, 2), n_samples=(4, 6))
X = np.array([[0.0, 1.0], [0.1, 1.1], [5.0, 3.0], [5.2, 3.1], [0.05, 0.9], [5.1, 2.9]])


def quick(**kwargs):
    """The text tests' quick run (4 steps of 2 episodes), with point embeddings of up to 4 features."""
    return text_quick(**{"point_format": "embedding", "max_features": 4, **kwargs})


@pytest.fixture(scope="module")
def trained(tiny_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("embedding-adapter") / "run"
    icc = finetune(tiny_model, out, grid=GRID, lora=LoraSettings(r=2), training=quick(), progress=False)
    return out, icc


def test_the_projector_is_trained_and_saved_with_the_adapter_and_each_checkpoint(trained, tiny_model):
    out, icc = trained
    for folder in (out, out / "checkpoints" / "checkpoint-2", out / "checkpoints" / "checkpoint-4"):
        assert (folder / POINT_PROJECTOR_FILE).is_file(), folder
    saved = PointProjector.load(out / POINT_PROJECTOR_FILE, hidden_size=32)
    assert (saved.max_features, saved.tokens_per_point) == (4, 1)
    # It moved from where training started it (the token embeddings' scale, seed 0).
    start = PointProjector(32, 4).match_embedding_scale(load_model(tiny_model, device="cpu")
                                                        .model.get_input_embeddings().weight, seed=0)
    assert not torch.allclose(saved.linear.weight, start.linear.weight)
    card = json.loads((out / ADAPTER_CARD).read_text())
    assert card["point_format"] == "embedding" and card["training"]["max_features"] == 4
    assert [entry["step"] for entry in card["learning_curve"]] == [0, 2, 4]
    assert isinstance(icc, InContextClustering) and icc.point_format == "embedding" and icc.adapter == str(out)


def test_a_reloaded_adapter_fits_predicts_and_scores(trained, tiny_model):
    out, _ = trained
    clear_model_cache()
    icc = InContextClustering(2, model=tiny_model, adapter=str(out), point_format="embedding", device="cpu").fit(X)
    assert icc.labels_.dtype == np.int64 and icc.labels_.shape == (6,) and set(icc.labels_) <= {0, 1}
    assert icc.n_prompt_tokens_ < InContextClustering(2, model=tiny_model, device="cpu").fit(X).n_prompt_tokens_
    new = icc.predict(X[:3] + 0.01)
    assert new.dtype == np.int64 and set(new) <= {0, 1}
    assert icc.score(X[:3]) <= 0
    chunked = InContextClustering(2, model=tiny_model, adapter=str(out), point_format="embedding", chunk_size=3,
                                  device="cpu").fit(np.concatenate([X, X + 0.01]))
    assert chunked.labels_.shape == (12,) and set(chunked.labels_) <= {0, 1}
    assert chunked._fit_details["prompts"][0].n_points == 3  # the first chunk; the others follow its anchors


def test_the_projector_comes_with_the_cached_model(trained, tiny_model):
    out, _ = trained
    loaded = load_model(tiny_model, device="cpu", adapter=str(out))
    assert loaded.point_projector is not None and not loaded.point_projector.training
    assert load_model(tiny_model, device="cpu", adapter=str(out)).point_projector is loaded.point_projector


def test_attention_spectral_clustering_takes_the_adapter(trained, tiny_model):
    out, _ = trained
    asc = AttentionSpectralClustering(2, model=tiny_model, adapter=str(out), point_format="embedding", layer=-1,
                                      random_state=0, device="cpu").fit(X)
    assert asc.labels_.dtype == np.int64 and set(asc.labels_) <= {0, 1}
    assert asc.predict(X[:2]).shape == (2,)


def test_many_episodes_decode_one_at_a_time_with_the_labels_of_fit(trained, tiny_model):
    out, _ = trained
    rng = np.random.default_rng(0)
    X_list = [rng.normal(size=(n, 2)) for n in (5, 7, 4)]
    icc = InContextClustering(2, model=tiny_model, adapter=str(out), point_format="embedding", device="cpu")
    many = icc.fit_predict_many(X_list, batch_size=3)
    alone = [InContextClustering(2, model=tiny_model, adapter=str(out), point_format="embedding", device="cpu")
             .fit_predict(X) for X in X_list]
    for got, expected in zip(many, alone):
        np.testing.assert_array_equal(got, expected)
    labels, _ = in_context_clustering_many(X_list, 2, model=tiny_model, adapter=str(out), point_format="embedding",
                                           device="cpu", n_orderings=2, random_state=0)
    assert [len(row) for row in labels] == [5, 7, 4]


def test_without_a_trained_projector_the_estimators_refuse(trained, tiny_model, tmp_path):
    out, _ = trained
    with pytest.raises(ValueError, match=r"but no adapter is loaded\. Pass adapter= .*point_format='embedding'"):
        InContextClustering(2, model=tiny_model, point_format="embedding", device="cpu").fit(X)
    bare = tmp_path / "no-projector"
    shutil.copytree(out, bare, ignore=shutil.ignore_patterns("checkpoints", POINT_PROJECTOR_FILE))
    with pytest.raises(ValueError, match=f"has no {POINT_PROJECTOR_FILE}"):
        AttentionSpectralClustering(2, model=tiny_model, adapter=str(bare), point_format="embedding",
                                    device="cpu").fit(X)


def test_free_decoding_is_refused(trained, tiny_model):
    out, _ = trained
    with pytest.raises(ValueError, match="point_format='embedding' needs decoding='constrained'"):
        InContextClustering(2, model=tiny_model, adapter=str(out), point_format="embedding", decoding="free",
                            device="cpu").fit(X)


def test_more_features_than_trained_for_is_refused(trained, tiny_model):
    out, _ = trained
    with pytest.raises(ValueError, match="at most max_features=4 features"):
        InContextClustering(2, model=tiny_model, adapter=str(out), point_format="embedding",
                            device="cpu").fit(np.random.default_rng(0).normal(size=(6, 5)))
    with pytest.raises(ValueError, match="d=5 features, over TrainingSettings.max_features=4"):
        finetune(tiny_model, out.parent / "wide", grid=EpisodeGrid(n_clusters=(2,), n_features=(5,)),
                 training=quick(), progress=False)


def test_training_batches_carry_the_points_and_their_positions(tiny_loaded):
    dataset = PointEpisodeDataset(tiny_loaded, GRID, 4, quick(tokens_per_point=2), seed=0)
    items = [dataset[i] for i in range(2)]
    batch = collate_point_examples(items, pad_token_id=0)
    n_points = [len(item["point_features"]) for item in items]
    assert batch["point_features"].shape == (2, max(n_points), 8)
    assert batch["embedded_positions"].shape == (2, 2 * max(n_points))
    for row, item in enumerate(items):
        positions = batch["embedded_positions"][row]
        assert (positions >= 0).sum() == 2 * n_points[row] and (positions[2 * n_points[row]:] == -1).all()
        # The loss is on the answer only, after every embedding.
        answer = np.flatnonzero(np.asarray(item["labels"]) != -100)
        assert answer.min() > max(item["embedded_positions"])
    keys = dataset.length_keys()
    assert keys[:2] == [3 * n for n in n_points]


def test_resume_restores_the_projector_or_refuses(tiny_model, tmp_path):
    out = tmp_path / "run"
    finetune(tiny_model, out, grid=GRID, lora=LoraSettings(r=2), training=quick(eval_every=0), progress=False)
    final = PointProjector.load(out / POINT_PROJECTOR_FILE)
    # Cut short after step 2: resuming trains steps 3 and 4 from checkpoint-2's projector, to the same end.
    shutil.rmtree(out / "checkpoints" / "checkpoint-4")
    (out / POINT_PROJECTOR_FILE).unlink()
    finetune(tiny_model, out, grid=GRID, lora=LoraSettings(r=2), training=quick(eval_every=0), resume=True,
             progress=False)
    resumed = PointProjector.load(out / POINT_PROJECTOR_FILE)
    torch.testing.assert_close(resumed.linear.weight, final.linear.weight, rtol=1e-4, atol=1e-6)
    assert json.loads((out / ADAPTER_CARD).read_text())["resumed_from"].endswith("checkpoint-2")
    (out / "checkpoints" / "checkpoint-4" / POINT_PROJECTOR_FILE).unlink()
    with pytest.raises(ValueError, match="holds no point_projector.safetensors, so the trained projector would be lost"):
        finetune(tiny_model, out, grid=GRID, lora=LoraSettings(r=2), training=quick(eval_every=0, max_steps=6),
                 resume=True, progress=False)
