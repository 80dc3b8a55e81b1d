"""Paper-scale adapter training on one GPU: about 100k episodes, bf16, then Table 1.

    python benchmarks/train_gpu.py --out $OUT/adapter [--episodes 100000] [--minutes 6] [--point-format embedding]

Trains with :func:`sklearn_icc.finetune.finetune` unchanged (paper grid, held-out df
1.25/1.5/1.75 kept out, LoRA on q/k/v/o, lr 5e-4 cosine, effective batch 32, answers in
canonical order), then evaluates the adapter on the paper's Table 1 setting (d=3, k=3,
df 1..100, n in [10, 50]) against KMeans and the zero-shot model on the same seeded
episodes, and writes ``table1.json`` next to the adapter. ``--minutes`` caps the
training time (the schedule is planned for all the episodes, so size ``--episodes`` to
the GPU). Not yet run on a GPU by this project: no device was lent when it was written.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np

from sklearn_icc.datasets import EpisodeGrid, make_mixture
from sklearn_icc.finetune import LoraSettings, TrainingSettings, finetune
from sklearn_icc.metrics import clustering_accuracy
from sklearn_icc.runtime import POINT_FORMATS

TABLE1_DFS = (1.0, 1.25, 1.5, 1.75, 2.0, 5.0, 100.0)


def table1(estimators, n_episodes, seed=0):
    """ACC and ARI per df and method on the same seeded Table 1 episodes."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    rows = []
    for df in TABLE1_DFS:
        for episode in range(n_episodes):
            rng = np.random.default_rng([seed, int(df * 1000), episode])
            n = int(rng.integers(10, 51))
            X, y = make_mixture(n, 3, 3, df=df, random_state=int(rng.integers(2**31 - 1)))
            methods = {"kmeans": KMeans(3, n_init=10, random_state=0), **estimators}
            for name, estimator in methods.items():
                start = time.perf_counter()
                labels = estimator.fit_predict(X)
                rows.append({"df": df, "episode": episode, "method": name, "acc": clustering_accuracy(y, labels),
                             "ari": adjusted_rand_score(y, labels), "seconds": time.perf_counter() - start})
    summary = {}
    for row in rows:
        cell = summary.setdefault(row["method"], {}).setdefault(str(row["df"]), {"acc": [], "ari": []})
        cell["acc"].append(row["acc"])
        cell["ari"].append(row["ari"])
    return {method: {df: {key: float(np.mean(v)) for key, v in cell.items()} for df, cell in cells.items()}
            for method, cells in summary.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--model", default="default")
    parser.add_argument("--episodes", type=int, default=100_000)
    parser.add_argument("--micro-batch-size", type=int, default=32)
    parser.add_argument("--rank", type=int, default=16, help="16 keeps the adapter file under 16 MB")
    parser.add_argument("--minutes", type=float, default=None)
    parser.add_argument("--eval-episodes", type=int, default=100)
    parser.add_argument("--point-format", default="compact", choices=POINT_FORMATS,
                        help="'compact' is the estimators' default; 'embedding' also trains the point projector")
    args = parser.parse_args(argv)
    training = TrainingSettings(
        n_episodes=args.episodes, batch_size=32, micro_batch_size=args.micro_batch_size, eval_every=200,
        n_eval_episodes=50, save_every=500, point_format=args.point_format, time_limit_minutes=args.minutes,
    )
    icc = finetune(args.model, args.out, grid=EpisodeGrid(), lora=LoraSettings(r=args.rank), training=training,
                   overwrite=True)
    from sklearn.base import clone

    # The zero-shot model has no point projector: it reads the default format.
    zero_shot = clone(icc).set_params(adapter=None, point_format="compact")
    results = table1({"icc-adapter": icc, "icc-zero-shot": zero_shot}, args.eval_episodes)
    Path(args.out, "table1.json").write_text(json.dumps(results, indent=2))
    for method, cells in results.items():
        print(method, {df: round(cell["acc"], 3) for df, cell in cells.items()})


if __name__ == "__main__":
    main()
