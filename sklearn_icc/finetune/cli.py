"""``sklearn-icc finetune``: train an adapter from the command line."""

from __future__ import annotations

import argparse

from .._cli_help import HelpFormatter
from ..datasets import EpisodeGrid
from ..runtime.prompts.templates import POINT_FORMATS
from .config import LABEL_ORDERS, LoraSettings, TrainingSettings


def parse_ints(text):
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected whole numbers separated by commas, got {text!r}") from None


def parse_floats(text):
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None


def _joined(values):
    return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)


def build_parser():
    """The parser of ``sklearn-icc finetune``; its defaults are those of the settings dataclasses."""

    grid, lora, training = EpisodeGrid(), LoraSettings(), TrainingSettings()
    parser = argparse.ArgumentParser(
        prog="sklearn-icc finetune",
        description="Train a LoRA adapter on synthetic clustering episodes (sklearn_icc.finetune.finetune).",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--out", required=True, help="adapter directory to write")
    parser.add_argument("--model", default="default",
                        help="base model: 'default' (the embedded SmolLM2-135M-Instruct), a local folder or a .gguf file")
    parser.add_argument("--steps", type=int, default=training.max_steps,
                        help="optimizer steps (default: episodes / batch size)")
    parser.add_argument("--episodes", type=int, default=training.n_episodes, help="training episodes")
    parser.add_argument("--batch-size", type=int, default=training.batch_size, help="episodes per optimizer step")
    parser.add_argument("--micro-batch-size", type=int, default=training.micro_batch_size,
                        help="episodes per forward pass")
    parser.add_argument("--lr", type=float, default=training.learning_rate, help="peak learning rate")
    parser.add_argument("--rank", type=int, default=lora.r, help="LoRA rank r")
    parser.add_argument("--alpha", type=float, default=lora.alpha, help="LoRA alpha")
    parser.add_argument("--point-format", default=training.point_format, choices=POINT_FORMATS,
                        help="how a point is written in the prompt ('embedding': a trained projector, one embedding a point)")
    parser.add_argument("--max-features", type=int, default=training.max_features,
                        help="--point-format embedding: the most features a point may have")
    parser.add_argument("--tokens-per-point", type=int, default=training.tokens_per_point,
                        help="--point-format embedding: input embeddings per point")
    parser.add_argument("--label-order", default=training.label_order, choices=LABEL_ORDERS,
                        help="answers in first-appearance order, or the generator's cluster ids")
    # String defaults go through ``type`` too, so the help shows them as they are typed.
    parser.add_argument("--clusters", type=parse_ints, default=_joined(grid.n_clusters), help="k values")
    parser.add_argument("--features", type=parse_ints, default=_joined(grid.n_features), help="d values")
    parser.add_argument("--dfs", type=parse_floats, default=_joined(grid.dfs), help="Student-t df values")
    parser.add_argument("--samples", type=parse_ints, default=_joined(grid.n_samples), help="n range, low,high")
    parser.add_argument("--permutations", type=int, default=grid.n_permutations,
                        help="copies of each episode, rows permuted")
    parser.add_argument("--eval-every", type=int, default=training.eval_every,
                        help="held-out accuracy every N steps (0: never)")
    parser.add_argument("--save-every", type=int, default=training.save_every, help="checkpoint every N steps")
    parser.add_argument("--minutes", type=float, default=training.time_limit_minutes,
                        help="stop after this much training time (default: no limit)")
    parser.add_argument("--device", default=training.device, help="torch device")
    parser.add_argument("--seed", type=int, default=training.seed, help="seeds the episodes and the adapter")
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
            save_every=args.save_every, point_format=args.point_format, max_features=args.max_features,
            tokens_per_point=args.tokens_per_point, label_order=args.label_order,
            time_limit_minutes=args.minutes, device=args.device, seed=args.seed,
        )
    except ValueError as exc:
        build_parser().error(str(exc))
    estimator = finetune(args.model, args.out, grid=grid, lora=lora, training=training,
                         overwrite=args.overwrite, resume=args.resume)
    print(f"adapter written to {args.out}; use it as {estimator!r}")
    return 0
