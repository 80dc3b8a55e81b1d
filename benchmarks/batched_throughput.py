"""Episodes per second of ``in_context_clustering_many`` at several batch sizes.

    python benchmarks/batched_throughput.py --episodes 16 --threads 1

Table 1 episodes (``sklearn_icc.benchmarking.episode_data``: Student-t mixtures, d=3,
k=3, n uniform in [10, 50]) on the default model, CPU. For each batch size it clusters
all episodes with one call and reports episodes per second, and whether the labels
equal those of one episode at a time (``in_context_clustering`` in a loop, also timed).
The machine's one-minute load average is printed with each row: on a shared machine,
read the numbers as relative.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from sklearn_icc import in_context_clustering, in_context_clustering_many
from sklearn_icc.benchmarking import episode_data
from sklearn_icc.runtime import load_model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--episodes", type=int, default=16)
    parser.add_argument("--df", type=float, default=2.0)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--prefill", default="auto", choices=["auto", "padded", "apart"])
    parser.add_argument("--no-baseline", action="store_true", help="skip the one-at-a-time loop")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"load average before: {os.getloadavg()[0]:.2f}; torch threads: {torch.get_num_threads()}")
    load_model(args.model, device="cpu")
    episodes = [episode_data(args.df, e)[0] for e in range(args.episodes)]
    print(f"{len(episodes)} episodes, n = {[len(X) for X in episodes]}, mean {np.mean([len(X) for X in episodes]):.1f}")
    in_context_clustering_many(episodes[:2], 3, model=args.model, device="cpu", batch_size=2)  # warm-up

    print("\n| run | seconds | episodes/s | labels as one at a time | load average |", flush=True)
    print("|---|---|---|---|---|", flush=True)
    reference = None

    def report(name, seconds, same):
        print(f"| {name} | {seconds:.1f} | {len(episodes) / seconds:.3f} | {same} | {os.getloadavg()[0]:.1f} |",
              flush=True)

    if not args.no_baseline:
        tic = time.perf_counter()
        reference = [in_context_clustering(X, 3, model=args.model, device="cpu")[0] for X in episodes]
        report("one at a time (in_context_clustering)", time.perf_counter() - tic, "-")
    for batch_size in args.batch_sizes:
        tic = time.perf_counter()
        labels, _ = in_context_clustering_many(
            episodes, 3, model=args.model, device="cpu", batch_size=batch_size, prefill=args.prefill
        )
        seconds = time.perf_counter() - tic
        reference = labels if reference is None else reference
        same = all(np.array_equal(a, b) for a, b in zip(reference, labels))
        report(f"batch_size={batch_size}, prefill={args.prefill}", seconds, "yes" if same else "NO")


if __name__ == "__main__":
    main()
