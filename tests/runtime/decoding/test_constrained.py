import numpy as np
import pytest

from sklearn_icc.runtime import build_prompt, canonical_labels, constrained_decode, free_decode, parse_label_list
from sklearn_icc.runtime.decoding.constrained import answer_tokens, propose_labels


@pytest.fixture
def prompt(tiny_loaded):
    X = np.random.default_rng(1).normal(size=(25, 2))
    return build_prompt(X, 3, tiny_loaded.tokenizer)


def test_constrained_decoding_gives_one_canonical_label_per_point(tiny_loaded, prompt):
    result = constrained_decode(tiny_loaded, prompt, 3)
    labels = result.labels
    assert labels.dtype == np.int64 and labels.shape == (25,)
    assert labels.min() >= 0 and labels.max() <= 2
    np.testing.assert_array_equal(labels, canonical_labels(labels))
    assert result.probabilities.shape == (25, 3)
    np.testing.assert_allclose(result.probabilities.sum(axis=1), 1.0)
    assert result.probabilities[0, 0] == 1.0  # the first point can only open cluster 0
    # The chosen label is the most probable allowed one (greedy).
    np.testing.assert_array_equal(result.probabilities.argmax(axis=1), labels)


def test_constrained_decoding_is_deterministic(tiny_loaded, prompt):
    first = constrained_decode(tiny_loaded, prompt, 3).labels
    second = constrained_decode(tiny_loaded, prompt, 3).labels
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("window", [2, 5, 16, 64])
def test_window_verification_matches_one_label_per_pass(tiny_loaded, prompt, window):
    plain = constrained_decode(tiny_loaded, prompt, 3, window=1)
    fast = constrained_decode(tiny_loaded, prompt, 3, window=window)
    np.testing.assert_array_equal(plain.labels, fast.labels)
    np.testing.assert_allclose(plain.probabilities, fast.probabilities, atol=1e-4)
    assert plain.n_forward_passes == 24  # the first label is always 0: no pass of its own
    assert fast.n_forward_passes <= plain.n_forward_passes


def test_sampling_is_seeded(tiny_loaded, prompt):
    a = constrained_decode(tiny_loaded, prompt, 3, temperature=5.0, seed=3).labels
    b = constrained_decode(tiny_loaded, prompt, 3, temperature=5.0, seed=3).labels
    np.testing.assert_array_equal(a, b)
    assert a.max() <= 2
    others = [constrained_decode(tiny_loaded, prompt, 3, temperature=5.0, seed=s).labels for s in range(4, 8)]
    assert any(not np.array_equal(a, other) for other in others)


def test_answer_layout_matches_the_tokenizer(tiny_loaded):
    layout = answer_tokens(tiny_loaded, 3)
    tok = tiny_loaded.tokenizer
    assert list(layout.open) == tok.encode("[", add_special_tokens=False)
    assert list(layout.separator) == tok.encode(", ", add_special_tokens=False)
    assert layout.labels == tuple((tok.convert_tokens_to_ids(str(i)),) for i in range(3))
    assert layout.single_token


def test_too_many_clusters_for_the_labels(tiny_loaded):
    with pytest.raises(ValueError, match="n_clusters=101 is above the 100 cluster labels"):
        answer_tokens(tiny_loaded, 101)


@pytest.mark.parametrize(
    "history, jacobi, count, expected",
    [
        ([0, 0, 0], [], 3, [0, 0, 0]),
        ([0, 1, 2, 1, 2], [], 4, [1, 2, 1, 2]),
        ([0, 1], [2, 2], 2, [2, 2]),
        ([0], [], 2, [0, 0]),
        ([0, 1, 0], [], 0, []),
    ],
)
def test_propose_labels_copies_repeats(history, jacobi, count, expected):
    assert propose_labels(history, jacobi, count) == expected


@pytest.mark.parametrize(
    "history, count, expected",
    [
        ([0], 5, [1, 2, 0, 1, 2]),  # a new label: climb to k - 1, then cycle
        ([0, 1, 2], 4, [0, 1, 2, 0]),
        ([0, 1, 2, 1], 4, [2, 1, 2, 1]),  # a repeat is copied as before
    ],
)
def test_propose_labels_opens_the_next_clusters_after_a_new_one(history, count, expected):
    assert propose_labels(history, [2, 2, 2, 2, 2], count, n_clusters=3) == expected


def test_the_window_grows_while_guesses_are_accepted_and_shrinks_when_not(tiny_loaded):
    from sklearn_icc.runtime.decoding.answers import MAX_WINDOW, LabelAnswer

    n = 600
    fake = type("Prompt", (), {"n_points": n, "input_ids": [1, 2, 3], "point_spans": np.zeros((n, 2), int)})()
    answer = LabelAnswer(fake, answer_tokens(tiny_loaded, 2), 2, window=4)
    truth = np.arange(n) % 2  # 0 1 0 1 ...: guesses copy it once seen
    widths = []
    while not answer.finished:
        _, offsets = answer.next_tokens()
        widths.append(len(offsets))
        wanted = truth[answer.done : answer.done + len(offsets)].copy()
        if len(widths) == 5:
            wanted[1:] = 1 - wanted[1:]  # the guesses go wrong once
        answer.update(np.eye(2)[wanted] * 10)
    assert widths[:6] == [4, 8, 16, 32, 64, 4] and max(widths) == MAX_WINDOW
    expected = truth.copy()
    expected[1 + 4 + 8 + 16 + 32 + 1] ^= 1  # the fifth pass's second label, as the "model" chose it
    np.testing.assert_array_equal(answer.labels, expected)


@pytest.mark.parametrize(
    "text, expected, failures",
    [
        ("[2, 2, 5, 5]", [0, 0, 1, 1], 0),
        ("Sure! [1, 0, 1, 0] is it", [0, 1, 0, 1], 0),
        ("[1, 0]", [0, 1, 0, 0], 2),  # short: padded with the most frequent label
        ("[1, 0, 1, 0, 1, 1]", [0, 1, 0, 1], 0),  # long: truncated
        ("no list at all", [0, 0, 0, 0], 4),
        ("[0, 1, 2, 3]", None, 2),  # four labels for k=2: two points fail
        ("[0, x, 1, 1]", [0, 1, 1, 1], 1),
    ],
)
def test_parse_label_list(text, expected, failures):
    labels, n_failed = parse_label_list(text, 4, 2)
    assert n_failed == failures
    assert labels.dtype == np.int64 and labels.shape == (4,)
    assert labels.min() >= 0 and labels.max() <= 1
    if expected is not None:
        np.testing.assert_array_equal(labels, expected)


def test_free_decoding_counts_failures_and_keeps_labels_valid(tiny_loaded):
    X = np.random.default_rng(2).normal(size=(6, 2))
    prompt = build_prompt(X, 2, tiny_loaded.tokenizer)
    result = free_decode(tiny_loaded, prompt, 2, max_new_tokens=20)
    assert result.labels.shape == (6,) and result.labels.dtype == np.int64
    assert set(result.labels.tolist()) <= {0, 1}
    assert 0 <= result.n_failures <= 6
    assert isinstance(result.answer_text, str)
    # A random tiny model writes no list: every point failed and says so.
    assert result.n_failures == parse_label_list(result.answer_text, 6, 2)[1]


def test_prompt_over_the_context_window(tmp_path):
    from conftest import build_tiny_model_dir

    from sklearn_icc.runtime import load_model

    loaded = load_model(build_tiny_model_dir(tmp_path / "short", max_position_embeddings=256), device="cpu")
    prompt = build_prompt(np.zeros((30, 3)), 2, loaded.tokenizer)
    with pytest.raises(ValueError, match=r"n=30 points needs \d+ tokens .* window of 256 tokens"):
        constrained_decode(loaded, prompt, 2)


def test_forced_labels_are_kept_and_the_rest_decoded_as_with_one_label_per_pass(tiny_loaded, prompt):
    forced = [0, 1, 1, 0, 2]
    plain = constrained_decode(tiny_loaded, prompt, 3, window=1, forced_labels=forced)
    fast = constrained_decode(tiny_loaded, prompt, 3, window=16, forced_labels=forced)
    np.testing.assert_array_equal(plain.labels[:5], forced)
    np.testing.assert_array_equal(plain.probabilities[:5], np.eye(3)[forced])
    np.testing.assert_array_equal(plain.labels, fast.labels)
    np.testing.assert_allclose(plain.probabilities, fast.probabilities, atol=1e-4)
    assert plain.n_forward_passes == 25 - 5


def test_forced_labels_must_be_canonical(tiny_loaded, prompt):
    with pytest.raises(ValueError, match="forced_labels must be canonical"):
        constrained_decode(tiny_loaded, prompt, 3, forced_labels=[1, 0])
    with pytest.raises(ValueError, match="forced_labels must be canonical"):
        constrained_decode(tiny_loaded, prompt, 2, forced_labels=[0, 1, 2])


def test_unknown_k_lets_the_model_open_labels_up_to_max_clusters(tiny_loaded):
    X = np.random.default_rng(3).normal(size=(30, 2))
    prompt = build_prompt(X, None, tiny_loaded.tokenizer)
    result = constrained_decode(tiny_loaded, prompt, None, max_clusters=4, temperature=20.0, seed=0)
    k = int(result.labels.max()) + 1
    assert 1 <= k <= 4 and result.labels.dtype == np.int64
    np.testing.assert_array_equal(result.labels, canonical_labels(result.labels))
    assert result.probabilities.shape == (30, k)  # only the labels used
    np.testing.assert_allclose(result.probabilities.sum(axis=1), 1.0)
    # The same decoding as with k = max_clusters, on the k-free prompt.
    capped = constrained_decode(tiny_loaded, prompt, 4, temperature=20.0, seed=0)
    np.testing.assert_array_equal(result.labels, capped.labels)
    many = constrained_decode(tiny_loaded, prompt, None, max_clusters=20, temperature=50.0, seed=0,
                              forced_labels=list(range(9)))
    assert 10 <= many.labels.max() + 1 <= 20  # beyond ten: labels of two tokens


def test_unknown_k_needs_two_clusters_at_least(tiny_loaded, prompt):
    with pytest.raises(ValueError, match="max_clusters=1 should be >= 2"):
        constrained_decode(tiny_loaded, prompt, None, max_clusters=1)
    with pytest.raises(ValueError, match="n_clusters=101 is above the 100 cluster labels"):
        constrained_decode(tiny_loaded, prompt, None, max_clusters=101)


def test_parse_labels_of_several_digits():
    labels, failures = parse_label_list("[12, 3, 12, 47]", 4, 20)
    np.testing.assert_array_equal(labels, [0, 1, 0, 2])
    assert failures == 0


def test_free_decoding_with_more_than_ten_clusters_and_unknown_k(tiny_loaded):
    X = np.random.default_rng(2).normal(size=(6, 2))
    result = free_decode(tiny_loaded, build_prompt(X, 20, tiny_loaded.tokenizer), 20, max_new_tokens=10)
    assert result.probabilities.shape == (6, 20) and result.labels.max() < 20
    unknown = free_decode(tiny_loaded, build_prompt(X, None, tiny_loaded.tokenizer), None, max_new_tokens=10)
    assert unknown.probabilities.shape == (6, unknown.labels.max() + 1)
