"""Choose the conditioned reading's design: layout, slots and layers, by measurement.

Each text is read on its own under the question of each condition
(:func:`sklearn_icc.runtime.capture.conditioned.read_texts`, default model, zero-shot);
the hidden states at the ``"prompt"`` slot (last prompt token) and the ``"answer"``
slot (the state that predicts the answer's word) are kept at every layer and cached in
``--cache``. Each design (slots x layers, each layer's vector L2-normalised and
centred, then concatenated) is scored by KMeans(k true) and by spectral clustering of
its cosine affinity, ARI against every labeling of the data set, and by the readout the
estimators use (``chosen``: spectral or spherical k-means, the larger silhouette,
:func:`~sklearn_icc.cluster._conditioned.readout_labels`). One CPU thread::

    OMP_NUM_THREADS=1 python benchmarks/conditioned_design.py --data both --layouts question_first text_first

``routed`` is the estimators' default: a content-like condition
(:func:`~sklearn_icc.runtime.prompts.questions.condition_kind`) reads the text's own
tokens at the final layer, each dimension standardised (``text L30 std``); any other
condition the answer slot, ``auto`` choosing between its two designs by eigengap.

Prints one Markdown table per data set: rows = design x condition, columns = ARI
against each labeling (spectral), and a summary: per design, the worst matching ARI
and the worst non-matching ARI over the conditions.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from conditioned_texts import CONDITIONS, load  # the same data sets and conditions as the matrix


def read_cached(loaded, cache_dir, data, texts, condition, layout, style):
    from sklearn_icc.runtime.capture.conditioned import read_texts
    from sklearn_icc.runtime.prompts.questions import check_condition

    import hashlib

    from sklearn_icc.runtime.prompts.questions import question

    asked = question(check_condition(condition), style)
    key = hashlib.sha1(f"{data}|{layout}|{asked}".encode()).hexdigest()[:12]
    path = os.path.join(cache_dir, f"{data}-{key}.npz")
    if os.path.exists(path):
        z = np.load(path, allow_pickle=False)
        return z["prompt"], z["answer"], z["text"], list(z["answers"]), float(z["seconds"])
    reading = read_texts(loaded, texts, check_condition(condition, loaded.tokenizer), layout=layout, style=style)
    np.savez(path, prompt=reading.states["prompt"], answer=reading.states["answer"], text=reading.states["text"],
             answers=np.array(reading.answers), seconds=reading.seconds)
    return reading.states["prompt"], reading.states["answer"], reading.states["text"], reading.answers, reading.seconds


def features(states, layers, standardise=False):
    parts = []
    for S in states:
        for layer in layers:
            v = S[:, layer].astype(np.float64)
            v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
            v = v - v.mean(axis=0)
            if standardise:
                v = v / np.maximum(v.std(axis=0), 1e-8) / np.sqrt(v.shape[1])
            parts.append(v)
    return np.concatenate(parts, axis=1)


AUTO_CANDIDATES = ("prompt L30", "prompt L20-30")


def auto_features(reading, k):
    """The candidate design whose affinity has the largest eigengap at k (label-free)."""
    from sklearn_icc.cluster._affinity import eigengap_score
    from sklearn_icc.cluster._conditioned import affinity_from_features

    best = None
    for name in AUTO_CANDIDATES:
        slots, layers = DESIGNS[name]
        F = features([reading[s] for s in slots], layers)
        gap = eigengap_score(affinity_from_features(F), k)
        if best is None or gap > best[0]:
            best = (gap, F)
    return best[1]


def spectral(F, k, seed=0):
    from sklearn_icc.cluster._affinity import spectral_labels
    from sklearn_icc.cluster._conditioned import affinity_from_features

    return spectral_labels(affinity_from_features(F), k, random_state=np.random.RandomState(seed))


DESIGNS = {
    "prompt L30": (("prompt",), [30]),
    "prompt L20-30": (("prompt",), list(range(20, 31))),
    "answer L30": (("answer",), [30]),
    "answer L20-30": (("answer",), list(range(20, 31))),
    "both L30": (("prompt", "answer"), [30]),
    "both L20-30": (("prompt", "answer"), list(range(20, 31))),
    "both L15-30": (("prompt", "answer"), list(range(15, 31))),
    "both L10-30 step2": (("prompt", "answer"), list(range(10, 31, 2))),
    "both L24-30": (("prompt", "answer"), list(range(24, 31))),
    "prompt L24-30": (("prompt",), list(range(24, 31))),
    "prompt L27-30": (("prompt",), list(range(27, 31))),
    "prompt L15-30": (("prompt",), list(range(15, 31))),
    "text L10": (("text",), [10]),
    "text L20": (("text",), [20]),
    "text L10-20": (("text",), list(range(10, 21))),
    "prompt L30 + text L20": None,
    "text L30 std": None,
    "auto": None,
    "routed": None,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="both", choices=["topic_sentiment", "support", "both"])
    parser.add_argument("--layouts", nargs="+", default=["question_first"])
    parser.add_argument("--questions", nargs="+", default=["auto"])
    parser.add_argument("--designs", nargs="+", default=list(DESIGNS))
    parser.add_argument("--cache", default="/tmp/conditioned_cache2")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    from sklearn_icc.cluster._conditioned import affinity_from_features, readout_labels
    from sklearn_icc.runtime import load_model

    os.makedirs(args.cache, exist_ok=True)
    loaded = load_model("default", device="cpu")
    names = ["topic_sentiment", "support"] if args.data == "both" else [args.data]
    summary = []
    for data in names:
        texts, labels = load(data)
        for layout, style in [(a, b) for a in args.layouts for b in args.questions]:
            readings = {}
            for condition in CONDITIONS[data]:
                P, A, T, answers, seconds = read_cached(loaded, args.cache, data, texts, condition, layout, style)
                readings[condition] = {"prompt": P, "answer": A, "text": T}
                print(f"{data} {layout} {condition!r}: {seconds:.1f} s; answers e.g. {answers[:3]}", flush=True)
            print(f"\n### {data}, {layout}, {style}\n")
            print("| design | condition | " + " | ".join(f"ARI {n} (spectral / kmeans / chosen)" for n in labels)
                  + " |")
            print("|---|---|" + "---|" * len(labels))
            for design in args.designs:
                worst_match, worst_other = 1.0, -1.0
                for condition, target in CONDITIONS[data].items():
                    k = len(np.unique(labels[target]))
                    if design == "prompt L30 + text L20":
                        F = np.concatenate([features([readings[condition]["prompt"]], [30]),
                                            features([readings[condition]["text"]], [20])], axis=1)
                    elif design == "text L30 std":
                        F = features([readings[condition]["text"]], [30], standardise=True)
                    elif design == "routed":  # what the estimator does: content -> text L30 std, else auto
                        from sklearn_icc.runtime.prompts.questions import check_condition, condition_kind

                        if condition_kind(check_condition(condition)) == "content":
                            F = features([readings[condition]["text"]], [30], standardise=True)
                        else:
                            F = auto_features(readings[condition], k)
                    elif design == "auto":
                        F = auto_features(readings[condition], k)
                    else:
                        slots, layers = DESIGNS[design]
                        F = features([readings[condition][s] for s in slots], layers)
                    cells = []
                    chosen, _ = readout_labels(F, affinity_from_features(F), k, np.random.RandomState(0))
                    for name, y in labels.items():
                        sp = adjusted_rand_score(y, spectral(F, k))
                        km = adjusted_rand_score(y, KMeans(k, n_init=10, random_state=0).fit_predict(F))
                        cells.append(f"{sp:.2f} / {km:.2f} / {adjusted_rand_score(y, chosen):.2f}")
                        if name == target:
                            worst_match = min(worst_match, sp)
                        else:
                            worst_other = max(worst_other, sp)
                    print(f"| {design} | {condition} | " + " | ".join(cells) + " |", flush=True)
                summary.append((data, f"{layout} {style}", design, worst_match, worst_other))
    print("\n### worst over conditions (spectral): matching ARI (higher better), other ARI (lower better)\n")
    print("| data | layout | design | worst matching | worst other |\n|---|---|---|---|---|")
    for row in summary:
        print("| {} | {} | {} | {:.2f} | {:.2f} |".format(*row))


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"\n({time.perf_counter() - t0:.0f} s)")
