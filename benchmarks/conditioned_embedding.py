"""ConditionedTextEmbedding in a pipeline: KMeans on its vectors, every condition of the shipped sets.

    cd benchmarks && OMP_NUM_THREADS=2 python conditioned_embedding.py [--data support friends]

For each condition of ``conditioned_texts.py`` (rewordings included), the texts go
through ``make_pipeline(ConditionedTextEmbedding(condition), KMeans(k, n_init=10))``
with the default ``design="auto"`` (k: the number of classes of the labeling the
condition names) and the ARI of its labels against every labeling is printed, with the
design ``"auto"`` chose and, for attitude-like conditions, each reading's agreement
(``reading_agreement_``). Default model, zero-shot. The texts are shuffled with a fixed
seed, as in ``conditioned_texts.py``.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
from sklearn.metrics import adjusted_rand_score

from conditioned_texts import CONDITIONS, load


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", nargs="+", default=list(CONDITIONS), choices=list(CONDITIONS))
    args = parser.parse_args()
    import torch
    from sklearn.cluster import KMeans
    from sklearn.pipeline import make_pipeline

    from sklearn_icc import ConditionedTextEmbedding

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    warnings.filterwarnings("ignore", category=UserWarning)
    seeded = "random_state" in ConditionedTextEmbedding().get_params()
    print("| data | condition | design | ARI vs the labeling asked | largest ARI vs another | agreement |\n"
          "|---|---|---|---|---|---|")
    for data in args.data:
        texts, labels = load(data)
        order = np.random.default_rng(0).permutation(len(texts))
        texts = [texts[i] for i in order]
        labels = {name: y[order] for name, y in labels.items()}
        for condition, target in CONDITIONS[data].items():
            k = len(np.unique(labels[target]))
            embedding = ConditionedTextEmbedding(condition, **({"random_state": 0} if seeded else {}))
            predicted = make_pipeline(embedding, KMeans(k, n_init=10, random_state=0)).fit_predict(texts)
            others = [adjusted_rand_score(y, predicted) for name, y in labels.items() if name != target]
            agreement = getattr(embedding, "reading_agreement_", {})
            shown = ", ".join(f"{slot} {value:.2f}" for slot, value in agreement.items()) or "-"
            print(f"| {data} | {condition} | {embedding.design_.name} | "
                  f"{adjusted_rand_score(labels[target], predicted):.2f} | {max(others):.2f} | {shown} |", flush=True)


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"\n({time.perf_counter() - start:.0f} s; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '1')})")
