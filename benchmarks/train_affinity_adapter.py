"""Train the shipped affinity adapter and export it into the package (``make train-default-adapter``).

    OMP_NUM_THREADS=2 python benchmarks/train_affinity_adapter.py --run affinity-run \
        --out sklearn_icc/adapters/affinity

The defaults are the shipped adapter's recipe (its card, ``affinity_adapter.json``,
records the run): the first 9 layers of the default model, fully fine-tuned, with the
point encoder and the pairwise head; 20,000 episodes of the paper's grid (k 2-5, d 1-4,
n 10-50, df 1, 2, 5, 100) in batches of 8; AdamW at 1e-4 (layers) and 1e-3 (new
parts), 100 warm-up steps then cosine decay; seed 0; 2 threads. It prints the loss and
the held-out curve (df 1, 1.5, 5) every 250 steps, writes a checkpoint every 75 steps
(``--resume`` continues a cut-off run), then stores the layers' changes at rank
``--rank`` (float16) in ``--out``, with ``--views`` test-time views (4) in its spec.
31 minutes for the shipped run on 2 threads of a shared machine (about 20 when the
cores are quiet, at 17 episodes a second).
``--random-layers`` trains the control (the same architecture, layers initialised at
random); ``--lora-rank``, ``--point-attention causal``, ``--layers``, ``--batch-size``
(with ``--warmup``) and ``--layer-lr`` are the ablations of ``benchmarks/affinity_ablations.py``.
"""

import argparse
import sys

from sklearn_icc.finetune import AffinitySettings, export_affinity_adapter, train_affinity
from sklearn_icc.runtime.model.affinity import AffinitySpec


VIEWS = 4  # the shipped adapter's test-time views (docs/learned_affinity.rst)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", default="affinity-run", help="the run's folder (checkpoints, state, run.json)")
    parser.add_argument("--out", default=None, help="export the adapter here (e.g. sklearn_icc/adapters/affinity)")
    parser.add_argument("--model", default="default")
    parser.add_argument("--episodes", type=int, default=20000)
    parser.add_argument("--layers", type=int, default=9)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--scheduler", default="cosine", choices=("cosine", "constant"))
    parser.add_argument("--rank", type=int, default=112, help="rank of the stored layer changes")
    parser.add_argument("--views", type=int, default=VIEWS,
                        help="test-time views the exported adapter averages (signed feature permutations)")
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--save-every", type=int, default=75)
    parser.add_argument("--minutes", type=float, default=None, help="stop after this long (not deterministic)")
    parser.add_argument("--stop-step", type=int, default=None,
                        help="stop after this many steps, the schedule still spanning --episodes")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--random-layers", action="store_true")
    parser.add_argument("--lora-rank", type=int, default=None, help="LoRA on the layers instead of all weights")
    parser.add_argument("--layer-lr", type=float, default=1e-4, help="peak learning rate of the layers")
    parser.add_argument("--warmup", type=int, default=100, help="warm-up steps")
    parser.add_argument("--point-attention", default="bidirectional", choices=("bidirectional", "causal"))
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    settings = AffinitySettings(
        spec=AffinitySpec(n_layers=args.layers, point_attention=args.point_attention), n_episodes=args.episodes,
        batch_size=args.batch_size, lora_rank=args.lora_rank, layer_learning_rate=args.layer_lr,
        warmup_steps=args.warmup,
        scheduler=args.scheduler, eval_every=args.eval_every, save_every=args.save_every,
        time_limit_minutes=args.minutes, stop_step=args.stop_step, threads=args.threads, seed=args.seed,
        random_layers=args.random_layers,
    )
    run = train_affinity(args.model, args.run, settings=settings, resume=args.resume, overwrite=args.overwrite)
    print(f"trained {run['episodes']} episodes in {run['train_seconds'] / 60:.1f} min", file=sys.stderr)
    if args.out:
        config = export_affinity_adapter(args.run, args.out, rank=args.rank, model=args.model, n_views=args.views)
        size = sum(entry["bytes"] for entry in config["files"].values()) / 2**20
        print(f"exported {args.out} (rank {args.rank}, {size:.1f} MB)", file=sys.stderr)


if __name__ == "__main__":
    main()
