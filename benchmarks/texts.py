"""Clustering texts by a condition: does ``condition="topic"`` or ``"sentiment"`` steer the model?

Episodes of ``--n`` texts (default 32: 4 from each topic x sentiment cell, shuffled,
seeded) are drawn from the package's 128 labelled texts
(:func:`sklearn_icc.data.load_topic_sentiment_texts`). Each episode is clustered with
``condition="topic"`` and k=4, and with ``condition="sentiment"`` and k=2 (and, as a
control, with no condition at each k), by

- ICC generation: constrained decoding on the text prompt (``icc``);
- attention spectral clustering from the same prompt's one forward pass: the hidden-state
  or attention affinity at the estimator's default layer (``asc-hidden-L9``,
  ``asc-attention-L9``) and at the layer the eigengap picks (``...-auto``);
- TF-IDF + KMeans(k) and TF-IDF + HDBSCAN (which finds its own k; noise is one more
  cluster); these read no condition.

Every clustering is scored against both labelings (ACC after Hungarian matching, ARI,
NMI). Zero-shot, on the default model, one CPU thread::

    OMP_NUM_THREADS=1 python benchmarks/texts.py --episodes 10 --out benchmarks/results/texts

Writes ``episodes.csv`` (one row per episode, task and method; resumable) and prints a
Markdown table (also ``summary.md``).
"""

from __future__ import annotations

import argparse
import csv
import os
import time

import numpy as np

from sklearn_icc.cluster import affinity_from_attention, affinity_from_hidden
from sklearn_icc.cluster._affinity import score_layers, spectral_labels
from sklearn_icc.cluster._attention import DEFAULT_LAYER
from sklearn_icc.data import load_topic_sentiment_texts
from sklearn_icc.metrics import clustering_scores
from sklearn_icc.runtime import constrained_decode, load_model
from sklearn_icc.runtime.capture.points import capture_points, n_decoder_layers
from sklearn_icc.runtime.prompts.texts import build_text_prompt

TASKS = (("topic", 4), ("sentiment", 2), (None, 4), (None, 2))  # (condition, k)
FIELDS = ["episode", "condition", "k", "method", "n_clusters_found", "seconds"] + [
    f"{truth}_{score}" for truth in ("topic", "sentiment") for score in ("acc", "ari", "nmi")
]


def episode_indices(topic, sentiment, n, index, seed):
    """``n`` texts, as equal a share of each topic x sentiment cell as ``n`` allows, shuffled."""
    rng = np.random.default_rng([seed, index])
    cells = [np.flatnonzero((topic == t) & (sentiment == s)) for t in np.unique(topic) for s in np.unique(sentiment)]
    per_cell = [n // len(cells) + (i < n % len(cells)) for i in range(len(cells))]
    chosen = np.concatenate([rng.choice(cell, size=m, replace=False) for cell, m in zip(cells, per_cell)])
    return rng.permutation(chosen)


def tfidf_labels(texts, k, method, random_state):
    from sklearn.cluster import HDBSCAN, KMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    features = TfidfVectorizer(stop_words="english").fit_transform(texts)  # rows L2-normalised
    if method == "tfidf-kmeans":
        return KMeans(k, n_init=10, random_state=random_state).fit_predict(features)
    return HDBSCAN(min_cluster_size=3, copy=True).fit_predict(features.toarray())


def score_row(index, condition, k, method, labels, truths, seconds):
    row = {"episode": index, "condition": condition or "none", "k": k, "method": method,
           "n_clusters_found": len(np.unique(labels)), "seconds": round(seconds, 3)}
    for name, truth in truths.items():
        scores = clustering_scores(truth, labels)
        row.update({f"{name}_{s}": round(scores[s], 4) for s in ("acc", "ari", "nmi")})
    return row


def run_episode(loaded, layers, texts, truths, index, condition, k, seed):
    rows = []
    start = time.perf_counter()
    prompt, n_cut = build_text_prompt(texts, k, loaded.tokenizer, condition=condition)
    result = constrained_decode(loaded, prompt, k)
    rows.append(score_row(index, condition, k, "icc", result.labels, truths, time.perf_counter() - start))
    start = time.perf_counter()
    capture = capture_points(loaded, prompt, layers, attention=True, hidden=True)
    shared = (time.perf_counter() - start) / 4  # one pass serves the four attention methods
    for kind, make, captured in (("hidden", affinity_from_hidden, capture.hidden),
                                 ("attention", affinity_from_attention, capture.attention)):
        affinities = {layer: make(values) for layer, values in captured.items()}
        scores = score_layers(affinities, k, rule="eigengap", random_state=seed)
        for name, layer in ((f"L{DEFAULT_LAYER}", DEFAULT_LAYER), ("auto", max(scores, key=scores.get))):
            start = time.perf_counter()
            labels = spectral_labels(affinities[layer], k, random_state=seed)
            rows.append(score_row(index, condition, k, f"asc-{kind}-{name}", labels, truths,
                                  shared + time.perf_counter() - start))
    if condition is None:  # the baselines read no condition: once per k
        for method in ("tfidf-kmeans", "tfidf-hdbscan"):
            start = time.perf_counter()
            labels = tfidf_labels(texts, k, method, seed)
            rows.append(score_row(index, None, k, method, labels, truths, time.perf_counter() - start))
    return rows, n_cut


def summarise(rows):
    """Markdown: mean over episodes of each (condition, k, method)."""
    keys = []
    for row in rows:
        key = (row["condition"], int(row["k"]), row["method"])
        if key not in keys:
            keys.append(key)
    lines = [
        "| condition | k | method | topic ACC | topic ARI | topic NMI | sentiment ACC | sentiment ARI "
        "| sentiment NMI | clusters found | s/episode | episodes |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for condition, k, method in keys:
        chosen = [r for r in rows if (r["condition"], int(r["k"]), r["method"]) == (condition, k, method)]

        def mean(field):
            return np.mean([float(r[field]) for r in chosen])

        cells = [f"{mean(f'{t}_{s}'):.3f}" for t in ("topic", "sentiment") for s in ("acc", "ari", "nmi")]
        label = "(none; baseline)" if method.startswith("tfidf") else condition
        lines.append(f"| {label} | {k} | {method} | " + " | ".join(cells)
                     + f" | {mean('n_clusters_found'):.1f} | {mean('seconds'):.2f} | {len(chosen)} |")
    return "\n".join(lines)


def run(args):
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "episodes.csv")
    done = set()
    if os.path.exists(path):
        with open(path) as f:
            done = {(r["episode"], r["condition"], r["k"]) for r in csv.DictReader(f)}
    texts, topic, sentiment = load_topic_sentiment_texts()
    loaded = load_model(args.model, device="cpu")
    layers = list(range(n_decoder_layers(loaded)))
    new_file = not os.path.exists(path)
    started = time.perf_counter()
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, FIELDS)
        if new_file:
            writer.writeheader()
        for index in range(args.episodes):
            chosen = episode_indices(topic, sentiment, args.n, index, args.seed)
            truths = {"topic": topic[chosen], "sentiment": sentiment[chosen]}
            for condition, k in TASKS:
                if (str(index), condition or "none", str(k)) in done:
                    continue
                rows, n_cut = run_episode(loaded, layers, [texts[i] for i in chosen], truths, index, condition, k,
                                          args.seed)
                if n_cut:
                    print(f"episode {index}: cut {n_cut} texts")
                writer.writerows(rows)
                f.flush()
            print(f"episode {index + 1}/{args.episodes} done, {time.perf_counter() - started:.0f} s")
    with open(path) as f:
        rows = list(csv.DictReader(f))
    summary = summarise(rows)
    with open(os.path.join(args.out, "summary.md"), "w") as f:
        f.write(summary + "\n")
    print(summary)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--n", type=int, default=32, help="texts per episode")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="default")
    parser.add_argument("--out", default="benchmarks/results/texts")
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
