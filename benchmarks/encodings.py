"""Tokens per point and accuracy of point encodings, the shipped ones and candidates.

    OMP_NUM_THREADS=2 python benchmarks/encodings.py --episodes 10

Each encoding writes the same seeded episodes (n=50, d=3, k=3, df=2) into the same
paper instruction, decoded with constrained greedy decoding by the default model,
zero-shot (so accuracy is at chance for all of them until an adapter is trained on the
encoding):

- ``paper``: ``[[1.23, -4.56, 0.70], ...]``, two decimals (shipped).
- ``compact``: ``12 -3 45`` per line, integers in [-99, 99] (shipped, the default).
- ``digit``: one digit per feature, ``5 2 7`` per line: each feature cut at its deciles
  (a fixed grid of 10 bins with equal counts).
- ``packed``: the same digits with no space between them, ``527``.

Prints the data tokens per point, the prompt tokens and the fit seconds beside ACC and
ARI, medians (ACC, ARI: means) over the episodes.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.metrics import adjusted_rand_score

from sklearn_icc.datasets import make_mixture
from sklearn_icc.metrics import clustering_accuracy
from sklearn_icc.runtime import constrained_decode, load_model
from sklearn_icc.runtime.prompts.templates import PROMPT_TEMPLATES, encode_points, prompt_from_point_texts


def decile_digits(X):
    """Each feature as its decile, 0-9 (ranks, so any scale and outliers are fine)."""
    ranks = np.argsort(np.argsort(X, axis=0, kind="stable"), axis=0)
    return (ranks * 10 // len(X)).astype(int)


def encode(X, name):
    """``(texts, (open, separator, close))`` of the encoding ``name``."""
    if name in ("paper", "compact"):
        texts, open_, sep, close = encode_points(X, name)
        return texts, (open_, sep, close)
    digits = decile_digits(X)
    joiner = " " if name == "digit" else ""
    return [joiner.join(str(v) for v in row) for row in digits], ("\n", "\n", "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--n", type=int, default=50)
    args = parser.parse_args(argv)
    loaded = load_model(args.model, device="cpu")
    template = PROMPT_TEMPLATES["paper"]
    episodes = [make_mixture(args.n, 3, 3, df=2.0, random_state=seed) for seed in range(args.episodes)]
    print("| encoding | data tokens/point | prompt tokens | fit s | ACC | ARI |")
    print("|---|---|---|---|---|---|")
    for name in ("paper", "compact", "digit", "packed"):
        per_point, tokens, seconds, accuracy, ari = [], [], [], [], []
        for X, y in episodes:
            start = time.perf_counter()
            texts, brackets = encode(X, name)
            prompt = prompt_from_point_texts(texts, brackets, 3, loaded.tokenizer, template=template)
            labels = constrained_decode(loaded, prompt, 3).labels
            seconds.append(time.perf_counter() - start)
            per_point.append((prompt.point_spans[-1, 1] - prompt.point_spans[0, 0]) / len(X))
            tokens.append(prompt.n_tokens)
            accuracy.append(clustering_accuracy(y, labels))
            ari.append(adjusted_rand_score(y, labels))
        print(f"| {name} | {np.median(per_point):.1f} | {np.median(tokens):.0f} | {np.median(seconds):.2f} | "
              f"{np.mean(accuracy):.3f} | {np.mean(ari):.3f} |")


if __name__ == "__main__":
    main()
