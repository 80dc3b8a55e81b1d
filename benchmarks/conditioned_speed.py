"""Seconds per 1,000 texts of the conditioned reading (AttentionSpectralClustering with a condition).

``--n`` texts (the 128 shipped topic/sentiment texts, repeated with a numbered suffix
so no two are the same; ``--words 20`` joins each with the next shipped ones until it
has at least that many words, since the shipped texts have about 12) are clustered with
``AttentionSpectralClustering(4, condition="topic")`` and ``condition="sentiment"``
(k=2), default model, default settings; the fit's wall time is scaled to 1,000 texts.
The goal is at most 100 s per 1,000 texts on 2 quiet cores; say how quiet the machine
was (the load average is printed)::

    OMP_NUM_THREADS=2 python benchmarks/conditioned_speed.py --n 1000 --words 20

``--compare`` measures, alternately in one run so that the machine's noise falls on
both, what the greedy answers cost: the reading of the texts with 10 answer tokens and
with none (what ``transform``, ``predict`` and ``score`` read), and the fit that asks
every text for its answer (``NAMED_PER_CLUSTER`` set beyond any fit, as before large
fits asked only the texts nearest each cluster's centre) against the default::

    OMP_NUM_THREADS=2 python benchmarks/conditioned_speed.py --n 1000 --words 20 --compare

``--compare-dtype`` alternates the default fit (``dtype="auto"``: float32 on a CPU) with
``dtype="bfloat16"``, which is fast on CPUs with native bfloat16 matrix units (Intel AMX,
AVX512-BF16; the script prints what torch finds), and says how far the labels agree
(ARI between the two fits' labels)::

    OMP_NUM_THREADS=2 python benchmarks/conditioned_speed.py --n 1000 --words 20 --compare-dtype

``--compare-opened`` alternates the default fit of an attitude condition ("sentiment",
k=2), which reads the opened slot too and partitions four designs, with the same fit
reading the plain slot only (the estimators before the opened reading), and with the
reading alone, with and without the opened slot (no answers)::

    OMP_NUM_THREADS=2 python benchmarks/conditioned_speed.py --n 1000 --words 20 --compare-opened

``--compare-namer`` alternates the default fit (``namer="auto"``: the shipped naming
adapter asks the 16 texts nearest each cluster's centre) with ``namer="reading"`` (the
reading's own answers, every text asked in a fit of at most 48 texts per cluster), under
"topic" (k=4) and "sentiment" (k=2), after timing the naming adapter's first load::

    OMP_NUM_THREADS=2 python benchmarks/conditioned_speed.py --n 72 --words 20 --compare-namer

``--compare-readout`` times the partition alone (no model: seeded random features of the
reading's shapes, ``--n`` rows of 6,336 dimensions at k=2, as the attitude design reads 11
layers of 576, and of 576 at k=4, as the content design reads one), alternating the
readout on the unit rows' full columns (before ``span_coordinates``) and on their span
coordinates (now), and checks that both give the same labels::

    OMP_NUM_THREADS=2 python benchmarks/conditioned_speed.py --n 1000 --compare-readout

``--compare-sample`` times the partition of a fit of ``--n`` texts (no model: seeded
synthetic readings of an attitude condition, the three slots at the last 11 layers, 3
planted classes), partitioning every row (as fits of at most
:data:`~sklearn_icc.cluster._by_condition.MAX_PARTITIONED` texts do) against
partitioning a random sample of that many and giving each other row the cluster it is
most like (as larger fits now do); prints each one's seconds, peak memory allocated (tracemalloc) and
ARI against the planted classes, and the ARI between the two::

    OMP_NUM_THREADS=2 python benchmarks/conditioned_speed.py --n 4000 --compare-sample

With ``--real CONDITION``, the readings are the default model's, of ``--n`` shipped
texts repeated (``--words 0``: each keeps its shipped labels), under ``CONDITION``
("sentiment", "topic"), and the ARIs are against the labeling it names::

    OMP_NUM_THREADS=2 python benchmarks/conditioned_speed.py --n 4000 --compare-sample --real sentiment

``--compare-memory`` fits the texts under "sentiment" with ``memory=`` a fresh folder,
then again at k=3 and k=4, which reuse the stored reading::

    OMP_NUM_THREADS=2 python benchmarks/conditioned_speed.py --n 1000 --words 20 --compare-memory

With ``--distinct`` as well, no two texts are copies: each is two shipped texts of the
same class joined, drawn at random without repeats (for "sentiment" from the 128 texts
and the 60 travel reviews, for "topic" from the 128 texts, at most 3,968 pairs), so
the texts outside the sample have no copy in it::

    OMP_NUM_THREADS=2 python benchmarks/conditioned_speed.py --n 4000 --compare-sample --real sentiment --distinct
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--words", type=int, default=0, help="join shipped texts up to this many words")
    parser.add_argument("--compare", action="store_true", help="answers or none, every text asked or the central ones")
    parser.add_argument("--compare-dtype", action="store_true", help="float32 (the default) against bfloat16")
    parser.add_argument("--compare-opened", action="store_true", help="with the opened reading or without")
    parser.add_argument("--compare-namer", action="store_true", help="the shipped namer or the reading's answers")
    parser.add_argument("--compare-readout", action="store_true", help="the readout on full columns or span coordinates")
    parser.add_argument("--compare-sample", action="store_true", help="every row partitioned or a sample")
    parser.add_argument("--real", choices=("sentiment", "topic"), help="with --compare-sample: real readings")
    parser.add_argument("--compare-memory", action="store_true", help="a second fit, at another k, from memory=")
    parser.add_argument("--distinct", action="store_true", help="with --real: pairs of same-class texts, no copies")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    if args.compare_readout:
        return compare_readout(args.n, max(args.repeats, 3))
    if args.compare_sample and not args.real:
        return compare_sample(args.n)
    from sklearn_icc import AttentionSpectralClustering
    from sklearn_icc.data import load_topic_sentiment_texts
    from sklearn_icc.runtime import load_model

    texts, _, _ = load_topic_sentiment_texts()
    X = []
    for i in range(args.n):
        parts, j = [texts[i % len(texts)]], i + 1
        while len(" ".join(parts).split()) < args.words:
            parts.append(texts[j % len(texts)])
            j += 1
        X.append(" ".join(parts) + (f" ({i // len(texts) + 1})" if i >= len(texts) else ""))
    words = np.mean([len(t.split()) for t in X])
    load_model("default")
    print(f"{args.n} texts, {words:.1f} words each on average; threads {torch.get_num_threads()}; "
          f"load average before {os.getloadavg()[0]:.2f}")
    if args.compare:
        return compare(X, args.repeats)
    if args.compare_dtype:
        return compare_dtype(X, args.repeats)
    if args.compare_opened:
        return compare_opened(X, args.repeats)
    if args.compare_memory:
        return compare_memory(X)
    if args.compare_namer:
        return compare_namer(X, args.repeats)
    if args.compare_sample and args.distinct:
        X, truth = distinct_pairs(args.n, args.real)
        print(f"{len(X)} distinct texts (pairs), {np.mean([len(t.split()) for t in X]):.1f} words each on average")
        return compare_sample(len(X), condition=args.real, X=X, truth=truth)
    if args.compare_sample:
        _, topic, sentiment = load_topic_sentiment_texts()
        truth = {"topic": topic, "sentiment": sentiment}[args.real]
        return compare_sample(args.n, condition=args.real, X=X, truth=truth[np.arange(args.n) % len(texts)])
    print("| condition | k | seconds | seconds per 1,000 texts |\n|---|---|---|---|")
    for condition, k in (("topic", 4), ("sentiment", 2)):
        start = time.perf_counter()
        AttentionSpectralClustering(k, condition=condition, random_state=0).fit(X)
        seconds = time.perf_counter() - start
        print(f"| {condition} | {k} | {seconds:.1f} | {1000 * seconds / args.n:.0f} |", flush=True)
    print(f"load average after {os.getloadavg()[0]:.2f}")


def compare(X, repeats):
    """Alternate each pair of variants ``repeats`` times; print seconds per 1,000 texts and ratios."""
    from sklearn_icc import AttentionSpectralClustering
    from sklearn_icc.cluster import _by_condition
    from sklearn_icc.runtime import load_model
    from sklearn_icc.runtime.capture.conditioned import read_texts

    loaded, scale = load_model("default"), 1000 / len(X)

    def timed(call):
        start = time.perf_counter()
        call()
        return time.perf_counter() - start

    def fit(condition, k, every):
        saved = _by_condition.NAMED_PER_CLUSTER
        _by_condition.NAMED_PER_CLUSTER = 10**9 if every else saved
        try:
            return AttentionSpectralClustering(k, condition=condition, random_state=0).fit(X)
        finally:
            _by_condition.NAMED_PER_CLUSTER = saved

    print("| what | variant A | variant B | s per 1,000 (A) | s per 1,000 (B) | B / A |\n|---|---|---|---|---|---|")
    pairs = [("read, topic", "10 answer tokens", "no answer", lambda: read_texts(loaded, X, "topic"),
              lambda: read_texts(loaded, X, "topic", answer_tokens=0))]
    for condition, k in (("topic", 4), ("sentiment", 2)):
        pairs.append((f"fit, {condition}, k={k}", "every text answered", "central texts answered",
                      lambda c=condition, k=k: fit(c, k, True), lambda c=condition, k=k: fit(c, k, False)))
    for what, name_a, name_b, a, b in pairs:
        times = {name_a: [], name_b: []}
        for _ in range(repeats):
            times[name_a].append(timed(a))
            times[name_b].append(timed(b))
        ta, tb = np.median(times[name_a]), np.median(times[name_b])
        print(f"| {what} | {name_a} | {name_b} | {scale * ta:.0f} | {scale * tb:.0f} | {tb / ta:.2f} |", flush=True)
    same = [fit("sentiment", 2, True), fit("sentiment", 2, False)]
    print(f"\nsentiment names, every text answered: {same[0].cluster_names_}; central texts: {same[1].cluster_names_}; "
          f"same labels: {bool((same[0].labels_ == same[1].labels_).all())}")
    print(f"load average after {os.getloadavg()[0]:.2f}")


def compare_namer(X, repeats):
    """Alternate fits with the shipped namer and with the reading's own answers; print
    seconds per 1,000 texts, the ratio, and whether the labels are the same."""
    from sklearn_icc import AttentionSpectralClustering
    from sklearn_icc.runtime.model.adapters import shipped_namer
    from sklearn_icc.runtime.spec import ModelSpec

    start = time.perf_counter()
    ModelSpec("default", adapter=shipped_namer()).load()
    print(f"the naming adapter's first load (merged into a second copy of the model): "
          f"{time.perf_counter() - start:.1f} s")
    scale = 1000 / len(X)
    print("| condition | k | namer='reading' s per 1,000 | namer='auto' s per 1,000 | auto / reading | same labels |\n"
          "|---|---|---|---|---|---|")
    for condition, k in (("topic", 4), ("sentiment", 2)):
        times, fits = {"reading": [], "auto": []}, {}
        for _ in range(repeats):
            for namer in ("reading", "auto"):
                start = time.perf_counter()
                fits[namer] = AttentionSpectralClustering(k, condition=condition, namer=namer, random_state=0).fit(X)
                times[namer].append(time.perf_counter() - start)
        ta, tb = np.median(times["reading"]), np.median(times["auto"])
        same = bool((fits["reading"].labels_ == fits["auto"].labels_).all())
        print(f"| {condition} | {k} | {scale * ta:.0f} | {scale * tb:.0f} | {tb / ta:.2f} | {same} |", flush=True)
    print(f"load average after {os.getloadavg()[0]:.2f}")


def compare_opened(X, repeats):
    """Alternate fits and readings with and without the opened slot; print seconds per
    1,000 texts, the ratio, and the ARI between the two fits' labels."""
    from sklearn.metrics import adjusted_rand_score

    from sklearn_icc import AttentionSpectralClustering
    from sklearn_icc.cluster import _by_condition
    from sklearn_icc.cluster._conditioned import wanted_layers
    from sklearn_icc.runtime import load_model
    from sklearn_icc.runtime.capture.conditioned import read_texts

    loaded, scale = load_model("default"), 1000 / len(X)
    layers = wanted_layers(loaded.model.config.num_hidden_layers + 1)
    real_read = _by_condition.read

    def fit(opened):
        _by_condition.read = real_read if opened else (lambda *a, **kw: real_read(*a, **{**kw, "opened": False}))
        try:
            return AttentionSpectralClustering(2, condition="sentiment", random_state=0).fit(X)
        finally:
            _by_condition.read = real_read

    print("| what | s per 1,000 (plain only) | s per 1,000 (with the opened slot) | ratio | design |\n|---|---|---|---|---|")
    for what, call in (("reading, no answers", lambda opened: read_texts(loaded, X, "sentiment", layers=layers,
                                                                          answer_tokens=0, opened=opened)),
                       ("fit, sentiment, k=2", fit)):
        times, results = {False: [], True: []}, {}
        for _ in range(repeats):
            for opened in times:
                start = time.perf_counter()
                results[opened] = call(opened)
                times[opened].append(time.perf_counter() - start)
        ta, tb = np.median(times[False]), np.median(times[True])
        design = ""
        if what.startswith("fit"):
            design = (f"{results[False].reading_.name} -> {results[True].reading_.name}, ARI between the labels "
                      f"{adjusted_rand_score(results[False].labels_, results[True].labels_):.2f}")
        print(f"| {what} | {scale * ta:.0f} | {scale * tb:.0f} | {tb / ta:.2f} | {design} |", flush=True)
    print(f"load average after {os.getloadavg()[0]:.2f}")


def compare_dtype(X, repeats):
    """Alternate the default fit and a bfloat16 fit ``repeats`` times per condition; print
    seconds per 1,000 texts, the ratio, and the ARI between the two fits' labels."""
    import torch
    from sklearn.metrics import adjusted_rand_score

    from sklearn_icc import AttentionSpectralClustering
    from sklearn_icc.runtime import load_model

    from sklearn_icc.runtime.model.devices import cpu_has_native_bfloat16

    load_model("default", dtype="bfloat16")
    print(f"torch CPU capability {torch.backends.cpu.get_cpu_capability()}, native bfloat16 matrix units "
          f"(AMX or AVX512-BF16): {cpu_has_native_bfloat16()}")
    print("| fit | k | s per 1,000 (float32) | s per 1,000 (bfloat16) | bfloat16 / float32 | ARI between the labels |"
          "\n|---|---|---|---|---|---|")
    scale = 1000 / len(X)
    for condition, k in (("topic", 4), ("sentiment", 2)):
        times, labels = {"auto": [], "bfloat16": []}, {}
        for _ in range(repeats):
            for dtype in times:
                start = time.perf_counter()
                fitted = AttentionSpectralClustering(k, condition=condition, dtype=dtype, random_state=0).fit(X)
                times[dtype].append(time.perf_counter() - start)
                labels[dtype] = fitted.labels_
        ta, tb = np.median(times["auto"]), np.median(times["bfloat16"])
        print(f"| {condition} | {k} | {scale * ta:.0f} | {scale * tb:.0f} | {tb / ta:.2f} | "
              f"{adjusted_rand_score(labels['auto'], labels['bfloat16']):.2f} |", flush=True)
    print(f"load average after {os.getloadavg()[0]:.2f}")


def compare_readout(n, repeats):
    """Alternate the readout on full columns and on span coordinates ``repeats`` times per shape."""
    from sklearn_icc.cluster import _conditioned
    from sklearn_icc.cluster._conditioned import affinity_from_features, readout_labels

    span = _conditioned.span_coordinates
    rng = np.random.default_rng(0)
    print(f"load average before {os.getloadavg()[0]:.2f}")
    print("| features | k | full columns (s) | span coordinates (s) | ratio | same labels |\n|---|---|---|---|---|---|")
    for d, k in ((6336, 2), (576, 4)):
        truth = rng.integers(0, k, n)
        F = 0.3 * rng.normal(size=(k, d))[truth] + rng.normal(size=(n, d))
        F -= F.mean(axis=0)
        A = affinity_from_features(F)
        times, labels = {"full": [], "span": []}, {}
        try:
            for _ in range(repeats):
                for name in times:
                    _conditioned.span_coordinates = span if name == "span" else (lambda U: U)
                    start = time.perf_counter()
                    labels[name] = readout_labels(F, A, k, np.random.RandomState(0))[0]
                    times[name].append(time.perf_counter() - start)
        finally:
            _conditioned.span_coordinates = span
        ta, tb = np.median(times["full"]), np.median(times["span"])
        print(f"| {n} x {d} | {k} | {ta:.2f} | {tb:.2f} | {tb / ta:.2f} | "
              f"{bool(np.array_equal(labels['full'], labels['span']))} |", flush=True)


def compare_memory(X):
    """A fit with ``memory=`` (a fresh folder), then fits of the same texts at other k from it."""
    import tempfile

    from sklearn_icc import AttentionSpectralClustering

    print("| fit | k | seconds |\n|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for what, k in (("first: read and stored", 2), ("from memory", 3), ("from memory", 4)):
            start = time.perf_counter()
            AttentionSpectralClustering(k, condition="sentiment", memory=folder, random_state=0).fit(X)
            print(f"| {what} | {k} | {time.perf_counter() - start:.1f} |", flush=True)


def distinct_pairs(n, condition, seed=0):
    """``n`` distinct texts, each two shipped texts of the same class under ``condition``
    joined (ordered pairs of two different texts, drawn without repeats), and their class."""
    from sklearn_icc.data import load_topic_sentiment_texts, load_travel_reviews

    texts, topic, sentiment = load_topic_sentiment_texts()
    labels = topic if condition == "topic" else sentiment
    if condition == "sentiment":
        travel, _, travel_sentiment, _ = load_travel_reviews()
        texts, labels = list(texts) + list(travel), np.concatenate([labels, travel_sentiment])
    pairs = [(i, j) for i in range(len(texts)) for j in range(len(texts)) if i != j and labels[i] == labels[j]]
    if n > len(pairs):
        raise SystemExit(f"--distinct has {len(pairs)} pairs under {condition!r}; ask for at most that many.")
    chosen = np.random.default_rng(seed).choice(len(pairs), n, replace=False)
    return [f"{texts[pairs[c][0]]} {texts[pairs[c][1]]}" for c in chosen], np.array([labels[pairs[c][0]] for c in chosen])


def compare_sample(n, k=3, condition=None, X=None, truth=None):
    """One partition of every row and one of a sample (the fit's path), on synthetic
    readings, or on the default model's readings of ``X`` under ``condition``."""
    import tracemalloc

    from sklearn.metrics import adjusted_rand_score

    from sklearn_icc.cluster._by_condition import MAX_PARTITIONED, partition_reading
    from sklearn_icc.cluster._conditioned import conditioned_partition

    kind = "attitude"
    if condition is None:
        rng = np.random.default_rng(0)
        truth = rng.integers(0, k, n)
        held = tuple(range(20, 31))
        states = {slot: (rng.normal(size=(k, 1, 576))[truth] + 6.0 * rng.normal(size=(n, len(held), 576)))
                  .astype(np.float32) for slot in ("prompt", "opened", "text")}
    else:
        from sklearn_icc import AttentionSpectralClustering
        from sklearn_icc.cluster._by_condition import read, reading_order
        from sklearn_icc.runtime.prompts.questions import condition_kind

        order = reading_order(X)
        truth, kind, k = np.asarray(truth)[order], condition_kind(condition), len(np.unique(truth))
        start = time.perf_counter()
        reading, _ = read(AttentionSpectralClustering(k, condition=condition), _loaded(),
                          [X[i] for i in order], opened=kind == "attitude")
        states, held = reading.states, reading.layers
        print(f"read {n} texts under {condition!r} in {time.perf_counter() - start:.0f} s")
    print(f"load average before {os.getloadavg()[0]:.2f}; {n} texts, sample of {MAX_PARTITIONED}")
    print("| rows partitioned | seconds | peak memory allocated (GB) | ARI against the true classes |\n|---|---|---|---|")
    found = {}
    for name in ("every row", "sample + nearest cluster"):
        tracemalloc.start()
        start = time.perf_counter()
        random_state = np.random.RandomState(0)
        if name == "every row":
            labels = conditioned_partition(states, 31, k, 10, random_state, held=held, kind=kind)[0]
        else:  # the fit's own path
            labels = partition_reading(states, 31, k, 10, random_state, held, kind)[1]
        seconds = time.perf_counter() - start
        grown = tracemalloc.get_traced_memory()[1] / 1e9
        tracemalloc.stop()
        found[name] = labels
        print(f"| {name} | {seconds:.1f} | {grown:.2f} | {adjusted_rand_score(truth, labels):.2f} |", flush=True)
    print(f"\nARI between the two partitions: {adjusted_rand_score(*found.values()):.2f}")


def _loaded():
    from sklearn_icc.runtime import load_model

    return load_model("default")


if __name__ == "__main__":
    main()
