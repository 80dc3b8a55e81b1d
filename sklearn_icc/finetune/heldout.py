"""Held-out accuracy while training: constrained decoding on episodes of held-out df."""

from __future__ import annotations

import dataclasses

import numpy as np
from sklearn.metrics import adjusted_rand_score

from ..datasets import HELD_OUT_DFS, grid_episode
from ..metrics import clustering_accuracy
from ..runtime.decoding import constrained_decode
from ..runtime.prompts import build_prompt, resolve_template

# Held-out episodes use their own seed stream, apart from the training episodes.
HELD_OUT_SEED_OFFSET = 1_000_003


def held_out_grid(grid):
    """The training grid with its df values swapped for the held-out ones."""
    return dataclasses.replace(grid, dfs=HELD_OUT_DFS, n_permutations=1, allow_held_out=True)


def held_out_scores(loaded, grid, settings, n_episodes):
    """Mean accuracy and ARI of greedy constrained decoding on ``n_episodes`` held-out episodes.

    ``loaded.model`` may be the model under training: it is put in eval mode for
    the evaluation and back in train mode afterwards if it was training.
    """
    model = loaded.model
    was_training = model.training
    model.eval()
    template = resolve_template(settings.prompt)
    grid = held_out_grid(grid)
    accuracy, ari = [], []
    try:
        for index in range(n_episodes):
            X, y = grid_episode(grid, index, seed=settings.seed + HELD_OUT_SEED_OFFSET)
            k = int(y.max()) + 1
            prompt = build_prompt(X, k, loaded.tokenizer, template=template, point_format=settings.point_format)
            labels = constrained_decode(loaded, prompt, k).labels
            accuracy.append(clustering_accuracy(y, labels))
            ari.append(adjusted_rand_score(y, labels))
    finally:
        if was_training:
            model.train()
    return {"heldout_accuracy": float(np.mean(accuracy)), "heldout_ari": float(np.mean(ari))}
