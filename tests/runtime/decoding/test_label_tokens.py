import numpy as np
import pytest

from sklearn_icc.runtime import AnswerFormat, build_prompt, canonical_labels, constrained_decode
from sklearn_icc.runtime.decoding.batching import batched_constrained_decode
from sklearn_icc.runtime.decoding.label_tokens import answer_tokens, branch_nodes, label_log_probabilities, label_trie

# Token ids stand for the characters of a one-token-per-digit tokenizer: 0..9 are digits, 99 ends a label.
DIGITS = {str(d): d for d in range(10)}
END = 99


def sequences(k):
    return [tuple(DIGITS[c] for c in str(label)) for label in range(k)]


def test_trie_branches_where_a_label_can_go_on():
    children = label_trie(sequences(13), END)
    assert children[()] == list(range(10))
    assert children[(1,)] == [END, 0, 1, 2]  # "1", "10", "11", "12"
    assert children[(2,)] == [END]  # "2" can only end: "20" is not allowed
    assert branch_nodes(children) == [(1,)]
    assert branch_nodes(label_trie(sequences(5), END)) == []


@pytest.mark.parametrize("k", [1, 7, 10, 11, 23, 50])
def test_label_probabilities_sum_to_one_and_are_the_product_along_the_path(k):
    rng = np.random.default_rng(k)
    columns = {token: token for token in range(100)}
    children = label_trie(sequences(k), END)
    node_logits = {node: rng.normal(size=100) for node in children}
    p = np.exp(label_log_probabilities(sequences(k), END, children, node_logits, columns))
    assert p.shape == (k,)
    np.testing.assert_allclose(p.sum(), 1.0)
    if k == 23:
        def step(node, token):
            kids = children[node]
            z = np.exp(node_logits[node][kids])
            return z[kids.index(token)] / z.sum()
        # "2" ends at a branch ("20".."22" go on); "15" continues below "1" and then ends.
        np.testing.assert_allclose(p[2], step((), 2) * step((2,), END))
        np.testing.assert_allclose(p[15], step((), 1) * step((1,), 5))
        np.testing.assert_allclose(p[7], step((), 7))


def test_layout_of_labels_of_two_tokens(tiny_loaded):
    layout = answer_tokens(tiny_loaded, 20)
    tok = tiny_loaded.tokenizer
    assert not layout.single_token
    assert layout.labels[12] == tuple(tok.encode("12", add_special_tokens=False))
    # The worst canonical answer: labels 0..19 first, then 19 again; its tokens are counted.
    worst = list(range(20)) + [19] * 10
    n_tokens = len(tok.encode(AnswerFormat().render(worst), add_special_tokens=False)) + 1
    assert layout.n_answer_tokens(30) == n_tokens
    assert set(layout.end_ids) <= set(layout.score_ids)


@pytest.fixture(scope="module")
def prompt(tiny_loaded):
    return build_prompt(np.random.default_rng(5).normal(size=(20, 2)), 13, tiny_loaded.tokenizer)


def reference_row(loaded, ids, allowed, end_id):
    """Label probabilities from full forward passes without a cache, one per trie node."""
    import torch

    seqs = loaded.label_sequences[:allowed]
    children = label_trie(seqs, end_id)
    with torch.inference_mode():
        logits = {
            node: loaded.model(torch.as_tensor([ids + list(node)])).logits[0, -1].double().numpy()
            for node, kids in children.items()
            if len(kids) > 1
        }
    p = np.ones(allowed)
    for label, seq in enumerate(seqs):
        path = tuple(seq) + (end_id,)
        for depth, token in enumerate(path):
            kids = children[path[:depth]]
            if len(kids) > 1:
                z = np.exp(logits[path[:depth]][kids] - logits[path[:depth]][kids].max())
                p[label] *= z[kids.index(token)] / z.sum()
    return p


@pytest.mark.parametrize("k", [13, 23])
def test_labels_of_two_tokens_match_full_passes_without_a_cache(tiny_loaded, k):
    # Clusters 0..k-2 open: at k=13 label 12 ("1", "2") is allowed next; at k=23 the
    # nodes "1" and "2" both branch, scored as siblings in one pass.
    n = k + 7
    prompt = build_prompt(np.random.default_rng(k).normal(size=(n, 2)), k, tiny_loaded.tokenizer)
    forced = list(range(k - 1))
    result = constrained_decode(tiny_loaded, prompt, k, forced_labels=forced)
    labels = result.labels
    np.testing.assert_array_equal(labels[: k - 1], forced)
    assert labels.dtype == np.int64 and labels.min() >= 0 and labels.max() <= k - 1
    np.testing.assert_array_equal(labels, canonical_labels(labels))
    assert result.n_forward_passes == n - (k - 1)  # one pass per decoded label
    layout = answer_tokens(tiny_loaded, k)
    sep, close = layout.end_ids
    ids = list(prompt.input_ids) + list(layout.open)
    for i in range(k - 1):
        ids += list(layout.labels[labels[i]]) + list(layout.separator)
    for i in range(k - 1, n):
        allowed = min(k, labels[:i].max() + 2)
        expected = reference_row(tiny_loaded, ids, allowed, sep if i < n - 1 else close)
        np.testing.assert_allclose(result.probabilities[i, :allowed], expected, atol=1e-5)
        assert (result.probabilities[i, allowed:] == 0).all()
        assert expected[labels[i]] >= expected.max() - 1e-6  # greedy: the most probable label
        ids += list(layout.labels[labels[i]]) + list(layout.separator)
    np.testing.assert_allclose(result.probabilities.sum(axis=1), 1.0)


def test_sampling_opens_labels_of_two_tokens(tiny_loaded):
    prompt = build_prompt(np.random.default_rng(6).normal(size=(40, 1)), 20, tiny_loaded.tokenizer)
    forced = list(range(9))
    a = constrained_decode(tiny_loaded, prompt, 20, temperature=50.0, seed=1, forced_labels=forced)
    b = constrained_decode(tiny_loaded, prompt, 20, temperature=50.0, seed=1, forced_labels=forced)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.labels.max() >= 10  # a random model at high temperature opens many clusters
    assert a.labels.max() <= 19 and a.labels.dtype == np.int64
    np.testing.assert_array_equal(a.labels, canonical_labels(a.labels))
    assert a.probabilities.shape == (40, 20)
    np.testing.assert_allclose(a.probabilities.sum(axis=1), 1.0)


def test_batches_with_labels_of_two_tokens_equal_one_prompt_at_a_time(tiny_loaded, prompt):
    small = build_prompt(np.random.default_rng(7).normal(size=(9, 2)), 3, tiny_loaded.tokenizer)
    prompts, ks = [prompt, small, prompt], [13, 3, 20]
    seeds = [3, 4, 5]
    alone = [constrained_decode(tiny_loaded, p, k, temperature=30.0, seed=s) for p, k, s in zip(prompts, ks, seeds)]
    batched = batched_constrained_decode(tiny_loaded, prompts, ks, batch_size=2, temperature=30.0, seeds=seeds)
    for a, b in zip(alone, batched):
        np.testing.assert_array_equal(a.labels, b.labels)
        np.testing.assert_allclose(a.probabilities, b.probabilities, atol=1e-5)
