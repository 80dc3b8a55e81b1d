"""The affinity recipe's choices, each measured against the shipped recipe at one short budget.

    OMP_NUM_THREADS=2 python benchmarks/affinity_ablations.py --episodes 2400 --runs runs/ablations

Every run trains on the same episodes (seed 0) for ``--episodes`` with the schedule
decayed to zero at the end, and is scored on 100 held-out episodes per df (1, 1.5, 5;
d=3, k=3, n 10-50; spectral clustering on the learned affinity, k given). One change
per row against ``shipped`` (the first 9 layers, all their weights, batches of 8,
points attending both ways): fewer or more layers, a batch of 32 (warm-up scaled to the
same episodes), LoRA of rank 64 on the layers (weights and norms frozen, a larger
learning rate, as LoRA is usually run), and causal attention between the points.
Finished runs are kept and not rerun (their ``run.json``); prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sklearn_icc.finetune import AffinitySettings, train_affinity
from sklearn_icc.runtime.model.affinity import AffinitySpec

VARIANTS = {
    "shipped": {},
    "layers-6": {"spec": {"n_layers": 6}},
    "layers-12": {"spec": {"n_layers": 12}},
    "batch-32": {"batch_size": 32, "warmup_steps": 25},
    "lora-64": {"lora_rank": 64, "layer_learning_rate": 5e-4},
    "causal": {"spec": {"point_attention": "causal"}},
}


def settings_for(name, episodes, threads):
    change = dict(VARIANTS[name])
    spec = AffinitySpec(**change.pop("spec", {}))
    batch = change.get("batch_size", 8)
    steps = -(-episodes // batch)
    return AffinitySettings(spec=spec, n_episodes=episodes, eval_every=steps, n_eval_episodes=100,
                            save_every=max(1, steps // 4), threads=threads, **change)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--episodes", type=int, default=2400)
    parser.add_argument("--runs", default="runs/ablations")
    parser.add_argument("--only", nargs="*", default=None, choices=sorted(VARIANTS))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    rows = []
    for name in args.only or list(VARIANTS):
        out = Path(args.runs) / name
        if not (out / "run.json").is_file():
            print(f"== {name}", flush=True)
            train_affinity("default", out, settings=settings_for(name, args.episodes, args.threads),
                           resume=(out / "checkpoints").is_dir())
        run = json.loads((out / "run.json").read_text())
        rows.append((name, run))
    print(f"\n{args.episodes} episodes each; 100 held-out episodes per df; ACC / ARI\n")
    print("| variant | minutes | episodes/s | df=1 | df=1.5 | df=5 |\n|---|---|---|---|---|---|")
    for name, run in rows:
        last = run["learning_curve"][-1]
        cells = " | ".join(f"{last[f'acc_df{df}']:.3f} / {last[f'ari_df{df}']:.3f}" for df in ("1", "1.5", "5"))
        minutes = run["train_seconds"] / 60
        print(f"| {name} | {minutes:.1f} | {run['episodes'] / run['train_seconds']:.2f} | {cells} |")


if __name__ == "__main__":
    main()
