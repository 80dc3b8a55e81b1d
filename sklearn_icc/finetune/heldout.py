"""Held-out accuracy while training: constrained decoding on episodes of held-out df."""

from __future__ import annotations

import dataclasses

import numpy as np
from sklearn.metrics import adjusted_rand_score

from ..datasets import HELD_OUT_DFS, grid_episode
from ..metrics import clustering_accuracy
from ..runtime.decoding.constrained import constrained_decode
from ..runtime.prompts.templates import resolve_template
from ..runtime.spec import PromptSpec

# Held-out episodes use their own seed stream, apart from the training episodes.
HELD_OUT_SEED_OFFSET = 1_000_003


def held_out_grid(grid):
    """The training grid with its df values swapped for the held-out ones."""
    return dataclasses.replace(grid, dfs=HELD_OUT_DFS, n_permutations=1, allow_held_out=True)


def score_held_out(loaded, episode_prompt, n_episodes, modules=()):
    """Mean accuracy and ARI of greedy constrained decoding on ``n_episodes`` episodes.

    The one held-out loop of every kind of training (numbers, images, texts).
    ``episode_prompt(index)`` returns ``(prompt, y)``, the built prompt of held-out
    episode ``index`` and its true clusters. ``loaded.model`` and ``modules`` (for
    example an image projector) may be under training: they are put in eval mode for
    the evaluation and back in the mode they were in afterwards.
    """
    modes = [(module, module.training) for module in (loaded.model, *modules)]
    for module, _ in modes:
        module.eval()
    accuracy, ari = [], []
    try:
        for index in range(n_episodes):
            prompt, y = episode_prompt(index)
            labels = constrained_decode(loaded, prompt, int(np.max(y)) + 1).labels
            accuracy.append(clustering_accuracy(y, labels))
            ari.append(adjusted_rand_score(y, labels))
    finally:
        for module, mode in modes:
            module.train(mode)
    return {"heldout_accuracy": float(np.mean(accuracy)), "heldout_ari": float(np.mean(ari))}


def held_out_scores(loaded, grid, settings, n_episodes):
    """:func:`score_held_out` on episodes of ``grid`` at the held-out df values.

    The prompts are those inference builds (:meth:`PromptSpec.build`); with
    ``point_format="embedding"``, through ``loaded.point_projector``, under training.
    """
    spec = PromptSpec(resolve_template(settings.prompt), point_format=settings.point_format)
    grid = held_out_grid(grid)

    def episode_prompt(index):
        X, y = grid_episode(grid, index, seed=settings.seed + HELD_OUT_SEED_OFFSET)
        return spec.build(X, int(y.max()) + 1, loaded), y

    projector = loaded.point_projector
    return score_held_out(loaded, episode_prompt, n_episodes, modules=() if projector is None else (projector,))
