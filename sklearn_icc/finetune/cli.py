"""``sklearn-icc finetune``: train an adapter from the command line."""

from __future__ import annotations

import argparse

from ..datasets import EpisodeGrid
from .config import LoraSettings, TrainingSettings


def parse_ints(text):
    return tuple(int(v) for v in text.split(","))


def parse_floats(text):
    return tuple(float(v) for v in text.split(","))


def build_parser():
    parser = argparse.ArgumentParser(
        prog="sklearn-icc finetune",
        description="Train a LoRA adapter on synthetic clustering episodes (sklearn_icc.finetune.finetune).",
    )
    parser.add_argument("--out", required=True, help="adapter directory to write")
    parser.add_argument("--model", default="default", help="base model id or local path")
    parser.add_argument("--steps", type=int, default=None, help="optimizer steps (default: episodes / batch size)")
    parser.add_argument("--episodes", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=32, help="episodes per optimizer step")
    parser.add_argument("--micro-batch-size", type=int, default=4, help="episodes per forward pass")
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--rank", type=int, default=64, help="LoRA rank r")
    parser.add_argument("--alpha", type=float, default=16.0, help="LoRA alpha")
    parser.add_argument("--point-format", default="paper", choices=("paper", "compact"))
    parser.add_argument("--label-order", default="canonical", choices=("canonical", "raw"))
    parser.add_argument("--clusters", type=parse_ints, default=(2, 3, 4, 5), help="k values, e.g. 2,3,4,5")
    parser.add_argument("--features", type=parse_ints, default=(1, 2, 3, 4), help="d values, e.g. 1,2,3,4")
    parser.add_argument("--dfs", type=parse_floats, default=(1.0, 2.0, 5.0, 100.0), help="Student-t df values")
    parser.add_argument("--samples", type=parse_ints, default=(10, 50), help="n range, e.g. 10,50")
    parser.add_argument("--permutations", type=int, default=1, help="copies of each episode, rows permuted")
    parser.add_argument("--eval-every", type=int, default=50, help="held-out accuracy every N steps (0: never)")
    parser.add_argument("--save-every", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=None, help="stop after this much training time")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --out")
    return parser


def main(argv=None):
    from .training import finetune

    args = build_parser().parse_args(argv)
    try:
        grid = EpisodeGrid(n_clusters=args.clusters, n_features=args.features, dfs=args.dfs,
                           n_samples=args.samples, n_permutations=args.permutations)
        lora = LoraSettings(r=args.rank, alpha=args.alpha)
        training = TrainingSettings(
            n_episodes=args.episodes, max_steps=args.steps, batch_size=args.batch_size,
            micro_batch_size=args.micro_batch_size, learning_rate=args.lr, eval_every=args.eval_every,
            save_every=args.save_every, point_format=args.point_format, label_order=args.label_order,
            time_limit_minutes=args.minutes, device=args.device, seed=args.seed,
        )
    except ValueError as exc:
        build_parser().error(str(exc))
    estimator = finetune(args.model, args.out, grid=grid, lora=lora, training=training,
                         overwrite=args.overwrite, resume=args.resume)
    print(f"adapter written to {args.out}; use it as {estimator!r}")
    return 0
