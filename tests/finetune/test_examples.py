import numpy as np
import pytest

from sklearn_icc.datasets import EpisodeGrid
from sklearn_icc.finetune import TrainingSettings, training_example
from sklearn_icc.finetune.examples import IGNORE_INDEX, EpisodeDataset, collate_examples, end_of_turn_id
from sklearn_icc.runtime import PROMPT_TEMPLATES, build_prompt
from sklearn_icc.runtime.prompts.templates import chat_messages

X = np.array([[0.0, 1.0], [5.0, 5.0], [0.2, 0.9], [9.0, -3.0]])
Y = np.array([2, 0, 2, 1])


@pytest.mark.parametrize("point_format", ["paper", "compact"])
def test_example_is_the_inference_prompt_plus_the_answer(tiny_loaded, point_format):
    template = PROMPT_TEMPLATES["paper"]
    example = training_example(tiny_loaded, X, Y, 3, template=template, point_format=point_format)
    prompt = build_prompt(X, 3, tiny_loaded.tokenizer, template=template, point_format=point_format)
    n = prompt.n_tokens
    assert example.input_ids[:n].tolist() == prompt.input_ids
    assert (example.labels[:n] == IGNORE_INDEX).all()
    assert example.labels[n:].tolist() == example.input_ids[n:].tolist()
    # Canonical order: the first point's cluster is 0, the next new one 1, ...
    assert tiny_loaded.tokenizer.decode(example.input_ids[n:]) == "[0, 1, 0, 2]<|im_end|>"
    assert example.n_answer_tokens == len("[0, 1, 0, 2]") + 1


def test_example_matches_the_chat_template_of_the_whole_conversation(tiny_loaded):
    template = PROMPT_TEMPLATES["paper"]
    example = training_example(tiny_loaded, X, Y, 3, template=template, point_format="paper")
    prompt = build_prompt(X, 3, tiny_loaded.tokenizer, template=template, point_format="paper")
    user_text = prompt.text[prompt.text.find("Cluster"):prompt.text.rfind("<|im_end|>\n<|im_start|>assistant")]
    messages = chat_messages(template, user_text) + [{"role": "assistant", "content": "[0, 1, 0, 2]"}]
    rendered = tiny_loaded.tokenizer.apply_chat_template(messages, tokenize=False)
    ids = tiny_loaded.tokenizer.encode(rendered, add_special_tokens=False)
    assert ids[: len(example.input_ids)] == example.input_ids.tolist()


def test_raw_label_order_keeps_generator_ids(tiny_loaded):
    example = training_example(tiny_loaded, X, Y, 3, template=PROMPT_TEMPLATES["short"], point_format="paper",
                               label_order="raw")
    answer = example.input_ids[example.labels != IGNORE_INDEX]
    assert tiny_loaded.tokenizer.decode(answer) == "[2, 0, 2, 1]<|im_end|>"


def test_labels_out_of_range_are_refused(tiny_loaded):
    with pytest.raises(ValueError, match="Training labels must lie in 0..1"):
        training_example(tiny_loaded, X, Y, 2, template=PROMPT_TEMPLATES["paper"], point_format="paper")


def test_end_of_turn_is_the_chat_templates(tiny_loaded):
    assert tiny_loaded.tokenizer.convert_ids_to_tokens(end_of_turn_id(tiny_loaded.tokenizer)) == "<|im_end|>"


def test_dataset_items_are_reproducible_and_lengths_exact(tiny_loaded):
    grid = EpisodeGrid(n_clusters=(2, 3), n_features=(1, 2), n_samples=(4, 9))
    settings = TrainingSettings(point_format="compact")
    first = EpisodeDataset(tiny_loaded, grid, 6, settings, seed=3)
    again = EpisodeDataset(tiny_loaded, grid, 6, settings, seed=3)
    other = EpisodeDataset(tiny_loaded, grid, 6, settings, seed=4)
    assert [first[i] for i in range(6)] == [again[i] for i in range(6)]
    assert first[0] != other[0]
    # The cheap length keys order examples as their token counts do.
    keys, lengths = first.length_keys(), [len(first[i]["input_ids"]) for i in range(6)]
    assert np.corrcoef(keys, lengths)[0, 1] > 0.9


def test_collate_pads_to_the_longest_example_only():
    features = [{"input_ids": [5, 6, 7], "labels": [-100, 6, 7]}, {"input_ids": [8], "labels": [8]}]
    batch = collate_examples(features, pad_token_id=0)
    assert batch["input_ids"].shape == (2, 3)
    assert batch["input_ids"][1].tolist() == [8, 0, 0]
    assert batch["labels"][1].tolist() == [8, IGNORE_INDEX, IGNORE_INDEX]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]


def test_answers_with_labels_of_two_tokens(tiny_loaded):
    y = np.array([3, 12, 0, 5, 1, 2, 4, 6, 7, 8, 9, 10, 11, 3])
    X13 = np.random.default_rng(0).normal(size=(len(y), 2))
    example = training_example(tiny_loaded, X13, y, 13, template=PROMPT_TEMPLATES["paper"], point_format="paper")
    answer = example.input_ids[example.labels != IGNORE_INDEX]
    assert tiny_loaded.tokenizer.decode(answer) == "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0]<|im_end|>"


def test_a_grid_share_of_examples_leaves_k_out_of_the_prompt(tiny_loaded):
    from sklearn_icc.datasets import grid_episode, grid_states_k

    grid = EpisodeGrid(n_clusters=(2, 3), n_features=(1,), n_samples=(4, 6), unknown_k_fraction=0.5)
    settings = TrainingSettings(prompt="paper")
    dataset = EpisodeDataset(tiny_loaded, grid, 12, settings, seed=0)
    stated = [grid_states_k(grid, i) for i in range(12)]
    assert 0 < sum(stated) < 12
    for i in range(12):
        text = tiny_loaded.tokenizer.decode(dataset[i]["input_ids"])
        X, y = grid_episode(grid, i)
        assert (f"into {y.max() + 1} clusters" in text) == stated[i]
        assert ("choose the number of clusters yourself" in text) == (not stated[i])
    # An unknown-k example is the k-free inference prompt plus the same answer.
    i = stated.index(False)
    X, y = grid_episode(grid, i)
    prompt = build_prompt(X, None, tiny_loaded.tokenizer, template=PROMPT_TEMPLATES["paper"],
                          point_format=settings.point_format)
    assert dataset[i]["input_ids"][: prompt.n_tokens] == prompt.input_ids
