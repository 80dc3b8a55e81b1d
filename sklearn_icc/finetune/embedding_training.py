"""Training for ``point_format="embedding"``: the point projector learns with the LoRA.

:func:`~.training.finetune` runs these through the same Trainer as the text formats.
A training example is the prompt inference builds
(:func:`~sklearn_icc.runtime.prompts.point_embeddings.build_point_prompt`, with placeholder ids
where the points go) plus the answer, and it carries the points' features; each step
projects them (with gradients) into the embeddings at their positions. The projector is
saved in every checkpoint, so that a resumed run continues with it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..datasets import episode_shape, grid_episode, grid_states_k
from ..runtime.prompts.point_embeddings import POINT_PROJECTOR_FILE, build_point_prompt, point_features
from .examples import EpisodeDataset, collate_examples, example_from_prompt


def new_point_projector(peft_model, training):
    """A projector for ``peft_model``'s embeddings, attached to it so that the Trainer's
    optimizer, gradient clipping, device moves and train/eval modes include it.

    It starts at the scale of the token embeddings (seeded by ``training.seed``).
    """
    from ..runtime.model.point_projector import PointProjector

    embeddings = peft_model.get_input_embeddings()
    projector = PointProjector(embeddings.embedding_dim, training.max_features, training.tokens_per_point)
    projector.match_embedding_scale(embeddings.weight, seed=training.seed).to(embeddings.weight.device)
    # The peft files hold only the LoRA: the projector is saved beside them (save_point_projector).
    peft_model.add_module("point_projector", projector)
    return projector


def save_point_projector(projector, folder):
    projector.save(Path(folder) / POINT_PROJECTOR_FILE)


def restore_point_projector(projector, checkpoint):
    """Load the projector saved in ``checkpoint`` into ``projector``; ``ValueError`` if it has none."""
    from ..runtime.model.point_projector import PointProjector

    path = Path(checkpoint) / POINT_PROJECTOR_FILE
    if not path.is_file():
        raise ValueError(
            f"Cannot resume point_format='embedding' training from {str(checkpoint)!r}: it holds no "
            f"{POINT_PROJECTOR_FILE}, so the trained projector would be lost. Start again with overwrite=True."
        )
    saved = PointProjector.load(path, projector.hidden_size)
    if (saved.max_features, saved.tokens_per_point) != (projector.max_features, projector.tokens_per_point):
        raise ValueError(
            f"The checkpoint's point projector takes {saved.max_features} features to {saved.tokens_per_point} "
            f"embeddings per point; these settings ask for {projector.max_features} to "
            f"{projector.tokens_per_point}. Resume with the settings of the run."
        )
    projector.load_state_dict(saved.state_dict())


class PointEpisodeDataset(EpisodeDataset):
    """:class:`~.examples.EpisodeDataset` for ``point_format="embedding"``: items also hold
    the points' features and the token positions of their embeddings."""

    def length_keys(self):
        per_point = self.settings.tokens_per_point + 1  # its embeddings and a separator
        shapes = (episode_shape(self.grid, index, seed=self.seed) for index in range(self.n_episodes))
        return [n * per_point for _, _, _, n in shapes]

    def point_example(self, index):
        """Episode ``index``: its :class:`~.examples.TrainingExample`, points and prompt."""
        import torch

        X, y = grid_episode(self.grid, index, seed=self.seed)
        k = int(y.max()) + 1
        state_k = grid_states_k(self.grid, index, seed=self.seed)
        placeholders = torch.zeros((len(X), self.settings.tokens_per_point, 1))
        prompt = build_point_prompt(placeholders, k if state_k else None, self.loaded.tokenizer, template=self.template)
        example = example_from_prompt(self.loaded, prompt, y, k, label_order=self.settings.label_order,
                                      eot_id=self.eot_id)
        return example, X, prompt

    def example(self, index):
        return self.point_example(index)[0]

    def __getitem__(self, index):
        example, X, prompt = self.point_example(index)
        return {"input_ids": example.input_ids.tolist(), "labels": example.labels.tolist(),
                "point_features": point_features(X, self.settings.max_features).tolist(),
                "embedded_positions": prompt.embedded_positions.tolist()}


def collate_point_examples(features, pad_token_id):
    """:func:`~.examples.collate_examples`, plus ``point_features`` (zero-padded points) and
    ``embedded_positions`` (``-1`` where padded) of each episode."""
    import torch

    batch = collate_examples(features, pad_token_id)
    n_points = max(len(f["point_features"]) for f in features)
    width = len(features[0]["point_features"][0])
    per_point = len(features[0]["embedded_positions"]) // len(features[0]["point_features"])
    points = torch.zeros((len(features), n_points, width))
    positions = torch.full((len(features), n_points * per_point), -1, dtype=torch.long)
    for row, feature in enumerate(features):
        points[row, : len(feature["point_features"])] = torch.as_tensor(feature["point_features"])
        positions[row, : len(feature["embedded_positions"])] = torch.as_tensor(feature["embedded_positions"])
    return {**batch, "point_features": points, "embedded_positions": positions}


def point_training_inputs(projector, model, inputs):
    """The batch with ``inputs_embeds`` in place of ``input_ids``: the token embeddings, the
    projected points at their positions. Differentiable in the projector and the model."""
    import torch

    ids, positions = inputs["input_ids"], inputs["embedded_positions"]
    embeds = model.get_input_embeddings()(ids)
    points = projector(inputs["point_features"]).reshape(ids.shape[0], positions.shape[1], -1)
    keep = positions >= 0
    rows = torch.arange(ids.shape[0], device=ids.device)[:, None].expand_as(positions)
    embeds = embeds.index_put((rows[keep], positions[keep]), points[keep].to(embeds.dtype))
    return {"inputs_embeds": embeds, "attention_mask": inputs["attention_mask"], "labels": inputs["labels"]}


def tracked_with_projector(tracked, projector):
    """The held-out evaluations' :class:`~sklearn_icc.runtime.LoadedModel`, with the projector under training."""
    return dataclasses.replace(tracked, point_projector=projector)
