"""Train the default model's adapter on a CPU, as shipped (see docs/finetune.rst).

    python benchmarks/train_default_adapter.py --out adapters/cpu-run [--minutes 100]

The settings are those of the shipped adapter; its card (sklearn_icc_adapter.json)
records them and the held-out learning curve. A cut-off run resumes with --resume.
For the paper-scale run on one GPU, see benchmarks/train_gpu.py.
"""

import argparse

from sklearn_icc.datasets import EpisodeGrid
from sklearn_icc.finetune import LoraSettings, TrainingSettings, finetune

# Small episodes and a narrower grid: a CPU sees about a thousand episodes in two hours.
CPU_GRID = EpisodeGrid(n_clusters=(2, 3, 4), n_features=(1, 2, 3), n_samples=(10, 40))
CPU_LORA = LoraSettings(r=16, alpha=32)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--minutes", type=float, default=None, help="stop after this much training time")
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)
    training = TrainingSettings(
        max_steps=args.steps, batch_size=args.batch_size, micro_batch_size=min(4, args.batch_size),
        learning_rate=args.lr, eval_every=25, n_eval_episodes=16, save_every=10,
        point_format="compact", device="cpu", time_limit_minutes=args.minutes,
    )
    finetune("default", args.out, grid=CPU_GRID, lora=CPU_LORA, training=training, resume=args.resume)


if __name__ == "__main__":
    main()
