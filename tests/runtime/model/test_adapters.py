"""LoRA adapters at inference: the files a card records are verified, and the shipped namer is whole."""

import json
import shutil

import pytest

from sklearn_icc.runtime.model import adapters


def _adapter_with_record(folder):
    folder.mkdir()
    (folder / "adapter_config.json").write_text("{}")
    (folder / "adapter_model.safetensors").write_bytes(b"weights" * 100)
    files = {name: {"bytes": (folder / name).stat().st_size, "sha256": adapters._sha256(folder / name)}
             for name in ("adapter_config.json", "adapter_model.safetensors")}
    (folder / adapters.ADAPTER_CARD).write_text(json.dumps({"files": files}))
    return folder


def test_recorded_files_are_verified(tmp_path):
    folder = _adapter_with_record(tmp_path / "a")
    adapters.check_adapter_files(folder)  # whole: no error
    with open(folder / "adapter_model.safetensors", "r+b") as handle:
        handle.truncate(10)
    with pytest.raises(ValueError, match="adapter_model.safetensors in .* is truncated or changed"):
        adapters.check_adapter_files(folder)
    other = _adapter_with_record(tmp_path / "b")
    (other / "adapter_model.safetensors").write_bytes(b"Weights" * 100)  # same size, other bytes
    with pytest.raises(ValueError, match="truncated or changed"):
        adapters.check_adapter_files(other)
    (other / "adapter_model.safetensors").unlink()
    with pytest.raises(ValueError, match="is missing adapter_model.safetensors"):
        adapters.check_adapter_files(other)


def test_a_card_without_a_record_checks_nothing(tmp_path):
    (tmp_path / "adapter_config.json").write_text("{}")
    adapters.check_adapter_files(tmp_path)
    (tmp_path / adapters.ADAPTER_CARD).write_text(json.dumps({"base_model": {"name": "x"}}))
    adapters.check_adapter_files(tmp_path)


def test_the_shipped_namer_is_whole_and_for_the_default_model(tmp_path):
    folder = adapters.shipped_namer()
    assert folder is not None
    card = adapters.read_adapter_card(folder)
    assert card["base_model"]["model"] == "default" and set(card["files"]) == {
        "adapter_model.safetensors", "adapter_config.json"}
    adapters.check_adapter_files(folder)
    copy = tmp_path / "namer"
    shutil.copytree(folder, copy)
    with open(copy / "adapter_model.safetensors", "r+b") as handle:
        handle.truncate(1000)
    with pytest.raises(ValueError, match="Reinstall sklearn-icc"):
        adapters.check_adapter_files(copy)


def test_merging_a_damaged_adapter_is_refused_before_peft_reads_it(tmp_path):
    folder = _adapter_with_record(tmp_path / "a")
    (folder / "adapter_model.safetensors").write_bytes(b"x")
    with pytest.raises(ValueError, match="truncated or changed"):
        adapters.merge_adapter(object(), folder, "some-model")


def test_shipped_adapters_live_in_the_package_adapters_folder():
    from sklearn_icc.runtime.model.affinity_files import SHIPPED_AFFINITY_DIR

    assert adapters.SHIPPED_ADAPTERS_DIR == SHIPPED_AFFINITY_DIR.parent
    assert adapters.SHIPPED_NAMER_DIR.parent == adapters.SHIPPED_READER_DIR.parent == adapters.SHIPPED_ADAPTERS_DIR
