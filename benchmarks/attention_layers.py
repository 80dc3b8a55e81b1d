"""Attention spectral clustering on the default model: accuracy per layer, oracle vs auto.

One forward pass per episode captures every layer's point attention and mean hidden
states; each layer's affinity is clustered, and the label-free layer rules
(eigengap, silhouette) are compared with the oracle layer (best on the labels).

    python benchmarks/attention_layers.py --out benchmarks/results/attention --episodes 50

Writes ``episodes.csv`` (one row per episode, setting, affinity and layer; resumable)
and prints a Markdown summary (also ``summary.md``).
"""

from __future__ import annotations

import argparse
import csv
import os

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from sklearn_icc.cluster import affinity_from_attention, affinity_from_hidden
from sklearn_icc.cluster._affinity import score_layers, spectral_labels
from sklearn_icc.datasets import make_mixture
from sklearn_icc.metrics import clustering_accuracy
from sklearn_icc.runtime import build_prompt, load_model
from sklearn_icc.runtime.capture.points import capture_points, n_decoder_layers

SETTINGS = {"table6": (2, 2), "table1": (3, 3)}  # name: (k, d)
FIELDS = ["setting", "df", "episode", "n", "affinity", "layer", "acc", "ari", "eigengap", "silhouette", "seconds"]


def episode(setting, df_index, df, index, seed):
    k, d = SETTINGS[setting]
    rng = np.random.default_rng([seed, list(SETTINGS).index(setting), df_index, index])
    n = int(rng.integers(10, 51))
    return make_mixture(n, k, d, dist="t", df=df, random_state=int(rng.integers(2**31))), k


def run(args):
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "episodes.csv")
    done = set()
    if os.path.exists(path):
        with open(path) as f:
            done = {(r["setting"], r["df"], r["episode"]) for r in csv.DictReader(f)}
    loaded = load_model(args.model, device="cpu")
    layers = list(range(n_decoder_layers(loaded)))
    new_file = not os.path.exists(path)
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, FIELDS)
        if new_file:
            writer.writeheader()
        for setting in args.settings:
            for df_index, df in enumerate(args.df):
                for index in range(args.episodes):
                    if (setting, str(df), str(index)) in done:
                        continue
                    (X, y), k = episode(setting, df_index, df, index, args.seed)
                    prompt = build_prompt(X, k, loaded.tokenizer)
                    capture = capture_points(loaded, prompt, layers)
                    km = KMeans(k, n_init=10, random_state=0).fit_predict(X)
                    base = {"setting": setting, "df": df, "episode": index, "n": len(y)}
                    writer.writerow({**base, "affinity": "kmeans", "layer": -1, "acc": clustering_accuracy(y, km),
                                     "ari": adjusted_rand_score(y, km), "eigengap": "", "silhouette": "",
                                     "seconds": capture.seconds})
                    for name, source, make in (("attention", capture.attention, affinity_from_attention),
                                               ("hidden", capture.hidden, affinity_from_hidden)):
                        affinities = {layer: make(source[layer]) for layer in layers}
                        gaps = score_layers(affinities, k, "eigengap")
                        sils = score_layers(affinities, k, "silhouette", random_state=0)
                        for layer in layers:
                            labels = spectral_labels(affinities[layer], k, random_state=0)
                            writer.writerow({**base, "affinity": name, "layer": layer,
                                             "acc": clustering_accuracy(y, labels), "ari": adjusted_rand_score(y, labels),
                                             "eigengap": gaps[layer], "silhouette": sils[layer], "seconds": ""})
                    f.flush()
                    print(f"{setting} df={df} episode {index}: pass {capture.seconds:.2f} s", flush=True)
    return path


def mean_se(values):
    values = np.asarray(values, dtype=float)
    return f"{values.mean():.3f} ± {values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else 0:.3f}"


def summary(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    lines = ["| setting | df | affinity | fixed best layer (mean over episodes) | ACC | ARI | oracle ACC | oracle ARI | eigengap-auto ACC | eigengap-auto ARI | silhouette-auto ACC | silhouette-auto ARI | episodes | pass s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    keys = sorted({(r["setting"], float(r["df"])) for r in rows})
    for setting, df in keys:
        group = [r for r in rows if r["setting"] == setting and float(r["df"]) == df]
        km = [r for r in group if r["affinity"] == "kmeans"]
        seconds = np.mean([float(r["seconds"]) for r in km])
        lines.append(f"| {setting} | {df:g} | KMeans | - | {mean_se([float(r['acc']) for r in km])} | "
                     f"{mean_se([float(r['ari']) for r in km])} | | | | | | | {len(km)} | |")
        for name in ("attention", "hidden"):
            rs = [r for r in group if r["affinity"] == name]
            by_episode = {}
            for r in rs:
                by_episode.setdefault(r["episode"], []).append(r)
            layers = sorted({int(r["layer"]) for r in rs})
            per_layer = {l: [float(r["ari"]) for r in rs if int(r["layer"]) == l] for l in layers}
            best = max(layers, key=lambda l: np.mean(per_layer[l]))
            fixed = [r for r in rs if int(r["layer"]) == best]
            oracle = [max(e, key=lambda r: float(r["ari"])) for e in by_episode.values()]
            gap = [max(e, key=lambda r: float(r["eigengap"])) for e in by_episode.values()]
            sil = [max(e, key=lambda r: float(r["silhouette"])) for e in by_episode.values()]
            cell = lambda sel, m: mean_se([float(r[m]) for r in sel])  # noqa: E731
            lines.append(
                f"| {setting} | {df:g} | {name} | {best} | {cell(fixed, 'acc')} | {cell(fixed, 'ari')} | "
                f"{cell(oracle, 'acc')} | {cell(oracle, 'ari')} | {cell(gap, 'acc')} | {cell(gap, 'ari')} | "
                f"{cell(sil, 'acc')} | {cell(sil, 'ari')} | {len(by_episode)} | {seconds:.2f} |"
            )
    return "\n".join(lines)


def per_layer_table(path, setting):
    with open(path) as f:
        rows = [r for r in csv.DictReader(f) if r["setting"] == setting]
    layers = sorted({int(r["layer"]) for r in rows if r["affinity"] != "kmeans"})
    lines = ["| layer | attention ACC | attention ARI | hidden ACC | hidden ARI |", "|---|---|---|---|---|"]
    for layer in layers:
        cells = []
        for name in ("attention", "hidden"):
            sel = [r for r in rows if r["affinity"] == name and int(r["layer"]) == layer]
            cells += [f"{np.mean([float(r['acc']) for r in sel]):.3f}", f"{np.mean([float(r['ari']) for r in sel]):.3f}"]
        lines.append(f"| {layer} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--out", default="benchmarks/results/attention")
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--df", type=float, nargs="+", default=[1, 1.5, 2, 5, 100])
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--summary-only", action="store_true")
    args = parser.parse_args(argv)
    path = os.path.join(args.out, "episodes.csv") if args.summary_only else run(args)
    text = summary(path)
    for setting in args.settings:
        text += f"\n\nMean per layer, {setting} (all df pooled):\n\n" + per_layer_table(path, setting)
    print(text)
    with open(os.path.join(args.out, "summary.md"), "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
