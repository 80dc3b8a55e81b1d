"""What one episode costs against the forward passes it cannot avoid, measured in one run.

    OMP_NUM_THREADS=2 python benchmarks/speed.py --episodes 5

Every path is timed beside its own reference in the same process, so the ratio holds on
a noisy machine even where the seconds do not (report both; the seconds are only
meaningful on a quiet one). Medians over ``--episodes`` seeded episodes (n=50, d=3,
k=3, df=2):

- ``InContextClustering`` with each point format: the whole ``fit`` against one forward
  pass of ``model(ids)`` over the prompt plus its answer tokens (the limit: with perfect
  guesses, window verification confirms every label in the prompt's own pass); also
  the prompt's tokens and the tokens per point of the data.
- ``AttentionSpectralClustering`` at a fixed layer (hidden states): ``fit`` against a
  forward pass that stops after that layer, plus the spectral step.
- ``layer="auto"``: ``fit`` against one full SDPA forward pass.
- ``n_orderings=3`` against one ordering.
- ``--large N`` (e.g. 1000) also times a chunked fit of N points.

Decoding labels are unchanged by any of this (tests/runtime/test_decoding.py checks the
windowed decoder against one label per pass).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from sklearn_icc import AttentionSpectralClustering, InContextClustering
from sklearn_icc.datasets import make_mixture
from sklearn_icc.runtime import load_model
from sklearn_icc.runtime.capture import decoder_layers
from sklearn_icc.runtime.decoding import answer_tokens


class _Stop(Exception):
    pass


def _seconds(fn):
    tic = time.perf_counter()
    out = fn()
    return time.perf_counter() - tic, out


def _forward(loaded, ids, stop_after=None):
    """One SDPA forward pass over ``ids``; with ``stop_after``, the layers up to that one only."""
    handle = None
    if stop_after is not None:
        def hook(module, args, output):
            raise _Stop

        handle = decoder_layers(loaded.model)[stop_after].register_forward_hook(hook)
    try:
        with torch.inference_mode():
            loaded.model(input_ids=torch.as_tensor([ids], device=loaded.device), use_cache=False)
    except _Stop:
        pass
    finally:
        if handle is not None:
            handle.remove()


def _answer_ids(loaded, labels, n_clusters):
    layout = answer_tokens(loaded, n_clusters)
    ids = list(layout.open)
    for i, label in enumerate(labels):
        ids += ([] if i == 0 else list(layout.separator)) + [layout.labels[int(label)]]
    return ids + list(layout.close)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--large", type=int, default=0, help="also time a chunked fit of this many points")
    args = parser.parse_args(argv)
    seconds, loaded = _seconds(lambda: load_model(args.model, device="cpu"))
    print(f"model loaded in {seconds:.2f} s; torch threads: {torch.get_num_threads()}")
    episodes = [make_mixture(args.n, 3, 3, df=2.0, random_state=seed)[0] for seed in range(args.episodes)]
    common = dict(model=args.model, device="cpu")
    InContextClustering(3, **common).fit(episodes[0])  # warm-up
    print("\n| path | seconds | reference seconds | ratio | prompt tokens | data tokens/point |")
    print("|---|---|---|---|---|---|")

    def row(name, pairs, tokens="", per_point=""):
        total, reference = np.median([p[0] for p in pairs]), np.median([p[1] for p in pairs])
        print(f"| {name} | {total:.2f} | {reference:.2f} | {total / reference:.2f} | {tokens} | {per_point} |")

    for point_format in ("paper", "compact"):
        pairs, tokens, per_point = [], [], []
        for X in episodes:
            seconds, icc = _seconds(lambda: InContextClustering(3, point_format=point_format, **common).fit(X))
            prompt = icc._fit_details["prompts"][0]
            ids = list(prompt.input_ids) + _answer_ids(loaded, icc.labels_, 3)
            pairs.append((seconds, _seconds(lambda: _forward(loaded, ids))[0]))
            tokens.append(prompt.n_tokens)
            per_point.append((prompt.point_spans[-1, 1] - prompt.point_spans[0, 0]) / len(X))
        row(f"ICC, {point_format} format (vs one pass over prompt + answer)", pairs, f"{np.median(tokens):.0f}",
            f"{np.median(per_point):.1f}")
    for layer in (9,):
        pairs = []
        for X in episodes:
            seconds, asc = _seconds(lambda: AttentionSpectralClustering(3, layer=layer, random_state=0,
                                                                        **common).fit(X))
            ids = InContextClustering(3, **common).fit(X)._fit_details["prompts"][0].input_ids
            pairs.append((seconds, _seconds(lambda: _forward(loaded, ids, stop_after=layer))[0]))
        row(f"ASC, hidden, layer {layer} (vs a pass stopped after it)", pairs)
    pairs = []
    for X in episodes:
        seconds, _ = _seconds(lambda: AttentionSpectralClustering(3, layer="auto", random_state=0, **common).fit(X))
        ids = InContextClustering(3, **common).fit(X)._fit_details["prompts"][0].input_ids
        pairs.append((seconds, _seconds(lambda: _forward(loaded, ids))[0]))
    row('ASC, hidden, layer="auto" (vs one full pass)', pairs)
    pairs = []
    for X in episodes:
        three, _ = _seconds(lambda: InContextClustering(3, n_orderings=3, point_format="compact", random_state=0,
                                                        **common).fit(X))
        one, _ = _seconds(lambda: InContextClustering(3, point_format="compact", random_state=0, **common).fit(X))
        pairs.append((three, one))
    row("ICC, compact, n_orderings=3 (vs one ordering)", pairs)
    if args.large:
        X = make_mixture(args.large, 3, 3, df=2.0, random_state=0)[0]
        seconds, _ = _seconds(lambda: InContextClustering(3, random_state=0, **common).fit(X))
        print(f"\nA chunked fit of {args.large} points (paper format): {seconds:.1f} s")


if __name__ == "__main__":
    main()
