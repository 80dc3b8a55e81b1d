"""From per-fit rows to per-cell summaries: mean ± standard error, as Markdown, CSV and JSON."""

from __future__ import annotations

import csv
import math

import numpy as np

from .suites import cell_id

SCORES = ("acc", "ari", "nmi", "ami")
TIMINGS = ("seconds", "prefill", "decode", "spectral")
SUMMARY_COLUMNS = (
    "method", "label", "cell", "episodes", "n_mean",
    *(f"{s}{suffix}" for s in SCORES for suffix in ("", "_se")), "acc_sd_orderings",
    *TIMINGS, "tokens_per_point", "decoding_failures",
)


def mean_and_standard_error(values):
    """Mean and standard error (sample SD / sqrt(count)) of the non-missing values."""
    values = np.asarray([v for v in values if v is not None], dtype=float)
    if values.size == 0:
        return None, None
    se = float(values.std(ddof=1) / math.sqrt(values.size)) if values.size > 1 else float("nan")
    return float(values.mean()), se


def _per_episode(group):
    """Rows of one (method, cell) grouped by episode, in episode order."""
    episodes = {}
    for row in group:
        episodes.setdefault(row["episode"], []).append(row)
    return [episodes[e] for e in sorted(episodes)]


def summarize(rows, methods, cells):
    """One record per (method, cell) that has rows, methods then cells in the order given.

    Scores are averaged over an episode's row orders first, so the standard error is over
    episodes; ``acc_sd_orderings`` is the mean over episodes of the sample SD of accuracy
    across row orders (``None`` with one order).
    """
    records = []
    for method in methods:
        for cell in cells:
            group = [r for r in rows if r["method"] == method.name and r["cell"] == cell_id(cell)]
            if not group:
                continue
            episodes = _per_episode(group)
            record = {"method": method.name, "label": method.label, "cell": cell_id(cell), **cell,
                      "episodes": len(episodes), "n_mean": float(np.mean([e[0]["n"] for e in episodes]))}
            for score in SCORES:
                means = [float(np.mean([r[score] for r in e])) for e in episodes]
                record[score], record[f"{score}_se"] = mean_and_standard_error(means)
            orders = [e for e in episodes if len(e) > 1]
            record["acc_sd_orderings"] = (
                float(np.mean([np.std([r["acc"] for r in e], ddof=1) for e in orders])) if orders else None
            )
            for timing in TIMINGS:
                record[timing] = mean_and_standard_error([r[timing] for r in group])[0]
            per_point = [r["n_prompt_tokens"] / r["n"] for r in group if r["n_prompt_tokens"] is not None]
            record["tokens_per_point"] = mean_and_standard_error(per_point)[0]
            failures = [r["decoding_failures"] for r in group if r["decoding_failures"] is not None]
            record["decoding_failures"] = int(sum(failures)) if failures else None
            records.append(record)
    return records


def _number(value, digits):
    return "–" if value is None else f"{value:.{digits}f}"


def table_rows(records, cell_keys):
    """Header and cells of the human-readable table (shared by Markdown and the docs CSV)."""
    show = {
        "orders": any(r["acc_sd_orderings"] is not None for r in records),
        "icc": any(r["prefill"] is not None for r in records),
        "spectral": any(r["spectral"] is not None for r in records),
        "failures": any(r["decoding_failures"] for r in records),
    }
    header = ["method", *cell_keys, "episodes", "ACC", "ARI", "NMI"]
    header += ["ACC SD over orders"] * show["orders"] + ["seconds"]
    header += ["prefill s", "decode s", "tokens/point"] * show["icc"] + ["spectral s"] * show["spectral"]
    header += ["decoding failures"] * show["failures"]
    body = []
    for rec in records:
        cells = [rec["label"], *(f"{rec[k]:g}" if isinstance(rec[k], float) else str(rec[k]) for k in cell_keys),
                 str(rec["episodes"])]
        cells += [f"{rec[m]:.3f} ± {rec[m + '_se']:.3f}" for m in ("acc", "ari", "nmi")]
        cells += [_number(rec["acc_sd_orderings"], 3)] * show["orders"]
        cells.append(_number(rec["seconds"], 3))
        if show["icc"]:
            cells += [_number(rec["prefill"], 2), _number(rec["decode"], 2), _number(rec["tokens_per_point"], 1)]
        cells += [_number(rec["spectral"], 3)] * show["spectral"]
        if show["failures"]:
            cells.append("–" if rec["decoding_failures"] is None else str(rec["decoding_failures"]))
        body.append(cells)
    return header, body


def markdown_table(records, cell_keys):
    """The summary as a Markdown table, one row per method and cell."""
    header, body = table_rows(records, cell_keys)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return "\n".join(lines)


def write_table_csv(path, records, cell_keys):
    """The human-readable table as CSV (what the docs page includes)."""
    header, body = table_rows(records, cell_keys)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(body)


def write_summary_csv(path, records, cell_keys):
    """Every number of the summary, one row per (method, cell), empty where it does not apply."""
    columns = list(SUMMARY_COLUMNS[:3]) + list(cell_keys) + list(SUMMARY_COLUMNS[3:])
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for rec in records:
            writer.writerow({k: "" if rec.get(k) is None else rec[k] for k in columns})


def write_pivot_csv(path, records, cells):
    """Accuracy and ARI as a method-by-cell grid: ``"0.717 ± 0.015 / 0.34"`` (ACC ± SE / ARI)."""
    keys = [cell_id(cell) for cell in cells]
    methods = list(dict.fromkeys((rec["method"], rec["label"]) for rec in records))
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["method", "episodes per cell", *keys])
        for name, label in methods:
            by_cell = {rec["cell"]: rec for rec in records if rec["method"] == name}
            counts = sorted({rec["episodes"] for rec in by_cell.values()})
            episodes = str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
            writer.writerow([label, episodes, *(
                f"{by_cell[k]['acc']:.3f} ± {by_cell[k]['acc_se']:.3f} / {by_cell[k]['ari']:.2f}" if k in by_cell
                else "–" for k in keys)])
