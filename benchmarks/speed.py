"""What one episode costs against the forward passes it cannot avoid, measured in one run.

    OMP_NUM_THREADS=2 python benchmarks/speed.py --episodes 5

Every path is timed beside its own reference in the same process, so the ratio holds on
a noisy machine even where the seconds do not (report both; the seconds are only
meaningful on a quiet one). Medians over ``--episodes`` seeded episodes (n=50, d=3,
k=3, df=2):

- ``InContextClustering`` with each point format: the whole ``fit`` against one forward
  pass of ``model(ids)`` over the prompt plus its answer tokens (the limit: with perfect
  guesses, window verification confirms every label in the prompt's own pass); also
  the prompt's tokens, the tokens per point of the data and the forward passes. "cold"
  clears the stored prompt prefixes first; "prefix stored" fits again in the same
  process (``sklearn_icc.runtime.decoding.prefix_cache``).
- ``AttentionSpectralClustering`` (hidden states, then attention) at a fixed layer:
  ``fit`` against a forward pass over its own prompt that stops after that layer; with
  ``layer="auto"``, against one full SDPA forward pass.
- ``n_orderings=3`` against one ordering, both cold.
- ``--large N`` (e.g. 1000) also times a chunked fit of N points (``--save-labels`` keeps
  its labels, to compare versions).
- ``--profile`` profiles one default fit with ``torch.profiler``.

Decoding labels are unchanged by any of this (tests/runtime/decoding/test_constrained.py and
tests/runtime/decoding/test_prefix_cache.py check the decoder against one label per pass).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from sklearn.metrics import adjusted_rand_score

from sklearn_icc import AttentionSpectralClustering, InContextClustering
from sklearn_icc.datasets import make_mixture
from sklearn_icc.metrics import clustering_accuracy
from sklearn_icc.runtime.capture.points import decoder_layers
from sklearn_icc.runtime.decoding.constrained import answer_tokens
from sklearn_icc.runtime import build_prompt, clear_prefix_caches, load_model


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
        ids += ([] if i == 0 else list(layout.separator)) + list(layout.labels[int(label)])
    return ids + list(layout.close)


def profile_fit(loaded, X, common):
    """Where one default fit's time goes: the model's passes against the rest, then the top operators."""
    from torch.profiler import ProfilerActivity, profile, record_function

    body = loaded.model.model
    forward = body.forward

    def timed_forward(*args, **kwargs):
        with record_function("model pass"):
            return forward(*args, **kwargs)

    clear_prefix_caches()
    body.forward = timed_forward
    try:
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            with record_function("fit"):
                InContextClustering(3, **common).fit(X)
    finally:
        del body.forward
    events = {event.key: event for event in prof.key_averages()}
    fit, model = events["fit"].cpu_time_total, events["model pass"].cpu_time_total
    print(f"\nProfile of one default fit: {fit / 1e6:.2f} s, of which the model's forward passes "
          f"{model / 1e6:.2f} s ({model / fit:.0%})")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--large", type=int, default=0, help="also time a chunked fit of this many points")
    parser.add_argument("--save-labels", help="write the large fit's labels to this .npy file (to compare versions)")
    parser.add_argument("--profile", action="store_true",
                        help="also profile one default fit with torch.profiler and print where the time goes")
    args = parser.parse_args(argv)
    seconds, loaded = _seconds(lambda: load_model(args.model, device="cpu"))
    print(f"model loaded in {seconds:.2f} s; torch threads: {torch.get_num_threads()}")
    episodes = [make_mixture(args.n, 3, 3, df=2.0, random_state=seed)[0] for seed in range(args.episodes)]
    common = dict(model=args.model, device="cpu")
    InContextClustering(3, **common).fit(episodes[0])  # warm-up
    print("\n| path | seconds | reference seconds | ratio | prompt tokens | data tokens/point | passes |")
    print("|---|---|---|---|---|---|---|")

    def row(name, pairs, tokens="", per_point="", passes=""):
        total, reference = np.median([p[0] for p in pairs]), np.median([p[1] for p in pairs])
        ratio = np.median([p[0] / p[1] for p in pairs])
        print(f"| {name} | {total:.2f} | {reference:.2f} | {ratio:.2f} | {tokens} | {per_point} | {passes} |")

    for point_format in ("paper", "compact"):
        cold, warm, tokens, per_point, passes = [], [], [], [], []
        for X in episodes:
            def fit():
                return InContextClustering(3, point_format=point_format, **common).fit(X)

            clear_prefix_caches()  # cold: the instruction's keys and values are not stored yet
            seconds, icc = _seconds(fit)
            again, _ = _seconds(fit)  # warm: a process that has run this instruction before
            prompt = icc._fit_details["prompts"][0]
            ids = list(prompt.input_ids) + _answer_ids(loaded, icc.labels_, 3)
            reference = _seconds(lambda: _forward(loaded, ids))[0]
            cold.append((seconds, reference))
            warm.append((again, reference))
            tokens.append(prompt.n_tokens)
            per_point.append((prompt.point_spans[-1, 1] - prompt.point_spans[0, 0]) / len(X))
            passes.append(icc._fit_details["results"][0].n_forward_passes)
        row(f"ICC, {point_format} format, cold (vs one pass over prompt + answer)", cold, f"{np.median(tokens):.0f}",
            f"{np.median(per_point):.1f}", f"{np.median(passes):.0f}")
        row(f"ICC, {point_format} format, prefix stored (vs the same pass)", warm)
    for affinity in ("hidden", "attention"):
        for layer in (9, "auto"):
            pairs = []
            for X in episodes:
                seconds, asc = _seconds(lambda: AttentionSpectralClustering(3, layer=layer, affinity=affinity,
                                                                            random_state=0, **common).fit(X))
                ids = build_prompt(X, 3, loaded.tokenizer, point_format=asc.point_format).input_ids  # its own prompt
                stop = None if layer == "auto" else layer
                pairs.append((seconds, _seconds(lambda: _forward(loaded, ids, stop_after=stop))[0]))
            reference = "one full pass" if layer == "auto" else "a pass stopped after it"
            row(f"ASC, {affinity}, layer={layer!r} (vs {reference})", pairs)
    pairs = []
    for X in episodes:
        clear_prefix_caches()  # both cold: the three orderings compute the shared prefix once
        three, _ = _seconds(lambda: InContextClustering(3, n_orderings=3, random_state=0, **common).fit(X))
        clear_prefix_caches()
        one, _ = _seconds(lambda: InContextClustering(3, random_state=0, **common).fit(X))
        pairs.append((three, one))
    row("ICC, compact, n_orderings=3, cold (vs one ordering, cold)", pairs)
    if args.profile:
        profile_fit(loaded, episodes[0], common)
    if args.large:
        X, y = make_mixture(args.large, 3, 3, df=2.0, random_state=0)
        clear_prefix_caches()
        seconds, icc = _seconds(lambda: InContextClustering(3, random_state=0, **common).fit(X))
        print(f"\nA chunked fit of {args.large} points (compact, cold): {seconds:.1f} s; "
              f"ACC {clustering_accuracy(y, icc.labels_):.2f}, ARI {adjusted_rand_score(y, icc.labels_):.3f}")
        if args.save_labels:
            np.save(args.save_labels, icc.labels_)


if __name__ == "__main__":
    main()
