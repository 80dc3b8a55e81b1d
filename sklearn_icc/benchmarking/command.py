"""``sklearn-icc bench <suite>``: measure a suite, then write its tables and plots."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

from .._cli_help import HelpFormatter
from .methods import GROUPS, Method, MethodContext, get_method, resolve_methods
from .report import (
    markdown_table,
    summarize,
    write_pivot_csv,
    write_summary_csv,
    write_table_csv,
)
from .runner import read_results, run_suite
from .suites import SUITES, get_suite

RUN_SETTINGS = ("seed", "model")
# Episodes per cell of a plain ``bench``: paper-t's 7 cells then take 140 LLM fits, minutes on
# a CPU, where the suite's 100 per cell take hours (--full).
CPU_EPISODES = 10


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def episodes_per_cell(suite, args):
    """Episodes per cell for this run: --quick, --episodes, --full, else a size for a CPU."""
    if args.quick:
        return suite.quick_episodes
    if args.episodes is not None:
        return args.episodes
    return suite.episodes if args.full else min(CPU_EPISODES, suite.episodes)


def _pending_fits(suite, cells, episodes, methods, results_path):
    """Fits per method that a run still has to measure (the runner resumes the rest)."""
    from .suites import cell_id

    done = {(r["cell"], r["episode"], r["method"]) for r in read_results(results_path)}
    orderings = [suite.draw(cell, 0, 0).orderings or (None,) for cell in cells]
    return {
        m.name: sum(len(orderings[i]) for i, cell in enumerate(cells) for e in range(episodes)
                    if (cell_id(cell), e, m.name) not in done)
        for m in methods
    }


def estimate_seconds(suite, cells, methods, pending, context, seed=0):
    """Seconds the pending fits should take: each method timed on one episode of the first cell.

    The timed fits are warm (the model is loaded first), so the estimate leaves out the
    one-off load; episodes vary in size (n in [10, 50]), so read it as a rough guide.
    """
    from .runner import measure_fit

    data = suite.draw(cells[0], 0, seed)
    per_fit = {}
    for method in methods:
        if pending[method.name]:
            row = measure_fit(method, data.X, data.y, data.n_clusters, data.random_state, context, suite.standardize)
            per_fit[method.name] = row["seconds"]
    return sum(pending[name] * seconds for name, seconds in per_fit.items()), per_fit


def _duration(seconds):
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def build_parser():
    """The argument parser of ``sklearn-icc bench``."""
    parser = argparse.ArgumentParser(
        prog="sklearn-icc bench",
        description="Benchmark suites: classical clusterers against In-Context Clustering on seeded episodes. "
        + " ".join(f"{name}: {suite.description}" for name, suite in SUITES.items()),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("suite", nargs="?", default="paper-t", choices=list(SUITES),
                        help="the suite to run")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--episodes", type=_positive_int, default=None,
                      help=f"episodes per cell (default: {CPU_EPISODES}, or fewer where the suite has fewer, "
                      "a size for a CPU; --full for the suite's own)")
    size.add_argument("--full", action="store_true",
                      help="the suite's full size (paper-t: 100 episodes per cell, hours on a CPU)")
    parser.add_argument("--df", type=float, nargs="+", default=None,
                        help="only the cells with these degrees of freedom, in suites with df (default: every cell)")
    parser.add_argument("--methods", nargs="+", default=["default"],
                        help="method keys or groups (" + ", ".join([*GROUPS, "default"]) + "); "
                        "'default' is the suite's list")
    size.add_argument("--quick", action="store_true",
                      help="the suite's smoke size: a few cells and episodes (overrides --df)")
    parser.add_argument("--model", default="default", help="LLM: 'default' (the embedded SmolLM2-135M-Instruct), a local folder or a .gguf file")
    parser.add_argument("--device", default="auto", help="LLM device")
    parser.add_argument("--adapter", default=None,
                        help="LoRA adapter directory for the *-adapter methods (default: adapter='default', a shipped adapter, "
                        "and none ships yet, so pass one; "
                        "use a separate --out per adapter, results are kept by method name)")
    parser.add_argument("--engine", default="transformers",
                        help="engine= of the ICC methods: 'transformers' (in process), 'vllm', or an "
                        "OpenAI-compatible http(s)://.../v1 URL serving --model; the attention methods run in process")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice); 1 avoids oversubscription on a busy machine")
    parser.add_argument("--n-jobs", type=int, default=1, help="joblib workers for the classical methods")
    parser.add_argument("--out", default="benchmarks/results",
                        help="output folder; the suite writes into OUT/<suite>")
    parser.add_argument("--seed", type=int, default=0, help="base seed of the episodes")
    parser.add_argument("--report-only", action="store_true",
                        help="measure nothing: rewrite tables and plots from the results already there")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    return parser


def check_run_settings(out_dir, settings):
    """Refuse to mix results of another seed or model into ``out_dir``."""
    path = out_dir / "run_settings.json"
    if path.exists():
        previous = json.loads(path.read_text())
        clashes = {key: previous.get(key) for key in RUN_SETTINGS if previous.get(key) != settings[key]}
        if clashes:
            raise SystemExit(
                f"{out_dir} holds results of {clashes}, not {({k: settings[k] for k in clashes})}; use another --out."
            )
    else:
        path.write_text(json.dumps({key: settings[key] for key in RUN_SETTINGS}, indent=2) + "\n")


def _selected_cells(suite, args):
    if args.quick:
        return [suite.cells[i] for i in suite.quick_cells] if suite.quick_cells else list(suite.cells)
    if args.df is None:
        return list(suite.cells)
    wanted = {float(df) for df in args.df}
    cells = [cell for cell in suite.cells if cell.get("df") in wanted]
    if not cells:
        raise SystemExit(f"No cell of suite {suite.name} has df in {sorted(wanted)}.")
    return cells


def _runtime_description(methods, args):
    if not any(m.uses_model for m in methods):
        return {}
    if args.engine != "transformers" and all(m.family == "icc" for m in methods if m.uses_model):
        return {"engine": args.engine}  # the model runs in the engine, not here
    import torch

    from ..runtime import load_model

    loaded = load_model(args.model, device=args.device)
    device = str(loaded.device)
    return {"device": device, "dtype": str(loaded.dtype).replace("torch.", ""),
            "torch_threads": torch.get_num_threads() if device == "cpu" else None}


def _reported_methods(present, measured):
    """Methods with rows in the folder, in registry order; unknown names (a variant added by
    another run) keep their key as label."""
    known = {m.name: m for m in resolve_methods(["all"], ()) + list(measured)}
    ordered = [name for name in known if name in present] + sorted(present - set(known))
    methods = []
    for name in ordered:
        try:
            methods.append(known.get(name) or get_method(name))
        except ValueError:
            methods.append(Method(name, name, "unregistered", None))
    return methods


def main(argv=None) -> int:
    """Run one suite, print its Markdown summary and write the result files and plots.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments; ``None`` reads ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status, 0 on success.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["--"]:  # ``sklearn-icc bench -- --quick`` passes the separator on.
        argv = argv[1:]
    args = build_parser().parse_args(argv)
    suite = get_suite(args.suite)
    episodes = episodes_per_cell(suite, args)
    try:
        methods = resolve_methods(args.methods, suite.default_methods)
    except ValueError as exc:
        raise SystemExit(str(exc)) from exc
    cells = _selected_cells(suite, args)
    out_dir = Path(args.out) / suite.name
    out_dir.mkdir(parents=True, exist_ok=True)
    check_run_settings(out_dir, vars(args))
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)

    results_path = out_dir / "results.csv"
    start = time.perf_counter()
    runtime = {}
    if args.report_only:
        rows, n_fits = read_results(results_path), 0
    else:
        runtime = _runtime_description(methods, args)
        context = MethodContext(model=args.model, device=args.device, adapter=args.adapter, engine=args.engine)
        pending = _pending_fits(suite, cells, episodes, methods, results_path)
        if sum(pending.values()):
            seconds, per_fit = estimate_seconds(suite, cells, methods, pending, context, args.seed)
            full = "" if args.full or episodes >= suite.episodes else (
                f"; the full suite (--full, {suite.episodes} episodes per cell) about "
                f"{_duration(seconds * suite.episodes / episodes)}")
            print(f"{suite.name}: {len(cells)} cells x {episodes} episodes, {sum(pending.values())} fits to run "
                  f"(slowest: {max(per_fit, key=per_fit.get)}, {max(per_fit.values()):.2f} s a fit): about "
                  f"{_duration(seconds)}{full}.", file=sys.stderr, flush=True)
        rows, n_fits = run_suite(suite, cells, episodes, methods, results_path, seed=args.seed, context=context,
                                 n_jobs=args.n_jobs)
    wall_seconds = time.perf_counter() - start

    # The tables cover every method with results in the folder, so separate runs (say the
    # classical methods at 100 episodes, the LLM ones at 30) add up to one table.
    reported = _reported_methods({r["method"] for r in rows}, methods)
    records = summarize(rows, reported, cells)
    cell_keys = list(cells[0]) if cells else []
    table = markdown_table(records, cell_keys)
    print(table)
    settings = {
        "command": "sklearn-icc bench " + " ".join(argv), "suite": suite.name, "description": suite.description,
        "episodes_asked_per_cell": episodes, "cells": cells, "methods_measured": [m.name for m in methods],
        "model": args.model, "adapter": args.adapter, "seed": args.seed, "standardize": suite.standardize, **runtime,
        "n_jobs": args.n_jobs, "fits_this_run": n_fits, "wall_seconds_this_run": wall_seconds,
        "load_average_at_end": list(os.getloadavg()), "python": platform.python_version(),
        "machine": platform.platform(),
    }
    (out_dir / "summary.json").write_text(json.dumps({"settings": settings, "summary": records}, indent=2) + "\n")
    write_summary_csv(out_dir / "summary.csv", records, cell_keys)
    write_table_csv(out_dir / "table.csv", records, cell_keys)
    write_pivot_csv(out_dir / "accuracy.csv", records, cells)
    notes = (f"# {suite.name}: {suite.description}\n\nModel: {args.model}; seed: {args.seed}. ACC, ARI, NMI: "
             "mean ± standard error over episodes (the episodes column). seconds: wall time of one fit.\n\n")
    (out_dir / "summary.md").write_text(notes + table + "\n")
    if records and not args.no_plots:
        from .plots import plot_accuracy, plot_time

        title = f"{suite.name}: {suite.description}"
        plot_accuracy(records, suite.axis, title).savefig(out_dir / "accuracy.png", dpi=80)
        plot_time([r for r in rows if r["cell"] in {rec["cell"] for rec in records}], reported,
                  f"{suite.name}: seconds per fit").savefig(out_dir / "time.png", dpi=80)
    return 0
