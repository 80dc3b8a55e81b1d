"""What reading attention costs: point attention within SDPA at the chosen layers,
against the whole model in eager attention and against plain SDPA passes, in one run.

    OMP_NUM_THREADS=1 python benchmarks/attention_capture.py --episodes 5

Medians over ``--episodes`` seeded episodes (n=50, d=3, k=3, df=2, the paper format that
``AttentionSpectralClustering`` uses), each path timed beside its reference in the same
episode, so the ratios hold on a noisy machine even where the seconds do not. Wall and
process CPU seconds are both reported; on a machine shared with other jobs the CPU
seconds (with one thread) are the steadier measure of the work:

- one full SDPA forward pass over the prompt (logits included), one stopped after the
  last layer (what a capture of every layer runs: no final norm, no logits), and one
  stopped after layer ``--layer``;
- ``AttentionSpectralClustering(3, affinity="attention", layer=L)``: before (the whole
  model in eager attention, its weights pooled by hooks, as capture ran before) and
  after (``sklearn_icc.runtime.capture.attention``);
- ``layer="auto"`` with the attention affinity (every layer, before and after) and with
  the hidden affinity, against one full SDPA pass.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from sklearn_icc import AttentionSpectralClustering
from sklearn_icc.datasets import make_mixture
from sklearn_icc.runtime.capture.points import n_decoder_layers
from sklearn_icc.runtime.capture.attention import eager_attention
from speed import _forward


def _timed(fn):
    """``(wall seconds, process CPU seconds)`` of ``fn()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--layer", type=int, default=9)
    args = parser.parse_args(argv)
    common = dict(model=args.model, device="cpu", random_state=0)
    L = args.layer

    def fit(layer, affinity, all_eager=False):
        estimator = AttentionSpectralClustering(3, layer=layer, affinity=affinity, **common)
        if not all_eager:
            return _timed(lambda: estimator.fit(X))
        with eager_attention(estimator._resolve_runtime()[0].model):
            return _timed(lambda: estimator.fit(X))

    load_before = os.getloadavg()
    episodes = [make_mixture(args.n, 3, 3, df=2.0, random_state=seed)[0] for seed in range(args.episodes)]
    warm_up = AttentionSpectralClustering(3, layer=L, affinity="attention", **common)
    loaded, spec = warm_up.fit(episodes[0])._resolve_runtime()
    n_layers = n_decoder_layers(loaded)
    times = {}
    tokens = []
    for X in episodes:
        ids = spec.build(spec.encode(X, loaded), 3, loaded).input_ids
        tokens.append(len(ids))
        measured = {
            "full": _timed(lambda: _forward(loaded, ids)),
            "stopped": _timed(lambda: _forward(loaded, ids, stop_after=L)),
            "body": _timed(lambda: _forward(loaded, ids, stop_after=n_layers - 1)),
            "layer_before": fit(L, "attention", all_eager=True),
            "layer_after": fit(L, "attention"),
            "auto_before": fit("auto", "attention", all_eager=True),
            "auto_after": fit("auto", "attention"),
            "auto_hidden": fit("auto", "hidden"),
        }
        for name, seconds in measured.items():
            times.setdefault(name, []).append(seconds)
    median = {name: np.median(values, axis=0) for name, values in times.items()}
    load = " -> ".join(", ".join(f"{value:.2f}" for value in values) for values in (load_before, os.getloadavg()))
    print(f"torch threads: {torch.get_num_threads()}; load average (1, 5, 15 min) before -> after: {load}; "
          f"prompt tokens: {np.median(tokens):.0f}; medians of {args.episodes} episodes\n")
    print("| path | wall s | CPU s | reference | ref. wall s | ref. CPU s | wall ratio | CPU ratio |")
    print("|---|---|---|---|---|---|---|---|")

    def row(name, key, reference):
        (wall, cpu), (base_wall, base_cpu) = median[key], median[reference]
        print(f"| {name} | {wall:.2f} | {cpu:.2f} | {reference_names[reference]} | {base_wall:.2f} | {base_cpu:.2f} | "
              f"{wall / base_wall:.2f} | {cpu / base_cpu:.2f} |")

    reference_names = {"full": "full SDPA pass", "stopped": f"SDPA pass stopped after layer {L}",
                       "body": f"SDPA pass stopped after layer {n_layers - 1} (no logits)",
                       "layer_before": "the same, all-eager", "auto_before": "the same, all-eager"}
    row(f"SDPA pass stopped after layer {L}", "stopped", "full")
    row(f"SDPA pass stopped after layer {n_layers - 1} (no logits)", "body", "full")
    row(f"ASC attention, layer={L}, all-eager (before)", "layer_before", "stopped")
    row(f"ASC attention, layer={L} (after)", "layer_after", "stopped")
    row(f"ASC attention, layer={L}, after against before", "layer_after", "layer_before")
    row('ASC attention, layer="auto", all-eager (before)', "auto_before", "full")
    row('ASC attention, layer="auto" (after)', "auto_after", "full")
    row('ASC attention, layer="auto" (after)', "auto_after", "body")
    row('ASC attention, layer="auto", after against before', "auto_after", "auto_before")
    row('ASC hidden, layer="auto"', "auto_hidden", "full")
    row('ASC hidden, layer="auto"', "auto_hidden", "body")


if __name__ == "__main__":
    main()
