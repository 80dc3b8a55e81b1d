"""The benchmark's figures: accuracy per cell for each method, and seconds per fit against n."""

from __future__ import annotations

import textwrap

import numpy as np


def _figure():
    """A figure outside pyplot: no backend to choose, nothing kept alive after saving."""
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("The benchmark's plots need matplotlib: pip install 'sklearn-icc[bench]'") from exc
    fig = Figure(figsize=(6.4, 3.8))
    return fig, fig.subplots()


def plot_accuracy(records, axis, title):
    """Accuracy (mean ± SE) against the suite's axis, one line per method.

    Cells that share a value of ``axis`` (e.g. the k and d of ``paper-grid`` at one df) are
    averaged, and their standard errors combined as for a mean of independent means.

    Returns
    -------
    matplotlib.figure.Figure
    """
    values = list(dict.fromkeys(rec[axis] for rec in records))
    categorical = any(isinstance(value, str) for value in values)
    fig, ax = _figure()
    methods = list(dict.fromkeys((rec["method"], rec["label"]) for rec in records))
    offsets = np.linspace(-0.15, 0.15, num=len(methods)) if len(methods) > 1 else [0.0]
    for (name, label), offset in zip(methods, offsets):
        xs, means, errors = [], [], []
        for position, value in enumerate(values):
            group = [r for r in records if r["method"] == name and r[axis] == value]
            if not group:
                continue
            xs.append(position + offset)
            means.append(np.mean([r["acc"] for r in group]))
            errors.append(np.sqrt(np.nansum([r["acc_se"] ** 2 for r in group])) / len(group))
        # Lines join ordered cells (df, k); data sets are categories, so only markers.
        ax.errorbar(xs, means, yerr=errors, marker="o", markersize=3, capsize=2, linewidth=1, label=label,
                    linestyle="none" if categorical else "-")
    ax.set_xticks(range(len(values)), [f"{v:g}" if isinstance(v, float) else str(v) for v in values])
    ax.set_xlabel(axis)
    ax.set_ylabel("accuracy (Hungarian)")
    ax.set_title(textwrap.fill(title, 80), fontsize=8)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_time(rows, methods, title, bin_width=5):
    """Mean wall seconds per fit against n (bins of ``bin_width`` points), one line per method, log scale."""
    fig, ax = _figure()
    for method in methods:
        group = [r for r in rows if r["method"] == method.name]
        if not group:
            continue
        n = np.array([r["n"] for r in group])
        seconds = np.array([r["seconds"] for r in group])
        bins = (n // bin_width) * bin_width
        centres = np.unique(bins)
        ax.plot(centres + bin_width / 2, [seconds[bins == b].mean() for b in centres], marker="o", markersize=3,
                linewidth=1, label=method.label)
    ax.set_yscale("log")
    ax.set_xlabel("n (points in the episode)")
    ax.set_ylabel("seconds per fit")
    ax.set_title(textwrap.fill(title, 80), fontsize=8)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig
