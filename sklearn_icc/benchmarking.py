"""The paper's Table 1 benchmark: KMeans against zero-shot ICC on heavy-tailed mixtures.

Every episode is a mixture with ``d=3`` features, ``k=3`` clusters, Student-t noise of
``df`` degrees of freedom and ``n`` points, ``n`` uniform in ``[10, 50]``. Episodes are
seeded by ``(seed, df, episode index)`` only, so every method sees exactly the same
data, whatever subset of methods or ``df`` values a run asks for. Raw ``X`` is passed
to every method (no scaler), as in the paper.

Run it with ``sklearn-icc bench`` or ``python benchmarks/table1.py``; ``--help`` lists
the options. Per-episode rows are appended to ``results.csv`` as they are measured; a
rerun with the same ``--out`` skips the rows already there.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

DEFAULT_DFS = (1.0, 1.5, 2.0, 5.0, 100.0)
QUICK_DFS = (1.0, 5.0)
QUICK_EPISODES = 5
N_FEATURES = 3
N_CLUSTERS = 3
N_SAMPLES_RANGE = (10, 50)
METHOD_NAMES = {"kmeans": "KMeans", "icc-paper": "ICC paper", "icc-compact": "ICC compact"}
RESULT_COLUMNS = (
    "df", "episode", "n", "method", "acc", "ari", "nmi", "seconds", "prefill", "decode",
    "n_prompt_tokens", "decoding_failures",
)
RUN_SETTINGS = ("seed", "model", "decoding")


def episode_data(df, episode, seed=0):
    """Draw one Table 1 episode, the same for every method.

    The seed depends on ``seed``, the value of ``df`` (in thousandths) and ``episode``,
    not on which other ``df`` values are run, so a quick run's episodes are the first
    episodes of a full run.

    Parameters
    ----------
    df : float
        Degrees of freedom of the Student-t noise.
    episode : int
        Index of the episode within its ``df``.
    seed : int, default=0
        Base seed of the benchmark.

    Returns
    -------
    X : ndarray of shape (n, 3)
    y : ndarray of shape (n,)
        The true clusters.
    """
    from .datasets import make_mixture

    df_key = int(round(float(df) * 1000))
    n_seed, data_seed = np.random.SeedSequence([int(seed), df_key, int(episode)]).generate_state(2)
    low, high = N_SAMPLES_RANGE
    n_samples = int(np.random.default_rng(n_seed).integers(low, high, endpoint=True))
    return make_mixture(
        n_samples, N_CLUSTERS, N_FEATURES, dist="t", df=float(df), random_state=int(data_seed)
    )


def method_key(method, decoding):
    """Name of a method in ``results.csv``: ICC methods carry ``-free`` with free decoding."""
    return f"{method}-free" if method != "kmeans" and decoding == "free" else method


def method_label(key):
    """Human name of a ``results.csv`` method key, e.g. ``"ICC paper (free)"``."""
    base = key[: -len("-free")] if key.endswith("-free") else key
    return METHOD_NAMES[base] + (" (free)" if key.endswith("-free") else "")


def make_estimator(method, model, decoding, device):
    """Build the unfitted clusterer of one method."""
    if method == "kmeans":
        from sklearn.cluster import KMeans

        return KMeans(n_clusters=N_CLUSTERS, n_init=10, random_state=0)
    from .cluster import InContextClustering

    point_format = method.removeprefix("icc-")
    return InContextClustering(
        model, N_CLUSTERS, point_format=point_format, decoding=decoding, device=device
    )


def run_episode(method, X, y, *, model="default", decoding="constrained", device="auto"):
    """Fit one method on one episode and measure it.

    Returns
    -------
    dict
        ``acc``, ``ari``, ``nmi``, ``seconds`` (wall time of the fit) and, for ICC,
        ``prefill``, ``decode`` (seconds), ``n_prompt_tokens`` and ``decoding_failures``;
        these are ``None`` for KMeans.
    """
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from .metrics import clustering_accuracy

    estimator = make_estimator(method, model, decoding, device)
    start = time.perf_counter()
    with warnings.catch_warnings():
        # Free-decoding failures are counted in the row, not warned about each time.
        warnings.simplefilter("ignore", RuntimeWarning)
        labels = estimator.fit_predict(X)
    seconds = time.perf_counter() - start
    row = {
        "acc": clustering_accuracy(y, labels),
        "ari": adjusted_rand_score(y, labels),
        "nmi": normalized_mutual_info_score(y, labels),
        "seconds": seconds,
        "prefill": None, "decode": None, "n_prompt_tokens": None, "decoding_failures": None,
    }
    if method != "kmeans":
        row.update(
            prefill=estimator.timings_["prefill_seconds"],
            decode=estimator.timings_["decode_seconds"],
            n_prompt_tokens=estimator.n_prompt_tokens_,
            decoding_failures=estimator.n_decoding_failures_,
        )
    return row


def read_results(path):
    """Read ``results.csv`` into a list of dicts with numbers parsed (empty cells are ``None``)."""
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != RESULT_COLUMNS:
            raise ValueError(f"{path} has columns {reader.fieldnames}, expected {list(RESULT_COLUMNS)}.")
        rows = []
        for raw in reader:
            row = {k: (float(v) if v != "" else None) for k, v in raw.items() if k != "method"}
            row.update(method=raw["method"], episode=int(row["episode"]), n=int(row["n"]))
            rows.append(row)
    return rows


def check_run_settings(out_dir, settings):
    """Refuse to mix results of another seed, model or decoding into ``out_dir``."""
    path = out_dir / "run_settings.json"
    if path.exists():
        previous = json.loads(path.read_text())
        clashes = {key: previous.get(key) for key in RUN_SETTINGS if previous.get(key) != settings[key]}
        if clashes:
            raise SystemExit(
                f"{out_dir} holds results of {clashes}, not {({k: settings[k] for k in clashes})}; "
                "use another --out."
            )
    else:
        path.write_text(json.dumps({key: settings[key] for key in RUN_SETTINGS}, indent=2) + "\n")


def mean_and_standard_error(values):
    """Mean and standard error (sample SD / sqrt(count)) of the non-missing values."""
    values = np.asarray([v for v in values if v is not None], dtype=float)
    if values.size == 0:
        return None, None
    se = float(values.std(ddof=1) / math.sqrt(values.size)) if values.size > 1 else float("nan")
    return float(values.mean()), se


def summarize(rows, methods, dfs):
    """One summary record per (method, df) that has rows, in the order asked for."""
    records = []
    for method in methods:
        for df in dfs:
            group = [r for r in rows if r["method"] == method and r["df"] == df]
            if not group:
                continue
            record = {"method": method, "label": method_label(method), "df": df, "episodes": len(group)}
            for metric in ("acc", "ari", "nmi"):
                record[metric], record[f"{metric}_se"] = mean_and_standard_error([r[metric] for r in group])
            for timing in ("seconds", "prefill", "decode"):
                record[timing] = mean_and_standard_error([r[timing] for r in group])[0]
            per_point = [r["n_prompt_tokens"] / r["n"] for r in group if r["n_prompt_tokens"] is not None]
            record["tokens_per_point"] = mean_and_standard_error(per_point)[0]
            failures = [r["decoding_failures"] for r in group if r["decoding_failures"] is not None]
            record["decoding_failures"] = int(sum(failures)) if failures else None
            records.append(record)
    return records


def markdown_table(records, show_failures=False):
    """The summary as a Markdown table, one row per method and df."""

    def number(value, digits):
        return "–" if value is None else f"{value:.{digits}f}"

    header = ["method", "df", "episodes", "ACC", "ARI", "NMI", "seconds", "prefill s", "decode s"]
    header.append("tokens/point")
    if show_failures:
        header.append("decoding failures")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for rec in records:
        cells = [rec["label"], f"{rec['df']:g}", str(rec["episodes"])]
        cells += [f"{rec[m]:.3f} ± {rec[m + '_se']:.3f}" for m in ("acc", "ari", "nmi")]
        cells += [number(rec["seconds"], 3), number(rec["prefill"], 2), number(rec["decode"], 2)]
        cells.append(number(rec["tokens_per_point"], 1))
        if show_failures:
            cells.append("–" if rec["decoding_failures"] is None else str(rec["decoding_failures"]))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def build_parser():
    """The argument parser of ``sklearn-icc bench``."""
    parser = argparse.ArgumentParser(
        prog="sklearn-icc bench",
        description="The paper's Table 1: Student-t mixtures, d=3, k=3, n uniform in [10, 50]; "
        "KMeans against zero-shot In-Context Clustering on raw X.",
    )
    parser.add_argument("--episodes", type=int, default=100, help="episodes per df (default: 100)")
    parser.add_argument("--df", type=float, nargs="+", default=list(DEFAULT_DFS),
                        help="degrees of freedom of the noise (default: 1 1.5 2 5 100)")
    parser.add_argument("--methods", nargs="+", choices=list(METHOD_NAMES), default=list(METHOD_NAMES),
                        help="methods to run (default: all)")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_EPISODES} episodes, df 1 and 5 only (overrides --episodes and --df)")
    parser.add_argument("--model", default="default",
                        help="ICC model id or local path (default: the embedded model)")
    parser.add_argument("--decoding", choices=("constrained", "free"), default="constrained",
                        help="ICC decoding; 'free' is the paper's generate-then-parse and counts failures")
    parser.add_argument("--device", default="auto", help="ICC device (default: auto)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice); "
                        "1 avoids oversubscription on a busy machine")
    parser.add_argument("--out", default="benchmarks/results",
                        help="output folder (default: benchmarks/results)")
    parser.add_argument("--seed", type=int, default=0, help="base seed of the episodes (default: 0)")
    return parser


def main(argv=None) -> int:
    """Run the Table 1 benchmark, print its Markdown summary and write the result files.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments; ``None`` reads ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status, 0 on success.
    """
    from tqdm import tqdm

    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["--"]:  # ``sklearn-icc bench -- --quick`` passes the separator on.
        argv = argv[1:]
    args = build_parser().parse_args(argv)
    episodes = QUICK_EPISODES if args.quick else args.episodes
    dfs = [float(df) for df in (QUICK_DFS if args.quick else args.df)]
    if episodes < 1:
        raise SystemExit("--episodes must be at least 1.")
    methods = [method_key(m, args.decoding) for m in dict.fromkeys(args.methods)]
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    check_run_settings(out_dir, vars(args))
    results_path = out_dir / "results.csv"
    rows = read_results(results_path)
    done = {(r["method"], r["df"], r["episode"]) for r in rows}
    # Episode-major order: an interrupted run has the same number of episodes for every df.
    todo = [(df, e, m) for e in range(episodes) for df in dfs for m in methods if (m, df, e) not in done]
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)

    device, dtype, threads = None, None, None
    if any(m != "kmeans" for m in methods):
        from .runtime import load_model

        loaded = load_model(args.model, device=args.device)
        device, dtype = str(loaded.device), str(loaded.dtype).replace("torch.", "")
        import torch

        threads = torch.get_num_threads() if device == "cpu" else None
        if todo:  # One untimed fit, so the first episode does not pay for warm-up.
            from .datasets import make_mixture

            X_warm, y_warm = make_mixture(30, N_CLUSTERS, N_FEATURES, df=5.0, random_state=12345)
            run_episode("icc-paper", X_warm, y_warm, model=args.model, decoding=args.decoding,
                        device=args.device)

    new_file = not results_path.exists()
    start = time.perf_counter()
    with results_path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=RESULT_COLUMNS)
        if new_file:
            writer.writeheader()
        data_cache = {}
        for df, episode, method in tqdm(todo, desc="bench", unit="fit", file=sys.stderr):
            if (df, episode) not in data_cache:
                data_cache = {(df, episode): episode_data(df, episode, args.seed)}
            X, y = data_cache[(df, episode)]
            row = run_episode(
                method.removesuffix("-free"), X, y,
                model=args.model, decoding=args.decoding, device=args.device,
            )
            row.update(df=df, episode=episode, n=len(y), method=method)
            writer.writerow({k: ("" if row[k] is None else row[k]) for k in RESULT_COLUMNS})
            handle.flush()
            rows.append(row)
    wall_seconds = time.perf_counter() - start

    wanted = [r for r in rows if r["episode"] < episodes]
    records = summarize(wanted, methods, dfs)
    table = markdown_table(records, show_failures=args.decoding == "free")
    print(table)
    settings = {
        "command": "sklearn-icc bench " + " ".join(argv),
        "episodes_per_df": episodes, "df": dfs, "methods": methods, "model": args.model,
        "decoding": args.decoding, "seed": args.seed,
        "device": device, "dtype": dtype, "torch_threads": threads,
        "n_features": N_FEATURES, "n_clusters": N_CLUSTERS, "n_samples_range": list(N_SAMPLES_RANGE),
        "fits_this_run": len(todo), "wall_seconds_this_run": wall_seconds,
        "load_average_at_end": list(os.getloadavg()),
        "python": platform.python_version(), "machine": platform.platform(),
    }
    summary = {"settings": settings, "summary": records}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    notes = (
        f"# Table 1 setting: d={N_FEATURES}, k={N_CLUSTERS}, "
        f"n in [{N_SAMPLES_RANGE[0]}, {N_SAMPLES_RANGE[1]}], "
        f"Student-t noise, raw X\n\n"
        f"Model: {args.model} ({device}, {dtype}, torch threads: {threads}); "
        f"decoding: {args.decoding}; seed: {args.seed}; "
        f"up to {episodes} episodes per df. ACC, ARI, NMI: mean ± standard error over episodes. "
        "seconds: wall time of one fit; prefill/decode: the ICC split; tokens/point: prompt tokens / n.\n\n"
    )
    (out_dir / "summary.md").write_text(notes + table + "\n")
    return 0
