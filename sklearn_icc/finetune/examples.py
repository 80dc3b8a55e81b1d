"""Training examples: an episode's prompt and its answer, as inference sees them.

The prompt comes from the runtime's :func:`~sklearn_icc.runtime.build_prompt` and the
answer from the same token layout that constrained decoding writes
(:func:`~sklearn_icc.runtime.decoding.constrained.answer_tokens`), followed by the chat
template's end-of-turn token. Only the answer's tokens carry loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..datasets import episode_shape, grid_episode, grid_states_k
from ..runtime.decoding.constrained import answer_tokens, canonical_labels
from ..runtime.prompts.templates import build_prompt, chat_messages, resolve_template

IGNORE_INDEX = -100  # positions the loss skips


@dataclass(frozen=True)
class TrainingExample:
    """Token ids of prompt + answer, and the loss targets (``IGNORE_INDEX`` off the answer)."""

    input_ids: np.ndarray
    labels: np.ndarray

    @property
    def n_answer_tokens(self):
        return int((self.labels != IGNORE_INDEX).sum())


def end_of_turn_id(tokenizer):
    """The token the chat template closes an assistant turn with."""
    template = resolve_template("short")
    probe = "[0]"
    messages = chat_messages(template, "x") + [{"role": "assistant", "content": probe}]
    rendered = tokenizer.apply_chat_template(messages, tokenize=False)
    after = rendered[rendered.rfind(probe) + len(probe):]
    ids = tokenizer.encode(after, add_special_tokens=False)
    if not ids:
        raise ValueError("The chat template writes nothing after an assistant turn; no end-of-turn token.")
    return ids[0]


def answer_ids(loaded, labels, n_clusters, eot_id):
    """Token ids of the answer ``[l0, l1, ...]`` plus end of turn, as constrained decoding writes it."""
    layout = answer_tokens(loaded, n_clusters)
    ids = list(layout.open)
    for i, label in enumerate(labels):
        if i:
            ids += list(layout.separator)
        ids += list(layout.labels[int(label)])  # a label may take several tokens ("10")
    return ids + list(layout.close) + [eot_id]


def training_example(loaded, X, y, n_clusters, *, template, point_format, condition=None,
                     label_order="canonical", eot_id=None, state_k=True):
    """Build the :class:`TrainingExample` of one episode.

    Parameters
    ----------
    loaded : LoadedModel
        Gives the tokenizer and the label tokens.
    X, y : ndarray
        The episode's points and true clusters (``0..n_clusters-1``).
    n_clusters : int
    template : PromptTemplate
    point_format : str
    condition : str, default=None
    label_order : {"canonical", "raw"}, default="canonical"
        ``"canonical"`` renumbers clusters by first appearance, as constrained decoding does.
    eot_id : int, default=None
        The end-of-turn token; found from the chat template when ``None``.
    state_k : bool, default=True
        ``False`` writes the template's k-free instruction (as ``n_clusters=None`` does
        at inference): the answer then teaches the model to choose k itself.
    """
    prompt = build_prompt(X, n_clusters if state_k else None, loaded.tokenizer, template=template,
                          condition=condition, point_format=point_format)
    return example_from_prompt(loaded, prompt, y, n_clusters, label_order=label_order, eot_id=eot_id)


def example_from_prompt(loaded, prompt, y, n_clusters, *, label_order="canonical", eot_id=None):
    """The :class:`TrainingExample` of a built prompt (numbers or texts) and its true clusters ``y``."""
    y = np.asarray(y, dtype=np.int64)
    if y.min() < 0 or y.max() >= n_clusters:
        raise ValueError(f"Training labels must lie in 0..{n_clusters - 1}, got {y.min()}..{y.max()}.")
    targets = canonical_labels(y) if label_order == "canonical" else y
    eot_id = end_of_turn_id(loaded.tokenizer) if eot_id is None else eot_id
    answer = answer_ids(loaded, targets, n_clusters, eot_id)
    input_ids = np.array(list(prompt.input_ids) + answer, dtype=np.int64)
    labels = np.full(len(input_ids), IGNORE_INDEX, dtype=np.int64)
    labels[prompt.n_tokens:] = answer
    return TrainingExample(input_ids=input_ids, labels=labels)


class EpisodeDataset:
    """Map-style dataset of training examples, drawn on demand from an episode grid.

    Item ``i`` is always the same example (episodes are seeded by index), so a resumed
    run continues on the same data; examples are built when asked for, so 100k of
    them cost no memory up front.
    """

    def __init__(self, loaded, grid, n_episodes, settings, *, seed=0):
        self.loaded = loaded
        self.grid = grid
        self.n_episodes = int(n_episodes)
        self.settings = settings
        self.seed = seed
        self.template = resolve_template(settings.prompt)
        self.eot_id = end_of_turn_id(loaded.tokenizer)

    def __len__(self):
        return self.n_episodes

    def length_keys(self):
        """A cheap stand-in for each example's token count, to batch by length.

        Tokens grow with ``n_samples * (n_features + 1)`` (digits and separators);
        drawing only the episodes' shapes took about 10 s per 100,000 episodes here,
        where building and tokenizing them took 3 ms each (5 minutes).
        """
        shapes = (episode_shape(self.grid, index, seed=self.seed) for index in range(self.n_episodes))
        return [n * (d + 1) for _, d, _, n in shapes]

    def example(self, index):
        X, y = grid_episode(self.grid, index, seed=self.seed)
        k = int(y.max()) + 1
        return training_example(
            self.loaded, X, y, k, template=self.template, point_format=self.settings.point_format,
            label_order=self.settings.label_order, eot_id=self.eot_id,
            state_k=grid_states_k(self.grid, index, seed=self.seed),
        )

    def __getitem__(self, index):
        example = self.example(index)
        return {"input_ids": example.input_ids.tolist(), "labels": example.labels.tolist()}


def collate_examples(features, pad_token_id):
    """Pad a micro-batch to its longest example (not to a fixed maximum)."""
    import torch

    width = max(len(f["input_ids"]) for f in features)
    input_ids = torch.full((len(features), width), pad_token_id, dtype=torch.long)
    labels = torch.full((len(features), width), IGNORE_INDEX, dtype=torch.long)
    attention_mask = torch.zeros((len(features), width), dtype=torch.long)
    for row, feature in enumerate(features):
        n = len(feature["input_ids"])
        input_ids[row, :n] = torch.as_tensor(feature["input_ids"])
        labels[row, :n] = torch.as_tensor(feature["labels"])
        attention_mask[row, :n] = 1
    return {"input_ids": input_ids, "labels": labels, "attention_mask": attention_mask}
