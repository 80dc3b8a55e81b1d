import numpy as np
import pytest

from sklearn_icc import InContextClustering
from sklearn_icc.runtime import build_prompt, constrained_decode, load_model
from sklearn_icc.runtime.decoding.batching import batched_constrained_decode
from sklearn_icc.runtime.model.loading import load_model_uncached
from sklearn_icc.runtime.decoding.prefix_cache import (
    PrefixCache,
    clear_prefix_caches,
    prefix_cache_for,
    shared_prefix_length,
)


@pytest.fixture
def cache(tiny_loaded):
    clear_prefix_caches()
    yield prefix_cache_for(tiny_loaded.model)
    clear_prefix_caches()


def _points(seed, n=20):
    return np.random.default_rng(seed).normal(size=(n, 2))


def _fed_lengths(monkeypatch, loaded):
    """Record how many tokens each forward pass of the model's body is given."""
    body = loaded.model.model
    lengths = []
    original = body.forward

    def forward(*args, **kwargs):
        lengths.append(kwargs["input_ids"].shape[1])
        return original(*args, **kwargs)

    monkeypatch.setattr(body, "forward", forward)
    return lengths


def test_a_second_prompt_starts_from_the_shared_prefix(tiny_loaded, cache, monkeypatch):
    first, second = (build_prompt(_points(s), 3, tiny_loaded.tokenizer) for s in (0, 1))
    shared = shared_prefix_length(first)
    assert shared == first.point_spans[0, 0] and list(first.input_ids[:shared]) == list(second.input_ids[:shared])
    cold = constrained_decode(tiny_loaded, second, 3)  # a miss: stores the prefix
    assert (cache.hits, cache.misses, len(cache.entries)) == (0, 1, 1)
    lengths = _fed_lengths(monkeypatch, tiny_loaded)
    warm = constrained_decode(tiny_loaded, second, 3)
    assert cache.hits == 1
    # the rest of the prompt, the opening bracket, then 16 labels and separators
    assert lengths[0] == len(second.input_ids) - shared + 1 + 3 * 16
    np.testing.assert_array_equal(warm.labels, cold.labels)
    np.testing.assert_allclose(warm.probabilities, cold.probabilities, atol=1e-5)
    # and what one label per pass gives without any stored prefix
    clear_prefix_caches()
    monkeypatch.setattr(cache, "store", lambda ids, kv: None)
    plain = constrained_decode(tiny_loaded, second, 3, window=1)
    np.testing.assert_array_equal(warm.labels, plain.labels)


def test_decoding_leaves_the_stored_tensors_unchanged(tiny_loaded, cache):
    prompt = build_prompt(_points(2), 3, tiny_loaded.tokenizer)
    constrained_decode(tiny_loaded, prompt, 3)
    (layers, _), = cache.entries.values()
    before = [(k.clone(), v.clone()) for k, v in layers]
    for seed in (3, 4):
        constrained_decode(tiny_loaded, build_prompt(_points(seed), 3, tiny_loaded.tokenizer), 3)
    assert cache.hits == 2
    for (k, v), (k0, v0) in zip(layers, before):
        assert k.shape == k0.shape and bool((k == k0).all()) and bool((v == v0).all())


def test_another_instruction_is_not_a_hit(tiny_loaded, cache):
    constrained_decode(tiny_loaded, build_prompt(_points(0), 3, tiny_loaded.tokenizer), 3)
    other = build_prompt(_points(0), 4, tiny_loaded.tokenizer)
    assert cache.lookup(other.input_ids, tiny_loaded.model.config) == (0, None)
    conditioned = build_prompt(_points(0), 3, tiny_loaded.tokenizer, condition="size")
    assert cache.lookup(conditioned.input_ids, tiny_loaded.model.config) == (0, None)


def test_anchors_are_shared_by_the_prompts_that_follow_them(tiny_loaded, cache):
    anchors, forced = _points(5, n=8), np.array([0, 1, 0, 2, 1, 0, 2, 2])
    prompts = [build_prompt(np.concatenate([anchors, _points(s, n=6)]), 3, tiny_loaded.tokenizer) for s in (6, 7)]
    results = [constrained_decode(tiny_loaded, prompt, 3, forced_labels=forced) for prompt in prompts]
    shared = shared_prefix_length(prompts[1], n_forced=8)
    assert shared == prompts[1].point_spans[8, 0]
    assert max(len(key) for key in cache.entries) == shared and cache.hits == 1
    clear_prefix_caches()
    alone = constrained_decode(tiny_loaded, prompts[1], 3, forced_labels=forced, window=1)
    np.testing.assert_array_equal(results[1].labels, alone.labels)
    np.testing.assert_allclose(results[1].probabilities, alone.probabilities, atol=1e-5)


def test_batched_prompts_start_from_the_shared_prefix(tiny_loaded, cache):
    prompts = [build_prompt(_points(s, n=10 + s), 3, tiny_loaded.tokenizer) for s in range(4)]
    batched = batched_constrained_decode(tiny_loaded, prompts, 3, batch_size=4, prefill="apart")
    assert cache.hits == 3  # the first row stored the prefix
    for prompt, result in zip(prompts, batched):
        alone = constrained_decode(tiny_loaded, prompt, 3, window=1)
        np.testing.assert_array_equal(result.labels, alone.labels)


def test_a_chunked_fit_reuses_its_anchors(tiny_model, monkeypatch):
    cache = prefix_cache_for(load_model(tiny_model, device="cpu").model)  # the estimator's model
    cache.clear()
    X = _points(8, n=40)
    labels = InContextClustering(3, model=tiny_model, chunk_size=10, random_state=0).fit(X).labels_
    assert cache.hits >= 2  # the chunks after the second start from the anchors
    clear_prefix_caches()
    monkeypatch.setattr(cache, "max_bytes", 0)  # nothing can be stored: every prompt from scratch
    again = InContextClustering(3, model=tiny_model, chunk_size=10, random_state=0).fit(X).labels_
    assert cache.hits == 0
    np.testing.assert_array_equal(labels, again)


def test_models_under_training_keep_no_prefixes(tiny_model, tiny_loaded):
    assert prefix_cache_for(load_model_uncached(tiny_model, device="cpu").model) is None
    tiny_loaded.model.train()
    try:
        assert prefix_cache_for(tiny_loaded.model) is None
    finally:
        tiny_loaded.model.eval()
    assert prefix_cache_for(tiny_loaded.model) is not None


def test_least_recently_used_entries_leave_first(tiny_loaded):
    import torch
    from transformers import DynamicCache

    def kv(n):
        return DynamicCache(ddp_cache_data=[(torch.zeros(1, 1, n, 4), torch.zeros(1, 1, n, 4))])

    cache = PrefixCache(max_bytes=2 * (2 * 40 * 4 * 4))  # two entries of 40 tokens
    for start in (0, 100, 200):
        cache.store(range(start, start + 40), kv(40))
    assert [key[0] for key in cache.entries] == [100, 200]
    assert cache.lookup(list(range(100, 150)), None)[0] == 40
    cache.store(range(300, 340), kv(40))  # 200 was used least recently
    assert [key[0] for key in cache.entries] == [100, 300]
    cache.store(range(5), kv(5))  # too short to be worth it
    cache.store(range(500, 600), kv(100))  # bigger than the whole cache
    assert len(cache.entries) == 2
    assert cache.lookup(list(range(100, 140)), None) == (0, None)  # a hit must leave a token to feed
