"""Model faults become clear errors: NaN weights, and a device out of memory."""

import numpy as np
import pytest
import torch

from sklearn_icc import AttentionSpectralClustering, InContextClustering
from sklearn_icc.runtime import build_prompt, constrained_decode, free_decode, load_model
from sklearn_icc.runtime.decoding.batching import batched_constrained_decode
from sklearn_icc.runtime.capture.points import capture_points
from sklearn_icc.runtime.model.faults import (
    DeviceOutOfMemoryError,
    NonFiniteOutputError,
    check_finite,
    out_of_memory_advice,
)

X = np.random.default_rng(0).normal(size=(6, 2))


@pytest.fixture(scope="module")
def nan_model_dir(tmp_path_factory):
    """A tiny Llama folder whose embedding (tied to the output layer) is all NaN: corrupt weights."""
    from transformers import LlamaForCausalLM

    from tests.conftest import build_tiny_model_dir

    folder = build_tiny_model_dir(tmp_path_factory.mktemp("nan-llama"))
    model = LlamaForCausalLM.from_pretrained(folder)
    with torch.no_grad():
        model.get_input_embeddings().weight.fill_(float("nan"))
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def nan_loaded(nan_model_dir):
    return load_model(nan_model_dir, device="cpu")


def test_nan_weights_stop_constrained_decoding(nan_loaded, nan_model_dir):
    prompt = build_prompt(X, 2, nan_loaded.tokenizer)
    with pytest.raises(NonFiniteOutputError, match=r"non-finite label logits.*corrupt.*float16") as info:
        constrained_decode(nan_loaded, prompt, 2)
    assert nan_model_dir in str(info.value)  # names where the model came from
    with pytest.raises(NonFiniteOutputError, match="non-finite label logits"):
        batched_constrained_decode(nan_loaded, [prompt, prompt], 2)
    with pytest.raises(NonFiniteOutputError, match="non-finite next-token logits"):
        free_decode(nan_loaded, prompt, 2)


@pytest.mark.parametrize("attention, hidden, what", [(True, False, "attention weights"), (False, True, "hidden states")])
def test_nan_weights_stop_capture(nan_loaded, attention, hidden, what):
    prompt = build_prompt(X, 2, nan_loaded.tokenizer)
    with pytest.raises(NonFiniteOutputError, match=f"non-finite {what} of layer 1"):
        capture_points(nan_loaded, prompt, [1], attention=attention, hidden=hidden)


@pytest.mark.parametrize(
    "estimator",
    [
        lambda model: InContextClustering(model=model, n_clusters=2, device="cpu"),
        lambda model: InContextClustering(model=model, n_clusters=2, device="cpu", decoding="free"),
        lambda model: AttentionSpectralClustering(model=model, n_clusters=2, device="cpu", layer=1, affinity="hidden"),
        lambda model: AttentionSpectralClustering(model=model, n_clusters=2, device="cpu", layer=1, affinity="attention"),
    ],
)
def test_nan_weights_stop_both_estimators(nan_model_dir, estimator):
    with pytest.raises(NonFiniteOutputError, match="non-finite"):
        estimator(nan_model_dir).fit(X)


def test_finite_values_pass_and_inf_is_caught(tiny_loaded):
    values = torch.ones(3)
    assert check_finite(values, "logits", tiny_loaded.model) is values
    with pytest.raises(NonFiniteOutputError, match="non-finite logits"):
        check_finite(torch.tensor([1.0, float("inf")]), "logits", tiny_loaded.model)


@pytest.fixture
def out_of_memory(tiny_model, monkeypatch):
    """Every forward pass of the tiny model's body raises a CUDA out-of-memory error.

    The patched copy is the one the process cache holds now, which the estimators get.
    """
    loaded = load_model(tiny_model, device="cpu")

    def forward(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(loaded.model.model, "forward", forward)
    return loaded


ADVICE = r"ran out of memory.*Tried to allocate 2.00 GiB.*chunk_size.*batch_size.*bfloat16"


def test_out_of_memory_in_decoding_and_capture_gives_advice(out_of_memory):
    prompt = build_prompt(X, 2, out_of_memory.tokenizer)
    with pytest.raises(DeviceOutOfMemoryError, match=ADVICE) as info:
        constrained_decode(out_of_memory, prompt, 2)
    assert isinstance(info.value.__cause__, torch.cuda.OutOfMemoryError)
    with pytest.raises(DeviceOutOfMemoryError, match=ADVICE):
        batched_constrained_decode(out_of_memory, [prompt, prompt], 2)
    with pytest.raises(DeviceOutOfMemoryError, match=ADVICE):
        capture_points(out_of_memory, prompt, [0])
    with pytest.raises(DeviceOutOfMemoryError, match=ADVICE):
        free_decode(out_of_memory, prompt, 2)


def test_out_of_memory_in_a_fit_gives_advice(out_of_memory, tiny_model):
    with pytest.raises(DeviceOutOfMemoryError, match=ADVICE):
        InContextClustering(model=tiny_model, n_clusters=2, device="cpu").fit(X)
    with pytest.raises(DeviceOutOfMemoryError, match=ADVICE):
        AttentionSpectralClustering(model=tiny_model, n_clusters=2, device="cpu", layer=1).fit(X)


def test_other_errors_pass_through(tiny_loaded):
    with pytest.raises(RuntimeError, match="shape mismatch"):
        with out_of_memory_advice(tiny_loaded.model):
            raise RuntimeError("shape mismatch")
    with pytest.raises(DeviceOutOfMemoryError, match="MPS backend out of memory"):
        with out_of_memory_advice(tiny_loaded.model):
            raise RuntimeError("MPS backend out of memory (MPS allocated: 1 GB)")
