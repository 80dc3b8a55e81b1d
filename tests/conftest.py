"""Shared fixtures: a tiny random Llama (and a Gemma 3) with a character-level tokenizer, built offline."""

import string

import pytest

CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + "
    "'<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIAL_TOKENS = ["<unk>", "<|im_start|>", "<|im_end|>"]


def build_char_tokenizer():
    """A fast tokenizer with one token per character, so every digit is its own token."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    chars = sorted(set(string.printable))
    vocab = {token: i for i, token in enumerate(SPECIAL_TOKENS + chars)}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    backend.decoder = decoders.Fuse()
    backend.add_special_tokens(SPECIAL_TOKENS)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="<unk>",
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<|im_end|>",
        chat_template=CHAT_TEMPLATE,
    )


def build_tiny_model_dir(path, max_position_embeddings=4096, seed=0, initializer_range=0.02):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = build_char_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=max_position_embeddings,
        tie_word_embeddings=True,
        initializer_range=initializer_range,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


def build_tiny_gemma_dir(path, sliding_window=512, seed=0):
    """A tiny random Gemma 3: a sliding-window attention layer (``sliding_window``) beside a full one."""
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    tokenizer = build_char_tokenizer()
    config = Gemma3TextConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=1, head_dim=8, sliding_window=sliding_window,
        layer_types=["sliding_attention", "full_attention"], max_position_embeddings=4096,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    Gemma3ForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


def assert_matches_record(result, record, case, exact):
    """``result`` (keys ``case/name``) equals the recorded arrays of ``case``: exactly for
    the keys ``exact(key)`` names (labels), to float32 rounding for the rest."""
    import numpy as np

    assert sorted(result) == sorted(key for key in record if key.startswith(f"{case}/"))
    for key, value in result.items():
        if exact(key):
            np.testing.assert_array_equal(value, record[key], err_msg=key)
        else:
            # float32 passes split differently (other windows, a stored prefix) round differently
            np.testing.assert_allclose(value, record[key], rtol=1e-4, atol=1e-5, err_msg=key)


def record_partition_sizes(monkeypatch, module):
    """Wrap ``module.conditioned_partition`` so that each call appends how many rows it
    partitioned to the returned list (the call itself is unchanged)."""
    seen = []
    real = module.conditioned_partition

    def spy(states, *args, **kwargs):
        seen.append(len(next(iter(states.values()))))
        return real(states, *args, **kwargs)

    monkeypatch.setattr(module, "conditioned_partition", spy)
    return seen


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """Path of a local Hugging Face folder holding a tiny random Llama."""
    return build_tiny_model_dir(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def tiny_loaded(tiny_model):
    from sklearn_icc.runtime import load_model

    return load_model(tiny_model, device="cpu")


@pytest.fixture(autouse=True, scope="session")
def _offline():
    """No test may reach a hub, and downloads stay off whatever the caller's environment says."""
    mp = pytest.MonkeyPatch()
    mp.setenv("HF_HUB_OFFLINE", "1")
    mp.setenv("TRANSFORMERS_OFFLINE", "1")
    mp.delenv("SKLEARN_ICC_ALLOW_DOWNLOAD", raising=False)
    yield
    mp.undo()
