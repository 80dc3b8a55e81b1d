"""What ``point_format="embedding"`` saves against ``"compact"``: prompt tokens and time, in one run.

    OMP_NUM_THREADS=2 python benchmarks/point_embeddings.py --episodes 5

Speed only, not accuracy: the adapter is an untrained LoRA (its B matrices are zero, so
the merged model is the base model) with a randomly initialised point projector, written
to a temporary folder by the same functions ``finetune`` uses. Both formats run through
``InContextClustering(adapter=that folder).fit`` on the same seeded episodes (n=50,
d=3, k=3, df=2), alternating, so that the ratios hold on a busy machine where the
seconds do not. Reported per format, as medians over episodes: prompt tokens, data
tokens per point (the points' spans over n), prefill seconds (the prompt's forward
pass, ``timings_``) and the whole ``fit``; then embedding / compact ratios.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import torch

from sklearn_icc import InContextClustering
from sklearn_icc.datasets import make_mixture
from sklearn_icc.finetune import LoraSettings, TrainingSettings
from sklearn_icc.finetune.embedding_training import new_point_projector, save_point_projector
from sklearn_icc.finetune.training import load_for_training

FORMATS = ("compact", "embedding")


def random_embedding_adapter(model, folder, seed=0):
    """Write an untrained LoRA and a random point projector for ``model`` into ``folder``."""
    settings = TrainingSettings(point_format="embedding", device="cpu", seed=seed)
    _, _, peft_model, _ = load_for_training(model, LoraSettings(r=8), settings)
    projector = new_point_projector(peft_model, settings)
    peft_model.save_pretrained(folder)
    save_point_projector(projector, folder)
    return folder


def measure(icc, X):
    tic = time.perf_counter()
    icc.fit(X)
    fit_seconds = time.perf_counter() - tic
    prompt = icc._fit_details["prompts"][0]
    per_point = (prompt.point_spans[-1, 1] - prompt.point_spans[0, 0]) / len(X)
    return {"prompt tokens": prompt.n_tokens, "tokens per point": per_point,
            "prefill s": icc.timings_["prefill_seconds"], "fit s": fit_seconds}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--n", type=int, default=50)
    args = parser.parse_args(argv)
    print(f"torch threads: {torch.get_num_threads()}")
    episodes = [make_mixture(args.n, 3, 3, df=2.0, random_state=seed)[0] for seed in range(args.episodes)]
    with tempfile.TemporaryDirectory() as folder:
        adapter = random_embedding_adapter(args.model, folder)
        estimators = {f: InContextClustering(3, model=args.model, adapter=adapter, point_format=f, device="cpu")
                      for f in FORMATS}
        for icc in estimators.values():
            icc.fit(episodes[0])  # warm-up: loads the model and its projector once
        rows = {f: [] for f in FORMATS}
        for X in episodes:
            for f in FORMATS:
                rows[f].append(measure(estimators[f], X))
    keys = list(rows[FORMATS[0]][0])
    medians = {f: {key: float(np.median([row[key] for row in rows[f]])) for key in keys} for f in FORMATS}
    print(f"\nn={args.n}, d=3, k=3; medians over {args.episodes} episodes\n")
    print("| point_format | " + " | ".join(keys) + " |")
    print("|---|" + "---|" * len(keys))
    for f in FORMATS:
        print(f"| {f} | " + " | ".join(f"{medians[f][key]:.2f}" for key in keys) + " |")
    print("| embedding / compact | " + " | ".join(
        f"{medians['embedding'][key] / medians['compact'][key]:.2f}" for key in keys) + " |")
    ratios = [row_e["fit s"] / row_c["fit s"] for row_e, row_c in zip(rows["embedding"], rows["compact"])]
    print(f"\nfit time ratio per episode (embedding / compact): {', '.join(f'{r:.2f}' for r in ratios)}")


if __name__ == "__main__":
    main()
