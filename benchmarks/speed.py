"""Where the time of one episode goes: n=50, d=3, k=3 on the default model.

    python benchmarks/speed.py --episodes 10

For each point format, and for window verification against one label per pass, it
reports the mean prefill seconds (the prompt's forward pass, which also verifies the
first window of labels), decode seconds, total seconds, forward passes, prompt tokens
and the data's tokens per point. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from sklearn_icc.datasets import make_mixture
from sklearn_icc.runtime import build_prompt, constrained_decode, load_model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--n", type=int, default=50)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    loaded = load_model(args.model, device="cpu")
    print(f"model loaded in {time.perf_counter() - start:.2f} s; torch threads: {torch.get_num_threads()}")
    episodes = [make_mixture(args.n, 3, 3, df=2.0, random_state=seed)[0] for seed in range(args.episodes)]
    constrained_decode(loaded, build_prompt(episodes[0], 3, loaded.tokenizer), 3)  # warm-up
    print("\n| point format | window | prefill s | decode s | total s | passes | prompt tokens | data tokens/point |")
    print("|---|---|---|---|---|---|---|---|")
    for point_format in ("paper", "compact"):
        for window in (16, 1):
            rows = []
            for X in episodes:
                prompt = build_prompt(X, 3, loaded.tokenizer, point_format=point_format)
                tic = time.perf_counter()
                result = constrained_decode(loaded, prompt, 3, window=window)
                data_tokens = prompt.point_spans[-1, 1] - prompt.point_spans[0, 0]
                rows.append((result.prefill_seconds, result.decode_seconds, time.perf_counter() - tic,
                             result.n_forward_passes, prompt.n_tokens, data_tokens / len(X)))
            r = np.mean(rows, axis=0)
            print(f"| {point_format} | {window} | {r[0]:.2f} | {r[1]:.2f} | {r[2]:.2f} | {r[3]:.1f} | "
                  f"{r[4]:.0f} | {r[5]:.1f} |")


if __name__ == "__main__":
    main()
