"""Measuring: fit every method on every episode, one resumable row per fit in ``results.csv``."""

from __future__ import annotations

import csv
import sys
import time
import warnings

import numpy as np
from sklearn import config_context

from ..metrics import clustering_scores
from .methods import MethodContext
from .suites import cell_id

RESULT_COLUMNS = (
    "cell", "episode", "ordering", "method", "n", "k", "acc", "ari", "nmi", "ami", "seconds",
    "prefill", "decode", "spectral", "n_prompt_tokens", "decoding_failures",
)
_TEXT_COLUMNS = ("cell", "method")
_INT_COLUMNS = ("episode", "ordering", "n", "k")


def make_clusterer(method, n_clusters, random_state, context, standardize=False):
    """The method's unfitted estimator, after a StandardScaler in a Pipeline when asked."""
    estimator = method.build(n_clusters, random_state, context)
    if standardize:
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), estimator)
    return estimator


def _scores(y, labels, cache=None):
    """ACC, ARI, NMI, AMI; ``cache`` (one per episode and row order) reuses them for a partition already scored."""
    labels = np.asarray(labels)
    # The scores depend on the partition only: number clusters by first appearance.
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    key = np.argsort(np.argsort(first))[inverse.ravel()].tobytes()
    if cache is not None and key in cache:
        return cache[key]
    with config_context(assume_finite=True, skip_parameter_validation=True):
        # Labels are integer arrays made here: scikit-learn's checks cost more than most fits.
        scores = clustering_scores(y, labels)
    if cache is not None:
        cache[key] = scores
    return scores


def measure_fit(method, X, y, n_clusters, random_state, context=MethodContext(), standardize=False,
                score_cache=None):
    """Fit one method on one episode: scores, wall seconds and, for LLM methods, where the time went.

    Returns
    -------
    dict
        ``acc``, ``ari``, ``nmi``, ``ami``, ``seconds`` (wall time of ``fit_predict``,
        scaler included), and ``prefill``, ``decode`` (ICC), ``spectral`` (attention:
        seconds of the spectral step, re-run on the fitted affinity), ``n_prompt_tokens``
        and ``decoding_failures`` where they apply, else ``None``.
    """
    estimator = make_clusterer(method, n_clusters, random_state, context, standardize)
    with warnings.catch_warnings():
        # Small episodes make several classical methods warn (few distinct points, a
        # disconnected graph); free-decoding failures are counted in the row instead.
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        labels = estimator.fit_predict(X)
        seconds = time.perf_counter() - start
    scores = _scores(y, labels, score_cache)
    row = {**scores, "seconds": seconds, "prefill": None, "decode": None,
           "spectral": None, "n_prompt_tokens": None, "decoding_failures": None}
    fitted = estimator[-1] if standardize else estimator
    if method.family == "icc":
        # On another engine (--engine) only the engine call's wall time is known: it goes in decode.
        timings = fitted.timings_
        row.update(prefill=timings.get("prefill_seconds"),
                   decode=timings.get("decode_seconds", timings.get("engine_seconds")),
                   n_prompt_tokens=fitted.n_prompt_tokens_, decoding_failures=fitted.n_decoding_failures_)
    elif method.family == "attention":
        from ..cluster._affinity import spectral_labels

        start = time.perf_counter()
        spectral_labels(fitted.affinity_matrix_, n_clusters, random_state=random_state)
        row["spectral"] = time.perf_counter() - start
    return row


def measure_episode(suite, cell, episode, seed, methods, context=MethodContext()):
    """Rows of every method on one episode, under each of its row orders."""
    data = suite.draw(cell, episode, seed)
    orderings = data.orderings or (None,)
    caches = [{} for _ in orderings]  # methods that agree on a partition are scored once
    rows = []
    for method in methods:
        for index, order in enumerate(orderings):
            X, y = (data.X, data.y) if order is None else (data.X[order], data.y[order])
            row = measure_fit(method, X, y, data.n_clusters, data.random_state, context, suite.standardize,
                              caches[index])
            row.update(cell=cell_id(cell), episode=episode, ordering=index, method=method.name, n=len(y),
                       k=data.n_clusters)
            rows.append(row)
    return rows


def read_results(path):
    """Rows of ``results.csv`` with numbers parsed (empty cells are ``None``); ``[]`` if absent.

    A fit written twice (two runs into one folder at the same time) counts once.
    """
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != RESULT_COLUMNS:
            raise ValueError(f"{path} has columns {reader.fieldnames}, expected {list(RESULT_COLUMNS)}; "
                             "use another --out.")
        rows, seen = [], set()
        for raw in reader:
            row = {k: (raw[k] if k in _TEXT_COLUMNS else None if raw[k] == "" else float(raw[k])) for k in raw}
            row.update({k: int(row[k]) for k in _INT_COLUMNS})
            key = (row["cell"], row["episode"], row["ordering"], row["method"])
            if key not in seen:  # two runs into one folder at once: the first row counts
                seen.add(key)
                rows.append(row)
    return rows


def run_suite(suite, cells, episodes, methods, results_path, *, seed=0, context=MethodContext(), n_jobs=1):
    """Measure every (cell, episode, method) not yet in ``results_path``, appending rows as they come.

    Classical methods run first, one joblib task per episode (``n_jobs`` workers); LLM
    methods then run in this process, episode by episode across all cells, so an
    interrupted run has about the same number of episodes in every cell.

    Returns
    -------
    rows : list of dict
        All rows of the file, old and new.
    n_fits : int
        Fits measured by this call.
    """
    from joblib import Parallel, delayed
    from tqdm import tqdm

    rows = read_results(results_path)
    done = {(r["cell"], r["episode"], r["method"]) for r in rows}

    def missing(method_group, episode, cell):
        return [m for m in method_group if (cell_id(cell), episode, m.name) not in done]

    classical = [m for m in methods if not m.uses_model]
    llm = [m for m in methods if m.uses_model]
    classical_tasks = [(cell, e, missing(classical, e, cell)) for e in range(episodes) for cell in cells]
    classical_tasks = [task for task in classical_tasks if task[2]]
    llm_tasks = [(cell, e, [m]) for e in range(episodes) for cell in cells for m in missing(llm, e, cell)]
    if llm_tasks:
        _warm_up(llm_tasks[0][2][0], context)

    new_file = not results_path.exists()
    n_fits = 0
    with results_path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=RESULT_COLUMNS)
        if new_file:
            writer.writeheader()

        def write(new_rows):
            for row in new_rows:
                writer.writerow({k: "" if row[k] is None else row[k] for k in RESULT_COLUMNS})
            handle.flush()
            rows.extend(new_rows)

        if classical_tasks:
            results = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
                delayed(measure_episode)(suite, cell, e, seed, group) for cell, e, group in classical_tasks
            )
            for new_rows in tqdm(results, total=len(classical_tasks), desc=f"{suite.name} classical",
                                 unit="episode", file=sys.stderr):
                write(new_rows)
                n_fits += len(new_rows)
        for cell, e, group in tqdm(llm_tasks, desc=f"{suite.name} LLM", unit="fit", file=sys.stderr,
                                   disable=not llm_tasks):
            new_rows = measure_episode(suite, cell, e, seed, group, context)
            write(new_rows)
            n_fits += len(new_rows)
    return rows, n_fits


def _warm_up(method, context):
    """One untimed fit, so the first measured episode does not pay for loading the model."""
    from ..datasets import make_mixture

    X, y = make_mixture(30, 3, 3, df=5.0, random_state=12345)
    measure_fit(method, X, y, 3, np.random.RandomState(0).randint(2**31), context)
