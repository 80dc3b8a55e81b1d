"""The affinity model and its adapter folder: the mask, the loss, the files' checks, bad input."""

import json
import shutil

import numpy as np
import pytest

from sklearn_icc.runtime.model.affinity import (
    AffinitySpec,
    affinity_matrices,
    build_affinity_model,
    pad_episodes,
    pairwise_loss,
    point_inputs,
)
from sklearn_icc.runtime.model.affinity_files import (
    HEAD_FILE,
    LAYERS_FILE,
    compress_layers,
    load_affinity_model,
    read_affinity_config,
    save_affinity_adapter,
)

SPEC = AffinitySpec(n_layers=2, encoder_width=16, n_fourier=8, embedding_dim=8)


@pytest.fixture(scope="module")
def tiny_affinity(tiny_loaded):
    return build_affinity_model(tiny_loaded.model, tiny_loaded.tokenizer, SPEC, seed=0).eval()


@pytest.fixture()
def adapter_dir(tiny_loaded, tiny_affinity, tmp_path):
    import torch

    trained = build_affinity_model(tiny_loaded.model, tiny_loaded.tokenizer, SPEC, seed=0)
    base_layers = {k: v.clone() for k, v in trained.state_dict().items() if k.startswith("layers.")}
    with torch.no_grad():  # a "trained" change of every layer weight
        for name, param in trained.layers.named_parameters():
            param.add_(0.01 * torch.randn_like(param))
    save_affinity_adapter(tmp_path / "adapter", trained, base_layers, base={"name": "tiny", "fingerprint": None},
                          rank=64)
    return tmp_path / "adapter", trained


def test_points_are_one_set_without_order(tiny_affinity):
    import torch

    rng = np.random.default_rng(0)
    X = rng.normal(size=(7, 3))
    (A,) = affinity_matrices(tiny_affinity, [X])
    order = rng.permutation(7)
    (B,) = affinity_matrices(tiny_affinity, [X[order]])
    np.testing.assert_allclose(B, A[np.ix_(order, order)], atol=1e-5)
    assert np.allclose(A, A.T) and np.all(np.diag(A) == 0) and (A >= 0).all() and (A <= 1).all()
    # padding another episode beside it changes nothing
    (C, _) = affinity_matrices(tiny_affinity, [X, rng.normal(size=(12, 3))])
    np.testing.assert_allclose(C, A, atol=1e-5)
    mask = tiny_affinity.attention_mask(torch.tensor([[True, True, False]]))
    P = tiny_affinity.prefix_embeddings.shape[0]
    allowed = mask[0, 0] == 0
    assert allowed[P, P + 1] and allowed[P + 1, P] and not allowed[P, P + 2]  # both ways, not the padding
    assert not allowed[0, 1] and not allowed[0, P]  # the prefix is causal and never sees the points


def test_views_average_the_affinity_over_signed_feature_permutations(tiny_affinity):
    from dataclasses import replace

    from sklearn_icc.runtime.model.affinity_views import episode_views, signed_permutations

    rng = np.random.default_rng(3)
    X = rng.normal(size=(9, 3)) * [1.0, 5.0, 0.2]
    views = signed_permutations(3, 4)
    assert len({(tuple(o), tuple(s)) for o, s in views}) == 4 and views[0][0].tolist() == [0, 1, 2]
    assert all(sorted(o.tolist()) == [0, 1, 2] and set(s.tolist()) <= {1.0, -1.0} for o, s in views)
    assert len(signed_permutations(2, 100)) == 8  # all of them, no repeats
    parts = affinity_matrices(tiny_affinity, episode_views(X, 4), n_views=1)
    (mean,) = affinity_matrices(tiny_affinity, [X], n_views=4)
    np.testing.assert_allclose(mean, np.mean(parts, axis=0), atol=1e-6)
    assert not np.allclose(parts[0], parts[1], atol=1e-4)  # the views differ: there is something to average
    (again,) = affinity_matrices(tiny_affinity, [X], n_views=4)
    np.testing.assert_array_equal(again, mean)  # fixed views: deterministic
    (one,) = affinity_matrices(tiny_affinity, [X])
    np.testing.assert_allclose(one, parts[0], atol=1e-6)  # the spec's default: one view
    original = tiny_affinity.spec
    tiny_affinity.spec = replace(original, n_views=4)
    try:
        (from_spec,) = affinity_matrices(tiny_affinity, [X])
    finally:
        tiny_affinity.spec = original
    np.testing.assert_allclose(from_spec, mean, atol=1e-6)
    with pytest.raises(ValueError, match="n_views"):
        signed_permutations(3, 0)
    with pytest.raises(ValueError, match="n_views"):
        AffinitySpec(n_views=0)


def test_the_loss_is_lower_for_affinities_that_match_the_clusters(tiny_affinity):
    import torch

    labels = torch.tensor([[0, 0, 1, 1]])
    mask = torch.ones((1, 4), dtype=torch.bool)
    right = torch.nn.functional.normalize(torch.tensor([[[1.0, 0], [1, 0], [0, 1], [0, 1]]]), dim=-1)
    wrong = torch.nn.functional.normalize(torch.tensor([[[1.0, 0], [0, 1], [1, 0], [0, 1]]]), dim=-1)
    head = tiny_affinity.head
    assert pairwise_loss(head, right, labels, mask) < pairwise_loss(head, wrong, labels, mask)
    # padded points carry no loss
    padded = torch.cat([right, torch.zeros((1, 2, 2))], dim=1)
    labels_padded = torch.tensor([[0, 0, 1, 1, -1, -1]])
    mask_padded = torch.tensor([[True] * 4 + [False] * 2])
    assert torch.isclose(pairwise_loss(head, padded, labels_padded, mask_padded), pairwise_loss(head, right, labels, mask))


def test_more_features_than_the_encoder_takes_is_a_clear_error():
    with pytest.raises(ValueError, match="at most 4 features; X has 5.*PCA"):
        point_inputs(np.zeros((3, 5)), 4)
    points, labels, mask = pad_episodes([(np.ones((2, 1)), [0, 1]), (np.zeros((3, 2)), None)], 4)
    assert points.shape == (2, 3, 8) and mask.sum() == 5 and labels[1].tolist() == [-1, -1, -1]


def test_compression_keeps_rank_r(tiny_affinity):
    import torch

    base = {"w": torch.zeros((6, 4)), "n": torch.zeros(4)}
    trained = {"w": torch.outer(torch.arange(6.0), torch.ones(4)) + torch.outer(torch.ones(6), torch.arange(4.0)),
               "n": torch.ones(4)}
    full = compress_layers(trained, base, 2)
    assert full["w.u"].shape == (6, 2) and full["w.v"].shape == (2, 4)
    torch.testing.assert_close((full["w.u"].float() @ full["w.v"].float()), trained["w"], atol=1e-2, rtol=1e-2)
    assert torch.equal(full["n.delta"], trained["n"])


def test_a_saved_adapter_loads_back_to_the_trained_model(tiny_loaded, adapter_dir):
    folder, trained = adapter_dir
    loaded_model = load_affinity_model(folder, tiny_loaded)
    X = np.random.default_rng(1).normal(size=(6, 2))
    (A,) = affinity_matrices(trained.eval(), [X])
    (B,) = affinity_matrices(loaded_model, [X])
    np.testing.assert_allclose(A, B, atol=2e-3)  # float16 factors of the changes
    assert read_affinity_config(folder)["spec"] == SPEC.to_dict()


@pytest.mark.parametrize("damage, match", [
    (lambda f: (f / HEAD_FILE).unlink(), "missing affinity_head"),
    (lambda f: (f / LAYERS_FILE).write_bytes((f / LAYERS_FILE).read_bytes()[:-10]), "truncated or changed"),
    (lambda f: (f / "affinity_adapter.json").write_text("{not json"), "unreadable"),
    (lambda f: (f / "affinity_adapter.json").unlink(), "no adapter"),
])
def test_a_damaged_adapter_folder_is_refused(tiny_loaded, adapter_dir, damage, match):
    folder, _ = adapter_dir
    damage(folder)
    with pytest.raises(ValueError, match=match):
        load_affinity_model(folder, tiny_loaded)


def test_a_head_of_the_wrong_shape_is_refused(tiny_loaded, adapter_dir, tmp_path):
    from safetensors.torch import load_file, save_file

    from sklearn_icc.runtime.model.affinity_files import _sha256

    folder, _ = adapter_dir
    tensors = load_file(str(folder / HEAD_FILE))
    tensors["head.linear.weight"] = tensors["head.linear.weight"][:4].contiguous()
    save_file(tensors, str(folder / HEAD_FILE))
    config = json.loads((folder / "affinity_adapter.json").read_text())
    config["files"][HEAD_FILE] = {"bytes": (folder / HEAD_FILE).stat().st_size, "sha256": _sha256(folder / HEAD_FILE)}
    (folder / "affinity_adapter.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="projector or head missing or of the wrong shape"):
        load_affinity_model(folder, tiny_loaded)


def test_a_generation_adapter_is_no_affinity_adapter(tiny_loaded, tmp_path):
    (tmp_path / "adapter_config.json").write_text("{}")
    with pytest.raises(ValueError, match="generation \\(LoRA\\) adapter.*no affinity head"):
        load_affinity_model(tmp_path, tiny_loaded)


def test_an_affinity_adapter_is_no_generation_adapter(adapter_dir, tiny_model):
    from sklearn_icc import InContextClustering

    folder, _ = adapter_dir
    with pytest.raises(ValueError, match="is an affinity adapter.*InContextClustering"):
        InContextClustering(2, model=tiny_model, adapter=folder).fit(np.zeros((4, 2)) + np.arange(4)[:, None])


def test_an_adapter_for_another_base_model_is_refused(tiny_loaded, adapter_dir, tmp_path):
    folder, _ = adapter_dir
    copy = tmp_path / "other"
    shutil.copytree(folder, copy)
    config = json.loads((copy / "affinity_adapter.json").read_text())
    config["base_model"] = {"name": "another", "fingerprint": "0123456789abcdef"}
    (copy / "affinity_adapter.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="trained for the base model 'another'"):
        load_affinity_model(copy, tiny_loaded)


def test_the_verified_config_is_checked_again_when_a_file_changes(adapter_dir):
    from sklearn_icc.runtime.model.affinity_files import verified_affinity_config

    folder, _ = adapter_dir
    assert verified_affinity_config(folder)["spec"] == SPEC.to_dict()
    assert verified_affinity_config(folder) is verified_affinity_config(folder)  # cached
    (folder / LAYERS_FILE).write_bytes((folder / LAYERS_FILE).read_bytes()[:-10])
    with pytest.raises(ValueError, match="truncated or changed"):
        verified_affinity_config(folder)
