import numpy as np
import pytest

from sklearn_icc.runtime import build_prompt, constrained_decode
from sklearn_icc.runtime.decoding.batching import batched_constrained_decode

SIZES = [5, 30, 12, 1, 25, 40, 8]
CLUSTERS = [2, 3, 4, 1, 3, 5, 2]


@pytest.fixture(scope="module")
def prompts(tiny_loaded):
    rng = np.random.default_rng(0)
    return [build_prompt(rng.normal(size=(n, 3)), k, tiny_loaded.tokenizer) for n, k in zip(SIZES, CLUSTERS)]


@pytest.fixture(scope="module")
def alone(tiny_loaded, prompts):
    return [constrained_decode(tiny_loaded, p, k) for p, k in zip(prompts, CLUSTERS)]


def assert_same(alone, batched):
    assert len(alone) == len(batched)
    for a, b in zip(alone, batched):
        np.testing.assert_array_equal(a.labels, b.labels)
        assert b.labels.dtype == np.int64
        np.testing.assert_allclose(a.probabilities, b.probabilities, atol=1e-5)
        assert a.n_forward_passes == b.n_forward_passes


@pytest.mark.parametrize("batch_size", [1, 3, 7])
@pytest.mark.parametrize("prefill", ["padded", "apart"])
def test_batches_give_the_labels_of_one_prompt_at_a_time(tiny_loaded, prompts, alone, batch_size, prefill):
    batched = batched_constrained_decode(tiny_loaded, prompts, CLUSTERS, batch_size=batch_size, prefill=prefill)
    assert_same(alone, batched)
    assert all(r.prefill_seconds >= 0 and r.decode_seconds >= 0 for r in batched)


def test_window_one_batches_the_same_as_alone(tiny_loaded, prompts):
    alone = [constrained_decode(tiny_loaded, p, k, window=1) for p, k in zip(prompts, CLUSTERS)]
    assert_same(alone, batched_constrained_decode(tiny_loaded, prompts, CLUSTERS, batch_size=4, window=1))


def test_sampled_labels_follow_each_prompts_seed(tiny_loaded, prompts):
    seeds = list(range(10, 10 + len(prompts)))
    alone = [constrained_decode(tiny_loaded, p, k, temperature=5.0, seed=s) for p, k, s in zip(prompts, CLUSTERS, seeds)]
    batched = batched_constrained_decode(tiny_loaded, prompts, CLUSTERS, batch_size=4, temperature=5.0, seeds=seeds)
    assert_same(alone, batched)
    assert any(len(set(r.labels.tolist())) > 2 for r in batched)  # sampling does use more clusters


def test_one_n_clusters_for_all_prompts(tiny_loaded, prompts):
    alone = [constrained_decode(tiny_loaded, p, 3) for p in prompts[:3]]
    assert_same(alone, batched_constrained_decode(tiny_loaded, prompts[:3], 3, batch_size=2))


def test_bad_arguments(tiny_loaded, prompts):
    with pytest.raises(ValueError, match="batch_size=0 should be >= 1"):
        batched_constrained_decode(tiny_loaded, prompts, 3, batch_size=0)
    with pytest.raises(ValueError, match="they should match"):
        batched_constrained_decode(tiny_loaded, prompts, [2, 3])
    with pytest.raises(ValueError, match="prefill must be"):
        batched_constrained_decode(tiny_loaded, prompts, 3, prefill="sometimes")
    with pytest.raises(ValueError, match="n_clusters=101 is above"):
        batched_constrained_decode(tiny_loaded, prompts, 101)


def test_a_prompt_over_the_context_window_is_refused(tiny_loaded, prompts):
    huge = build_prompt(np.zeros((300, 3)), 2, tiny_loaded.tokenizer)
    with pytest.raises(ValueError, match="over the model's context window"):
        batched_constrained_decode(tiny_loaded, [prompts[0], huge], 2)
