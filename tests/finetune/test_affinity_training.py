"""Affinity training on the tiny model: the loop, checkpoints and resume, the export, the settings."""

import json

import numpy as np
import pytest

from sklearn_icc.datasets import EpisodeGrid
from sklearn_icc.finetune import AffinitySettings, export_affinity_adapter, train_affinity
from sklearn_icc.finetune.affinity_training import CHECKPOINTS, learning_rate_factor, load_newest_checkpoint
from sklearn_icc.runtime.model.affinity import AffinitySpec

TINY_SPEC = AffinitySpec(n_layers=2, encoder_width=16, n_fourier=8, embedding_dim=8)
GRID = EpisodeGrid(n_clusters=(2, 3), n_features=(1, 2), n_samples=(5, 8))


def _settings(**changes):
    values = dict(spec=TINY_SPEC, n_episodes=8, batch_size=2, eval_every=2, n_eval_episodes=2, save_every=2,
                  warmup_steps=1)
    values.update(changes)
    return AffinitySettings(**values)


@pytest.fixture(scope="module")
def tiny_run(tiny_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("affinity-run")
    run = train_affinity(tiny_model, out, settings=_settings(), grid=GRID, overwrite=True, progress=False)
    return out, run


def test_a_run_writes_its_curve_state_and_checkpoints(tiny_run):
    out, run = tiny_run
    assert run["steps"] == 4 and run["episodes"] == 8
    assert [entry["step"] for entry in run["learning_curve"]] == [0, 2, 4]
    assert all(0 <= entry["acc_df1"] <= 1 for entry in run["learning_curve"])
    assert json.loads((out / "run.json").read_text())["steps"] == 4
    assert (out / "final_state.pt").is_file()
    assert sorted(p.name for p in (out / CHECKPOINTS).glob("step-*.pt")) == ["step-2.pt", "step-4.pt"]


def test_the_run_is_deterministic_and_resumes_to_the_same_state(tiny_model, tiny_run, tmp_path):
    import shutil

    import torch

    out, _ = tiny_run
    first = torch.load(out / "final_state.pt")
    fresh = tmp_path / "fresh"
    train_affinity(tiny_model, fresh, settings=_settings(), grid=GRID, progress=False)
    assert all(torch.equal(first[name], value) for name, value in torch.load(fresh / "final_state.pt").items())
    # Cut the run back to its step-2 checkpoint and resume: the same episodes, the same state.
    cut = tmp_path / "cut"
    shutil.copytree(out, cut)
    (cut / CHECKPOINTS / "step-4.pt").unlink()
    (cut / "final_state.pt").unlink()
    resumed = train_affinity(tiny_model, cut, settings=_settings(), grid=GRID, resume=True, progress=False)
    assert resumed["resumed"] and resumed["steps"] == 4
    assert [entry["step"] for entry in resumed["learning_curve"]] == [0, 2, 4]
    second = torch.load(cut / "final_state.pt")
    assert first.keys() == second.keys()
    assert all(torch.allclose(first[name], second[name], atol=1e-6) for name in first)


def test_stop_step_cuts_the_run_short_on_the_same_schedule(tiny_model, tmp_path):
    import torch

    run = train_affinity(tiny_model, tmp_path / "cut", settings=_settings(stop_step=2), grid=GRID, progress=False)
    assert run["steps"] == 2 and [entry["step"] for entry in run["learning_curve"]] == [0, 2]
    assert run["settings"]["n_episodes"] == 8  # the schedule still spans 4 steps
    state = torch.load(tmp_path / "cut" / "final_state.pt")
    assert all(torch.isfinite(value).all() for value in state.values())


def test_a_truncated_checkpoint_is_skipped_for_the_one_before(tiny_run, tmp_path):
    import shutil

    out, _ = tiny_run
    folder = tmp_path / CHECKPOINTS
    shutil.copytree(out / CHECKPOINTS, folder)
    newest = folder / "step-4.pt"
    newest.write_bytes(newest.read_bytes()[:100])
    with pytest.warns(RuntimeWarning, match="does not load"):
        assert load_newest_checkpoint(folder)["step"] == 2


def test_export_writes_a_verified_adapter_that_clusters(tiny_model, tiny_run, tmp_path):
    from sklearn_icc import AttentionSpectralClustering

    out, _ = tiny_run
    config = export_affinity_adapter(out, tmp_path / "adapter", rank=4, model=tiny_model)
    assert config["rank"] == 4 and config["card"]["run"]["steps"] == 4
    X = np.array([[0.0, 0.1], [5.0, 5.1], [0.1, 0.0], [5.1, 5.0], [0.2, 0.1]])
    asc = AttentionSpectralClustering(2, model=tiny_model, adapter=tmp_path / "adapter", random_state=0).fit(X)
    assert asc.adapter_ == str((tmp_path / "adapter").resolve())
    assert asc.labels_.dtype == np.int64 and set(asc.labels_) <= {0, 1} and asc.layer_ == 1
    assert asc.affinity_matrix_.shape == (5, 5) and np.allclose(asc.affinity_matrix_, asc.affinity_matrix_.T)
    assert asc.predict([[5.0, 5.0], [0.0, 0.0]]).shape == (2,)
    assert config["spec"]["n_views"] == 1  # the run's own: one view


def test_export_records_the_test_time_views_and_the_fit_averages_them(tiny_model, tiny_run, tmp_path):
    from sklearn_icc import AttentionSpectralClustering
    from sklearn_icc.runtime import load_model
    from sklearn_icc.runtime.capture.learned import learned_affinities

    out, _ = tiny_run
    config = export_affinity_adapter(out, tmp_path / "views", rank=4, model=tiny_model, n_views=3)
    assert config["spec"]["n_views"] == 3
    X = np.array([[0.0, 0.1], [5.0, 5.1], [0.1, 0.0], [5.1, 5.0], [0.2, 0.1]])
    asc = AttentionSpectralClustering(2, model=tiny_model, adapter=tmp_path / "views", random_state=0).fit(X)
    loaded = load_model(tiny_model)
    (one,) = learned_affinities([X], tmp_path / "views", loaded, n_views=1)
    (three,) = learned_affinities([X], tmp_path / "views", loaded, n_views=3)
    np.testing.assert_allclose(asc.affinity_matrix_, three, atol=1e-6)  # the fit reads the card's 3 views
    assert not np.allclose(three, one, atol=1e-5)
    with pytest.raises(ValueError, match="n_views"):
        export_affinity_adapter(out, tmp_path / "bad", rank=4, model=tiny_model, n_views=0)


def test_the_schedule_warms_up_then_decays_to_zero():
    settings = _settings(n_episodes=20, warmup_steps=2)  # 10 steps
    factors = [learning_rate_factor(step, settings) for step in range(10)]
    assert factors[0] == 0.5 and factors[1] == 1.0 and factors[2] == 1.0
    assert all(a >= b for a, b in zip(factors[2:], factors[3:])) and factors[-1] < 0.05
    constant = _settings(n_episodes=20, warmup_steps=2, scheduler="constant")
    assert learning_rate_factor(9, constant) == 1.0


@pytest.mark.parametrize("changes, match", [
    ({"n_episodes": 0}, "n_episodes"),
    ({"scheduler": "linear"}, "scheduler"),
    ({"new_learning_rate": 0.0}, "new_learning_rate"),
    ({"threads": 0}, "threads"),
])
def test_bad_settings_are_named(changes, match):
    with pytest.raises(ValueError, match=match):
        _settings(**changes)


def test_bad_spec_and_grid_are_refused(tiny_model, tmp_path):
    with pytest.raises(ValueError, match="n_fourier"):
        AffinitySpec(n_fourier=3)
    with pytest.raises(TypeError, match="AffinitySpec"):
        AffinitySettings(spec={"n_layers": 2})
    with pytest.raises(ValueError, match="max_features"):
        train_affinity(tiny_model, tmp_path / "x", settings=_settings(spec=AffinitySpec(n_layers=2, max_features=1)),
                       grid=GRID, progress=False)
    with pytest.raises(ValueError, match="exceeds"):
        train_affinity(tiny_model, tmp_path / "y", settings=_settings(spec=AffinitySpec(n_layers=5)), grid=GRID,
                       progress=False)


def test_lora_trains_only_low_rank_changes_resumes_and_exports_merged(tiny_model, tmp_path):
    import shutil

    import torch

    from sklearn_icc.finetune.affinity_export import trained_affinity_model

    out = tmp_path / "lora"
    run = train_affinity(tiny_model, out, settings=_settings(lora_rank=2), grid=GRID, progress=False)
    assert run["settings"]["lora_rank"] == 2
    state = torch.load(out / "final_state.pt")
    assert not any("parametrizations" in name for name in state)  # merged into plain weights
    net, base_layers, _ = trained_affinity_model(out, tiny_model, spec=TINY_SPEC)
    trained = net.state_dict()
    deltas = [trained[name] - base for name, base in base_layers.items() if base.ndim == 2]
    assert any(delta.abs().max() > 0 for delta in deltas)
    assert all(torch.linalg.matrix_rank(delta.double(), atol=1e-6) <= 2 for delta in deltas)
    norms = [name for name, base in base_layers.items() if base.ndim == 1]
    assert norms and all(torch.equal(trained[name], base_layers[name]) for name in norms)  # frozen
    # Resume from the step-2 checkpoint: the same merged state.
    cut = tmp_path / "cut"
    shutil.copytree(out, cut)
    (cut / CHECKPOINTS / "step-4.pt").unlink()
    (cut / "final_state.pt").unlink()
    train_affinity(tiny_model, cut, settings=_settings(lora_rank=2), grid=GRID, resume=True, progress=False)
    again = torch.load(cut / "final_state.pt")
    assert all(torch.allclose(state[name], again[name], atol=1e-6) for name in state)
    with pytest.raises(ValueError, match="lora_rank"):
        _settings(lora_rank=0)


def test_causal_point_attention_depends_on_the_order_bidirectional_does_not(tiny_model):
    import torch

    from sklearn_icc.runtime.model.affinity import affinity_matrices, build_affinity_model
    from sklearn_icc.runtime.model.loading import load_model_uncached

    loaded = load_model_uncached(tiny_model, device="cpu", dtype="float32")
    X = np.random.default_rng(0).normal(size=(6, 2))
    order = np.array([3, 1, 5, 0, 2, 4])
    for attention, invariant in (("bidirectional", True), ("causal", False)):
        spec = AffinitySpec(n_layers=2, encoder_width=16, n_fourier=8, embedding_dim=8, point_attention=attention)
        torch.manual_seed(0)
        net = build_affinity_model(loaded.model, loaded.tokenizer, spec).eval()
        A, B = affinity_matrices(net, [X, X[order]])
        assert np.allclose(A[np.ix_(order, order)], B, atol=1e-5) is invariant
    with pytest.raises(ValueError, match="point_attention"):
        AffinitySpec(point_attention="sideways")
