import json
import shutil
import warnings

import numpy as np
import pytest

from sklearn_icc import AttentionSpectralClustering, InContextClustering
from sklearn_icc.datasets import EpisodeGrid
from sklearn_icc.finetune import LoraSettings, TrainingSettings, finetune
from sklearn_icc.finetune.training import last_complete_checkpoint
from sklearn_icc.runtime import clear_model_cache, load_model
from sklearn_icc.runtime.model.adapters import ADAPTER_CARD

# k=1: every answer is "[0, 0, ...]", a task a tiny model learns in a few steps.
TRIVIAL = EpisodeGrid(n_clusters=(1,), n_features=(1,), n_samples=(3, 6))
SMALL = EpisodeGrid(n_clusters=(2,), n_features=(1,), n_samples=(4, 6))


def quick(**kwargs):
    settings = dict(max_steps=4, batch_size=2, micro_batch_size=2, eval_every=2, n_eval_episodes=2,
                    save_every=2, device="cpu", learning_rate=1e-2)
    settings.update(kwargs)
    return TrainingSettings(**settings)


@pytest.fixture(scope="module")
def trained(tiny_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("adapter") / "run"
    icc = finetune(tiny_model, out, grid=SMALL, lora=LoraSettings(r=4), training=quick(), progress=False)
    return out, icc


def test_a_few_steps_lower_the_loss_on_a_trivial_task(tmp_path):
    from tests.conftest import build_tiny_model_dir

    # A larger init than the default 0.02: a 32-wide model's logits can then move.
    model = build_tiny_model_dir(tmp_path / "model", initializer_range=0.5)
    finetune(model, tmp_path / "a", grid=TRIVIAL, lora=LoraSettings(r=8, alpha=16),
             training=quick(max_steps=12, learning_rate=3e-2, eval_every=0), progress=False)
    card = json.loads((tmp_path / "a" / ADAPTER_CARD).read_text())
    losses = [entry["loss"] for entry in card["train_losses"]]
    assert card["steps"] == 12 and len(losses) == 12
    assert losses[-1] < 0.5 * losses[0]


def test_adapter_directory_has_peft_files_card_and_curve(trained, tiny_model):
    out, icc = trained
    for name in ("adapter_config.json", "adapter_model.safetensors", ADAPTER_CARD, "README.md", "learning_curve.csv"):
        assert (out / name).is_file(), name
    card = json.loads((out / ADAPTER_CARD).read_text())
    assert card["steps"] == 4 and card["episodes"] == 8
    assert card["lora"]["r"] == 4 and card["training"]["learning_rate"] == 1e-2
    assert card["grid"]["n_clusters"] == [2]
    assert [entry["step"] for entry in card["learning_curve"]] == [0, 2, 4]
    assert all(0 <= entry["heldout_accuracy"] <= 1 for entry in card["learning_curve"])
    assert card["tokens_per_second"] > 0
    assert isinstance(icc, InContextClustering)
    assert icc.adapter == str(out) and icc.model == tiny_model and icc.point_format == "compact"


def test_adapter_serves_through_both_estimators(trained, tiny_model):
    out, icc = trained
    X = np.array([[0.0], [0.1], [5.0], [5.2], [0.05]])
    labels = icc.set_params(n_clusters=2).fit(X).labels_
    assert labels.dtype == np.int64 and labels.shape == (5,) and set(labels) <= {0, 1}
    asc = AttentionSpectralClustering(2, model=tiny_model, adapter=str(out), layer=-1, random_state=0).fit(X)
    assert asc.labels_.shape == (5,)


def test_merged_adapter_equals_peft_model(trained, tiny_model):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    out, _ = trained
    clear_model_cache()
    merged = load_model(tiny_model, device="cpu", adapter=str(out))
    base = load_model(tiny_model, device="cpu")
    peft = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model), str(out)).eval()
    ids = torch.as_tensor([merged.tokenizer.encode("Cluster [1.0, 2.0]")])
    with torch.no_grad():
        want = peft(input_ids=ids).logits
        got = merged.model(input_ids=ids).logits
        plain = base.model(input_ids=ids).logits
    assert torch.allclose(got, want, atol=1e-4)
    assert not torch.allclose(plain, want, atol=1e-4)  # training changed the model


def test_adapter_for_another_base_model_is_refused(trained, tmp_path):
    from tests.conftest import build_tiny_model_dir

    out, _ = trained
    other = build_tiny_model_dir(tmp_path / "other", seed=1)
    with pytest.raises(ValueError, match="was trained for the base model"):
        load_model(other, device="cpu", adapter=str(out))


def test_bad_adapter_paths(tiny_model, tmp_path):
    with pytest.raises(ValueError, match="is not an adapter directory"):
        load_model(tiny_model, device="cpu", adapter=str(tmp_path))
    with pytest.raises(ValueError, match="is not an adapter directory"):
        InContextClustering(2, model=tiny_model, adapter=str(tmp_path / "missing")).fit(np.eye(3))


def test_existing_output_directory_needs_overwrite(trained, tiny_model):
    out, _ = trained
    with pytest.raises(ValueError, match="exists and is not empty"):
        finetune(tiny_model, out, grid=SMALL, training=quick(), progress=False)


def test_overwrite_replaces_the_directory(tiny_model, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    finetune(tiny_model, out, grid=SMALL, lora=LoraSettings(r=2), training=quick(max_steps=1, eval_every=0),
             overwrite=True, progress=False)
    assert not (out / "stale.txt").exists() and (out / "adapter_config.json").is_file()


def test_unknown_target_module_is_named(tiny_model, tmp_path):
    with pytest.raises(ValueError, match=r"\['query'\] are not linear layers"):
        finetune(tiny_model, tmp_path / "x", grid=SMALL, lora=LoraSettings(target_modules=("query",)),
                 training=quick(), progress=False)


def test_wrong_setting_types_are_refused(tiny_model, tmp_path):
    with pytest.raises(TypeError, match="lora must be a LoraSettings"):
        finetune(tiny_model, tmp_path / "x", lora={"r": 8})


@pytest.mark.parametrize("cut", ["deleted", "truncated"])
def test_interrupted_run_resumes_from_last_complete_checkpoint(tiny_model, tmp_path, cut):
    out = tmp_path / "run"
    finetune(tiny_model, out, grid=SMALL, lora=LoraSettings(r=2), training=quick(eval_every=0), progress=False)
    checkpoints = out / "checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir()) == ["checkpoint-2", "checkpoint-4"]
    # Interrupted while writing step 4: its trainer state is missing or cut short, the adapter is not written.
    state = checkpoints / "checkpoint-4" / "trainer_state.json"
    if cut == "deleted":
        state.unlink()
    else:
        state.write_text(state.read_text()[:40])
    for name in ("adapter_model.safetensors", "adapter_config.json", ADAPTER_CARD):
        (out / name).unlink()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert last_complete_checkpoint(checkpoints).endswith("checkpoint-2")
    assert sum("checkpoint-4 is incomplete" in str(w.message) for w in caught) == (cut == "truncated")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        finetune(tiny_model, out, grid=SMALL, lora=LoraSettings(r=2), training=quick(eval_every=0), resume=True,
                 progress=False)
    card = json.loads((out / ADAPTER_CARD).read_text())
    assert card["steps"] == 4 and card["resumed_from"].endswith("checkpoint-2")
    shutil.rmtree(out)


def test_a_truncated_trainer_state_is_skipped_with_a_warning(tmp_path):
    for step, text in ((2, '{"global_step": 2}'), (4, '{"global_step": 4}'), (6, '{"global_st')):
        (tmp_path / f"checkpoint-{step}").mkdir()
        (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text(text)
    with pytest.warns(RuntimeWarning, match=r"checkpoint-6 is incomplete \(trainer_state.json is unreadable"):
        assert last_complete_checkpoint(tmp_path) == str(tmp_path / "checkpoint-4")
    (tmp_path / "checkpoint-4" / "trainer_state.json").write_bytes(b"\xff\xfe")
    with pytest.warns(RuntimeWarning) as record:
        assert last_complete_checkpoint(tmp_path) == str(tmp_path / "checkpoint-2")
    assert ["checkpoint-6 is incomplete" in str(w.message) for w in record] == [True, False]
    assert "checkpoint-4 is incomplete" in str(record[1].message)


def test_default_adapter_is_named_when_not_shipped(monkeypatch, tmp_path):
    from sklearn_icc.runtime.model import adapters

    monkeypatch.setattr(adapters, "SHIPPED_ADAPTERS_DIR", tmp_path)
    with pytest.raises(ValueError, match="ships no default adapter"):
        adapters.resolve_adapter("default")
    (tmp_path / "default").mkdir()
    (tmp_path / "default" / "adapter_config.json").write_text("{}")
    assert adapters.resolve_adapter("default") == str(tmp_path / "default")
