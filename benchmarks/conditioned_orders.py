"""How much the conditioned reading's partition depends on the order of the texts.

Each text is read on its own, so the reading does not depend on the order; the
partition (spectral clustering or spherical k-means, :func:`readout_labels`) can. Every
condition of ``conditioned_texts.CONDITIONS`` is read once (default model, default
settings), then partitioned for ``--orders`` seeded permutations of the texts, with
``--restarts`` restarts of each readout without the wide k-means search (1 is the
readout before restarts, 5 the one before the wide search), and with the estimators'
default (:data:`~sklearn_icc.cluster._conditioned.N_RESTARTS` restarts and the wide
search, :func:`~sklearn_icc.cluster._conditioned.wide_kmeans_labels`), all on the
plain reading's design chosen by eigengap. The last three columns are the estimators'
partition (:func:`~sklearn_icc.cluster._conditioned.conditioned_partition`: for an
attitude condition, the plain or the opened reading, whichever's designs agree more),
over the same orders and in the loader's order, and the estimators' fit, which
partitions the texts sorted by text whatever their order
(:func:`~sklearn_icc.cluster._by_condition.reading_order`; here from the states read in
the loader's order, permuted). Prints the median, lowest and highest ARI against the
labeling the condition names::

    OMP_NUM_THREADS=2 python benchmarks/conditioned_orders.py --restarts 1 5
    OMP_NUM_THREADS=2 python benchmarks/conditioned_orders.py --restarts   # the default and the estimators' only
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.metrics import adjusted_rand_score

from conditioned_texts import CONDITIONS, load


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", nargs="+", default=list(CONDITIONS), choices=list(CONDITIONS))
    parser.add_argument("--orders", type=int, default=10)
    parser.add_argument("--restarts", type=int, nargs="*", default=[1, 5])
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)
    from sklearn_icc import AttentionSpectralClustering
    from sklearn_icc.cluster._by_condition import read, reading_order
    from sklearn_icc.cluster._conditioned import (CANDIDATES, N_RESTARTS, choose_design, conditioned_partition,
                                                  readout_labels)
    from sklearn_icc.runtime.prompts.questions import check_condition, condition_kind

    estimator = AttentionSpectralClustering(2, condition="topic")
    loaded = estimator._model_spec().load()
    variants = [(r, False) for r in args.restarts] + [(N_RESTARTS, True)]
    print("| data | condition | " + " | ".join(f"{r} restart(s){' + wide' if w else ''}: median / min / max"
                                             for r, w in variants)
          + " | estimators' partition: median / min / max | estimators' partition, loader's order"
          + " | estimators' fit (sorted by text, any order) |")
    print("|---|---|" + "---|" * (len(variants) + 3))
    for data in args.data:
        texts, labels = load(data)
        for condition, target in CONDITIONS[data].items():
            k = len(np.unique(labels[target]))
            estimator.condition = condition
            kind = condition_kind(check_condition(condition))
            reading, n_states = read(estimator, loaded, texts, opened=kind == "attitude")
            cells = []
            def ari(order, restarts, wide):
                states = {slot: v[order] for slot, v in reading.states.items()}
                _, F, _, A, _ = choose_design(states, n_states, k, 10, CANDIDATES[kind], held=reading.layers)
                found, _ = readout_labels(F, A, k, np.random.RandomState(0), n_restarts=restarts, wide=wide)
                return adjusted_rand_score(labels[target][order], found)

            def shipped(order):
                states = {slot: v[order] for slot, v in reading.states.items()}
                found = conditioned_partition(states, n_states, k, 10, np.random.RandomState(0), held=reading.layers,
                                              kind=kind)[0]
                return adjusted_rand_score(labels[target][order], found)

            orders = [np.random.default_rng(seed).permutation(len(texts)) for seed in range(args.orders)]
            for restarts, wide in variants:
                scores = [ari(order, restarts, wide) for order in orders]
                cells.append(f"{np.median(scores):.2f} / {np.min(scores):.2f} / {np.max(scores):.2f}")
            scores = [shipped(order) for order in orders]
            cells.append(f"{np.median(scores):.2f} / {np.min(scores):.2f} / {np.max(scores):.2f}")
            cells.append(f"{shipped(np.arange(len(texts))):.2f}")
            cells.append(f"{shipped(reading_order(texts)):.2f}")
            print(f"| {data} | {condition} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"\n({time.perf_counter() - t0:.0f} s)")
