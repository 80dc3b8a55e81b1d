"""Seconds per 1,000 texts of the conditioned reading (AttentionSpectralClustering with a condition).

``--n`` texts (the 128 shipped topic/sentiment texts, repeated with a numbered suffix
so no two are the same; ``--words 20`` joins each with the next shipped ones until it
has at least that many words, since the shipped texts have about 12) are clustered with
``AttentionSpectralClustering(4, condition="topic")`` and ``condition="sentiment"``
(k=2), default model, default settings; the fit's wall time is scaled to 1,000 texts.
The goal is at most 100 s per 1,000 texts on 2 quiet cores; say how quiet the machine
was (the load average is printed)::

    OMP_NUM_THREADS=2 python benchmarks/conditioned_speed.py --n 1000 --words 20
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
    print("| condition | k | seconds | seconds per 1,000 texts |\n|---|---|---|---|")
    for condition, k in (("topic", 4), ("sentiment", 2)):
        start = time.perf_counter()
        AttentionSpectralClustering(k, condition=condition, random_state=0).fit(X)
        seconds = time.perf_counter() - start
        print(f"| {condition} | {k} | {seconds:.1f} | {1000 * seconds / args.n:.0f} |", flush=True)
    print(f"load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
