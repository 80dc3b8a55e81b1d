"""What torch's CPU thread count does to prefill and to decode, measured in one run.

    python benchmarks/threads.py --episodes 5 --threads 1 2

Medians over ``--episodes`` seeded episodes (n=50, d=3, k=3, df=2, compact format: a
prompt of about 420 tokens), the default model, greedy ``constrained_decode``. Each
episode runs under every thread count in turn (the order alternating between episodes,
so drift on a shared machine falls on both), and reports:

- prefill: the prompt's forward pass (``DecodeResult.prefill_seconds``);
- decode: the label passes after it (``decode_seconds``), with window verification
  (``window=16``, the default) and one label per pass (``window=1``), and seconds per
  decode pass.

Ratios are against the first thread count. The load average is printed beside the
numbers: on a machine shared with other jobs, a second thread may get no core of its own.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import torch

from sklearn_icc.datasets import make_mixture
from sklearn_icc.runtime import build_prompt, constrained_decode, load_model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--windows", type=int, nargs="+", default=[16, 1])
    args = parser.parse_args(argv)
    loaded = load_model(args.model, device="cpu")
    prompts = [build_prompt(make_mixture(args.n, 3, 3, df=2.0, random_state=seed)[0], 3, loaded.tokenizer,
                            point_format="compact") for seed in range(args.episodes)]
    load_before = os.getloadavg()
    constrained_decode(loaded, prompts[0], 3)  # warm-up
    rows = {}  # (threads, window) -> list of (prefill, decode, decode passes)
    for i, prompt in enumerate(prompts):
        for threads in args.threads if i % 2 == 0 else args.threads[::-1]:
            torch.set_num_threads(threads)
            for window in args.windows:
                result = constrained_decode(loaded, prompt, 3, window=window)
                rows.setdefault((threads, window), []).append(
                    (result.prefill_seconds, result.decode_seconds, result.n_forward_passes - 1))
    load_after = os.getloadavg()
    tokens = np.median([prompt.n_tokens for prompt in prompts])
    print(f"{os.cpu_count()} CPUs; load average (1, 5, 15 min) before: {_load(load_before)}, after: "
          f"{_load(load_after)}; prompt tokens: {tokens:.0f}; medians of {args.episodes} episodes\n")
    print("| threads | window | prefill s | decode s | decode passes | s per decode pass | "
          f"prefill ratio to {args.threads[0]} | decode ratio to {args.threads[0]} |")
    print("|---|---|---|---|---|---|---|---|")
    for window in args.windows:
        base = np.median(rows[(args.threads[0], window)], axis=0)
        for threads in args.threads:
            prefill, decode, passes = np.median(rows[(threads, window)], axis=0)
            print(f"| {threads} | {window} | {prefill:.2f} | {decode:.2f} | {passes:.0f} | {decode / passes:.3f} | "
                  f"{prefill / base[0]:.2f} | {decode / base[1]:.2f} |")


def _load(values):
    return ", ".join(f"{value:.2f}" for value in values)


if __name__ == "__main__":
    main()
