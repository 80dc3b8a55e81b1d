"""Fault injection on the converted-model cache, through the real GGUF conversion.

Each test writes a tiny Llama as a GGUF file (F32 tensors, a byte-level BPE tokenizer
and a chat template in its metadata) and converts it into a temporary cache.
"""

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest

from sklearn_icc.runtime import clear_model_cache, load_model
from sklearn_icc.runtime.model import cache as model_cache
from sklearn_icc.runtime.model.cache import MANIFEST, check_cache, converted_gguf_dir

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def build_tiny_gguf(path, seed=0, hidden=32, ff=64, layers=2, heads=4, kv_heads=2):
    """Write a tiny random Llama with its tokenizer as a GGUF file that transformers converts."""
    import gguf
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    from tests.conftest import CHAT_TEMPLATE

    rng = np.random.default_rng(seed)
    specials = ["<|im_start|>", "<|im_end|>"]
    byte_chars = [bytes_to_unicode()[b] for b in range(256)]
    tokens = specials + byte_chars + ["ĠĠ"]  # one merge, so that the BPE has a non-empty merge list
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("tiny-llama")
    writer.add_context_length(4096)
    writer.add_embedding_length(hidden)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(ff)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_rope_dimension_count(hidden // heads)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_freq_base(10000.0)
    writer.add_vocab_size(len(tokens))
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types([3] * len(specials) + [1] * (len(tokens) - len(specials)))  # 3: control
    writer.add_token_merges(["Ġ Ġ"])
    writer.add_bos_token_id(0)
    writer.add_eos_token_id(1)
    writer.add_pad_token_id(1)
    writer.add_chat_template(CHAT_TEMPLATE)

    def weight(name, *shape):
        writer.add_tensor(name, (rng.standard_normal(shape) * 0.02).astype(np.float32))

    head_dim = hidden // heads
    weight("token_embd.weight", len(tokens), hidden)
    for i in range(layers):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(hidden, np.float32))
        weight(f"blk.{i}.attn_q.weight", hidden, hidden)
        weight(f"blk.{i}.attn_k.weight", kv_heads * head_dim, hidden)
        weight(f"blk.{i}.attn_v.weight", kv_heads * head_dim, hidden)
        weight(f"blk.{i}.attn_output.weight", hidden, hidden)
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(hidden, np.float32))
        weight(f"blk.{i}.ffn_gate.weight", ff, hidden)
        weight(f"blk.{i}.ffn_up.weight", ff, hidden)
        weight(f"blk.{i}.ffn_down.weight", hidden, ff)
    writer.add_tensor("output_norm.weight", np.ones(hidden, np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory):
    return build_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny-llama.gguf")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv("SKLEARN_ICC_CACHE", str(root))
    clear_model_cache()
    yield root
    clear_model_cache()


@pytest.fixture
def conversions(monkeypatch):
    """Count the conversions this process runs."""
    calls = []
    real = model_cache._convert_gguf

    def counted(gguf_path, out_dir):
        calls.append(gguf_path)
        return real(gguf_path, out_dir)

    monkeypatch.setattr(model_cache, "_convert_gguf", counted)
    return calls


def labels_of(gguf_path):
    """Labels of a fixed episode: the model works, and identical copies agree."""
    from sklearn_icc.runtime import build_prompt, constrained_decode

    loaded = load_model(gguf_path, device="cpu")
    X = np.random.default_rng(0).normal(size=(8, 2))
    result = constrained_decode(loaded, build_prompt(X, 3, loaded.tokenizer), 3)
    assert result.labels.dtype == np.int64 and result.labels.shape == (8,)
    assert np.isfinite(result.probabilities).all()
    return result.labels


def only_folder(cache):
    folders = [p for p in (cache / "models").iterdir() if p.is_dir()]
    assert len(folders) == 1, folders
    return folders[0]


def test_first_load_converts_once_and_writes_a_manifest(tiny_gguf, cache, conversions):
    folder = converted_gguf_dir(tiny_gguf)
    assert check_cache(folder) is None
    manifest = json.loads((folder / MANIFEST).read_text())
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= set(manifest["files"])
    assert manifest["files"]["model.safetensors"]["size"] == (folder / "model.safetensors").stat().st_size
    assert converted_gguf_dir(tiny_gguf) == folder
    labels_of(tiny_gguf)
    assert len(conversions) == 1


def test_the_key_is_the_content_not_the_path(tiny_gguf, cache, tmp_path, conversions):
    copy = tmp_path / "elsewhere" / "renamed.gguf"
    copy.parent.mkdir()
    shutil.copy(tiny_gguf, copy)
    assert converted_gguf_dir(copy) == converted_gguf_dir(tiny_gguf)
    other = build_tiny_gguf(tmp_path / "other.gguf", seed=1)
    assert converted_gguf_dir(other) != converted_gguf_dir(tiny_gguf)
    assert len(conversions) == 2


def test_permissions_follow_the_umask(tiny_gguf, cache):
    old = os.umask(0o022)
    try:
        folder = converted_gguf_dir(tiny_gguf)
    finally:
        os.umask(old)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path.name


def _truncate(path):
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size // 2)


def _flip_middle(path):
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        handle.seek(size // 2)
        block = handle.read(64)
        handle.seek(size // 2)
        handle.write(bytes(255 - b for b in block))  # same size, different bytes


def _garbage(path):
    path.write_bytes(b"\x00garbage{" * 7)


FAULTS = {
    "truncated weights": ("model.safetensors", _truncate),
    "bytes changed mid-file": ("model.safetensors", _flip_middle),
    "deleted config": ("config.json", os.unlink),
    "garbage config": ("config.json", _garbage),
    "deleted tokenizer": ("tokenizer.json", os.unlink),
    "garbage tokenizer": ("tokenizer.json", _garbage),
    "deleted manifest": (MANIFEST, os.unlink),
    "garbage manifest": (MANIFEST, _garbage),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_broken_cache_is_never_loaded_and_is_rebuilt_with_a_warning(fault, tiny_gguf, cache, conversions):
    expected = labels_of(tiny_gguf)
    folder = only_folder(cache)
    name, damage = FAULTS[fault]
    damage(folder / name)
    assert check_cache(folder) is not None
    clear_model_cache()
    with pytest.warns(RuntimeWarning, match=f"{folder}.*failed its check.*rebuilding"):
        again = labels_of(tiny_gguf)
    np.testing.assert_array_equal(again, expected)
    assert check_cache(folder) is None and len(conversions) == 2
    assert only_folder(cache) == folder  # the broken copy is gone
    clear_model_cache()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        labels_of(tiny_gguf)  # healed: no warning, no conversion
    assert len(conversions) == 2


def test_a_folder_left_without_config_no_longer_crashes_the_rename(tiny_gguf, cache):
    """The old code renamed its work folder onto a non-empty target: 'Directory not empty', for good."""
    folder = converted_gguf_dir(tiny_gguf)
    (folder / "config.json").unlink()
    (folder / MANIFEST).unlink()
    with pytest.warns(RuntimeWarning, match="failed its check"):
        assert converted_gguf_dir(tiny_gguf) == folder
    assert check_cache(folder) is None


def test_stale_converting_folders_are_swept(tiny_gguf, cache):
    models = cache / "models"
    stale = models / ".converting-gguf-0000-abcd"
    stale.mkdir(parents=True)
    (stale / "model.safetensors").write_bytes(b"\x00" * 1000)
    folder = converted_gguf_dir(tiny_gguf)
    assert not stale.exists()
    # Also when the model is already converted: the next load sweeps them.
    stale.mkdir()
    assert converted_gguf_dir(tiny_gguf) == folder
    assert not stale.exists()


def test_a_failed_conversion_leaves_nothing_and_the_next_load_converts(tiny_gguf, cache, monkeypatch):
    def broken(gguf_path, out_dir):
        (out_dir / "model.safetensors").write_bytes(b"partial")
        raise ValueError("disk full")

    real = model_cache._convert_gguf
    monkeypatch.setattr(model_cache, "_convert_gguf", broken)
    with pytest.raises(ValueError, match="disk full"):
        converted_gguf_dir(tiny_gguf)
    assert [p.name for p in (cache / "models").iterdir() if p.is_dir()] == []
    monkeypatch.setattr(model_cache, "_convert_gguf", real)
    assert check_cache(converted_gguf_dir(tiny_gguf)) is None


# A child process that loads the model and prints one JSON line about it. With a
# ``pause`` it sleeps inside the conversion (after the real one), so that a second
# process meets the lock, or so that the test can kill it there.
CHILD = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import numpy as np
    from sklearn_icc.runtime.model import cache as model_cache
    from sklearn_icc.runtime import build_prompt, constrained_decode, load_model

    gguf, pause, ready = sys.argv[1], float(sys.argv[2]), Path(sys.argv[3])
    real = model_cache._convert_gguf
    converted = []

    def slow(gguf_path, out_dir):
        converted.append(1)
        real(gguf_path, out_dir)
        ready.write_text("converted")
        time.sleep(pause)

    model_cache._convert_gguf = slow
    started = time.time()
    loaded = load_model(gguf, device="cpu")
    finished = time.time()
    X = np.random.default_rng(0).normal(size=(8, 2))
    labels = constrained_decode(loaded, build_prompt(X, 3, loaded.tokenizer), 3).labels
    folder = str(model_cache.converted_gguf_dir(gguf))
    print(json.dumps({"converted": len(converted), "labels": labels.tolist(), "folder": folder,
                      "started": started, "finished": finished}))
    """
)


def _child(tiny_gguf, cache, pause, ready):
    env = dict(os.environ, SKLEARN_ICC_CACHE=str(cache), OMP_NUM_THREADS="1", PYTHONPATH=REPO)
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tiny_gguf), str(pause), str(ready)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO,
    )


def test_two_processes_on_an_empty_cache_convert_once(tiny_gguf, cache, tmp_path):
    first = _child(tiny_gguf, cache, 2.0, tmp_path / "first-ready")
    second = _child(tiny_gguf, cache, 2.0, tmp_path / "second-ready")
    outputs = []
    for child in (first, second):
        out, err = child.communicate(timeout=240)
        assert child.returncode == 0, err
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    converter, waiter = sorted(outputs, key=lambda o: -o["converted"])
    assert (converter["converted"], waiter["converted"]) == (1, 0)
    assert waiter["started"] < converter["finished"]  # it asked while the other was converting
    assert outputs[0]["labels"] == outputs[1]["labels"]
    assert outputs[0]["folder"] == outputs[1]["folder"]
    assert check_cache(outputs[0]["folder"]) is None


def test_a_conversion_killed_with_sigkill_is_rebuilt_by_the_next_load(tiny_gguf, cache, tmp_path, conversions):
    ready = tmp_path / "ready"
    child = _child(tiny_gguf, cache, 600.0, ready)
    deadline = time.monotonic() + 240
    while not ready.exists():
        assert child.poll() is None, child.communicate()[1]
        assert time.monotonic() < deadline, "the child never converted"
        time.sleep(0.1)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    child.communicate()
    models = cache / "models"
    assert [p.name for p in models.iterdir() if p.name.startswith(".converting-")]  # what it left
    assert not [p for p in models.iterdir() if p.is_dir() and not p.name.startswith(".")]  # nothing looks done
    labels_of(tiny_gguf)
    assert len(conversions) == 1
    assert [p.name for p in models.iterdir() if p.is_dir()] == [only_folder(cache).name]


def test_a_read_only_cache_still_loads_a_verified_model(tiny_gguf, cache, monkeypatch):
    import filelock

    folder = converted_gguf_dir(tiny_gguf)
    (cache / "models" / ".converting-gguf-leftover").mkdir()

    def refused(*args, **kwargs):  # another user's shared cache: no lock file can be made
        raise PermissionError(13, "Permission denied", str(cache / "models" / model_cache.LOCK_FILE))

    monkeypatch.setattr(filelock, "FileLock", refused)
    assert converted_gguf_dir(tiny_gguf) == folder
