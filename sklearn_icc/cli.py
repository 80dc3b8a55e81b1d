"""The ``sklearn-icc`` command: ``demo``, ``bench <suite>`` and ``finetune``."""

from __future__ import annotations

import argparse
import sys
import time


def _demo_datasets(seed):
    import numpy as np
    from sklearn.datasets import load_iris

    from .datasets import make_mixture

    X_t, y_t = make_mixture(50, 3, 3, dist="t", df=1.5, random_state=seed)
    iris = load_iris()
    rng = np.random.default_rng(seed)
    # 15 flowers of each species: one prompt of 45 points.
    rows = np.concatenate([rng.choice(np.flatnonzero(iris.target == c), 15, replace=False) for c in range(3)])
    rng.shuffle(rows)
    return [
        ("student-t df=1.5 (n=50, d=3, k=3)", X_t, y_t),
        ("iris (n=45, d=4, k=3)", iris.data[rows], iris.target[rows]),
    ]


def _demo_methods(model):
    from sklearn.cluster import KMeans
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from .cluster import InContextClustering

    return [
        ("KMeans", lambda: make_pipeline(StandardScaler(), KMeans(3, n_init=10, random_state=0))),
        ("ICC paper format", lambda: make_pipeline(StandardScaler(), InContextClustering(3, model=model))),
        (
            "ICC compact format",
            lambda: make_pipeline(StandardScaler(), InContextClustering(3, model=model, point_format="compact")),
        ),
    ]


def demo(args):
    """Print ICC against KMeans on a heavy-tailed mixture and on iris."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from .metrics import clustering_accuracy
    from .runtime import load_model

    start = time.perf_counter()
    loaded = load_model(args.model)
    print(f"model: {loaded.name} on {loaded.device} ({str(loaded.dtype).replace('torch.', '')}), "
          f"loaded in {time.perf_counter() - start:.1f} s")
    print("ICC is zero-shot here: small models cluster poorly without fine-tuning.\n")
    header = f"| {'data':<34} | {'method':<18} | {'ACC':>5} | {'ARI':>5} | {'NMI':>5} | {'seconds':>7} |"
    print(header)
    print("|" + "|".join("-" * (len(part)) for part in header.split("|")[1:-1]) + "|")
    for data_name, X, y in _demo_datasets(args.seed):
        for method_name, make in _demo_methods(args.model):
            start = time.perf_counter()
            labels = make().fit_predict(X)
            seconds = time.perf_counter() - start
            print(
                f"| {data_name:<34} | {method_name:<18} | {clustering_accuracy(y, labels):5.2f} | "
                f"{adjusted_rand_score(y, labels):5.2f} | {normalized_mutual_info_score(y, labels):5.2f} | "
                f"{seconds:7.2f} |"
            )
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="sklearn-icc", description="In-Context Clustering with LLMs.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser("demo", help="ICC against KMeans on two small data sets")
    p_demo.add_argument("--model", default="default", help="model id or local path (default: the embedded model)")
    p_demo.add_argument("--seed", type=int, default=0)
    p_demo.set_defaults(func=demo)
    sub.add_parser("bench", help="benchmark suites: paper-t, real, ... (sklearn-icc bench --help)", add_help=False)
    sub.add_parser("finetune", help="train a LoRA adapter (sklearn-icc finetune --help)", add_help=False)
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["finetune"]:
        from .finetune.cli import main as finetune_main

        return finetune_main(argv[1:])
    if argv[:1] == ["bench"]:
        # argparse's REMAINDER refuses options such as --quick right after the command.
        from .benchmarking import main as bench_main

        return bench_main(argv[1:])
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
