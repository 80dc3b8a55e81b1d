"""Seconds per 1,000 texts of the conditioned reading (AttentionSpectralClustering with a condition).

``--n`` texts (the 128 shipped topic/sentiment texts, repeated with a numbered suffix
so no two are the same; ``--words 20`` joins each with the next shipped ones until it
has at least that many words, since the shipped texts have about 12) are clustered with
``AttentionSpectralClustering(4, condition="topic")`` and ``condition="sentiment"``
(k=2), default model, default settings; the fit's wall time is scaled to 1,000 texts.
The goal is at most 100 s per 1,000 texts on 2 quiet cores; say how quiet the machine
was (the load average is printed)::

    OMP_NUM_THREADS=2 python benchmarks/conditioned_speed.py --n 1000 --words 20

``--compare`` measures, alternately in one run so that the machine's noise falls on
both, what the greedy answers cost: the reading of the texts with 10 answer tokens and
with none (what ``transform``, ``predict`` and ``score`` read), and the fit that asks
every text for its answer (``NAMED_PER_CLUSTER`` set beyond any fit, as before large
fits asked only the texts nearest each cluster's centre) against the default::

    OMP_NUM_THREADS=2 python benchmarks/conditioned_speed.py --n 1000 --words 20 --compare
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--words", type=int, default=0, help="join shipped texts up to this many words")
    parser.add_argument("--compare", action="store_true", help="answers or none, every text asked or the central ones")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    from sklearn_icc import AttentionSpectralClustering
    from sklearn_icc.data import load_topic_sentiment_texts
    from sklearn_icc.runtime import load_model

    texts, _, _ = load_topic_sentiment_texts()
    X = []
    for i in range(args.n):
        parts, j = [texts[i % len(texts)]], i + 1
        while len(" ".join(parts).split()) < args.words:
            parts.append(texts[j % len(texts)])
            j += 1
        X.append(" ".join(parts) + (f" ({i // len(texts) + 1})" if i >= len(texts) else ""))
    words = np.mean([len(t.split()) for t in X])
    load_model("default")
    print(f"{args.n} texts, {words:.1f} words each on average; threads {torch.get_num_threads()}; "
          f"load average before {os.getloadavg()[0]:.2f}")
    if args.compare:
        return compare(X, args.repeats)
    print("| condition | k | seconds | seconds per 1,000 texts |\n|---|---|---|---|")
    for condition, k in (("topic", 4), ("sentiment", 2)):
        start = time.perf_counter()
        AttentionSpectralClustering(k, condition=condition, random_state=0).fit(X)
        seconds = time.perf_counter() - start
        print(f"| {condition} | {k} | {seconds:.1f} | {1000 * seconds / args.n:.0f} |", flush=True)
    print(f"load average after {os.getloadavg()[0]:.2f}")


def compare(X, repeats):
    """Alternate each pair of variants ``repeats`` times; print seconds per 1,000 texts and ratios."""
    from sklearn_icc import AttentionSpectralClustering
    from sklearn_icc.cluster import _by_condition
    from sklearn_icc.runtime import load_model
    from sklearn_icc.runtime.capture.conditioned import read_texts

    loaded, scale = load_model("default"), 1000 / len(X)

    def timed(call):
        start = time.perf_counter()
        call()
        return time.perf_counter() - start

    def fit(condition, k, every):
        saved = _by_condition.NAMED_PER_CLUSTER
        _by_condition.NAMED_PER_CLUSTER = 10**9 if every else saved
        try:
            return AttentionSpectralClustering(k, condition=condition, random_state=0).fit(X)
        finally:
            _by_condition.NAMED_PER_CLUSTER = saved

    print("| what | variant A | variant B | s per 1,000 (A) | s per 1,000 (B) | B / A |\n|---|---|---|---|---|---|")
    pairs = [("read, topic", "10 answer tokens", "no answer", lambda: read_texts(loaded, X, "topic"),
              lambda: read_texts(loaded, X, "topic", answer_tokens=0))]
    for condition, k in (("topic", 4), ("sentiment", 2)):
        pairs.append((f"fit, {condition}, k={k}", "every text answered", "central texts answered",
                      lambda c=condition, k=k: fit(c, k, True), lambda c=condition, k=k: fit(c, k, False)))
    for what, name_a, name_b, a, b in pairs:
        times = {name_a: [], name_b: []}
        for _ in range(repeats):
            times[name_a].append(timed(a))
            times[name_b].append(timed(b))
        ta, tb = np.median(times[name_a]), np.median(times[name_b])
        print(f"| {what} | {name_a} | {name_b} | {scale * ta:.0f} | {scale * tb:.0f} | {tb / ta:.2f} |", flush=True)
    same = [fit("sentiment", 2, True), fit("sentiment", 2, False)]
    print(f"\nsentiment names, every text answered: {same[0].cluster_names_}; central texts: {same[1].cluster_names_}; "
          f"same labels: {bool((same[0].labels_ == same[1].labels_).all())}")
    print(f"load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
