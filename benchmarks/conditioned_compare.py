"""Two runs of ``conditioned_texts.py --methods asc-conditioned``, compared condition by condition.

    OMP_NUM_THREADS=2 python benchmarks/conditioned_texts.py --methods asc-conditioned --adapter none --data travel friends > default.md
    OMP_NUM_THREADS=2 python benchmarks/conditioned_texts.py --methods asc-conditioned --model <merged> --data travel friends > candidate.md
    python benchmarks/conditioned_compare.py default.md candidate.md

It reads the printed matrices (rows: condition asked; columns: ARI against each labeling;
each labeling asked in the same number of wordings, in the order of its columns) and prints, for both
runs, each condition's ARI against the labeling asked, the mean per data set (the mean
``conditioned_texts.py`` prints), the mean by kind of condition (content as
:func:`~sklearn_icc.runtime.prompts.questions.condition_kind` reads it; attitude split
into conditions that name a feeling and the rest), and the share of texts named by
their true class's word. Nothing is run again; the numbers are the logs' (the matrices'
two-decimal cells, so a set's mean can differ from the one the log prints by 0.001).
"""

from __future__ import annotations

import argparse
import re
import statistics

from sklearn_icc.runtime.prompts.questions import condition_kind

#: Words that make an attitude condition a feeling one, for the split by kind.
FEELING_WORDS = frozenset({
    "feel", "feels", "feeling", "feelings", "felt", "sentiment", "sentiments", "emotion", "emotions",
    "emotional", "mood", "moods", "tone", "tones", "attitude", "opinion", "satisfaction", "satisfied",
})
ROW = re.compile(r"^\| asc-conditioned \| ([^|]+) \|(.*)\|\s*$")
NAMES = re.compile(r"""^- asc-conditioned (?:'([^']*)'|"([^"]*)"): .*true class's word ([0-9.]+)""")


def read_log(path):
    """``{data set: [(condition, ARI asked, share named by the true word or None)]}`` from one log."""
    sets, current = {}, None
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            heading = re.match(r"^### (\w+):", line)
            if heading:
                current = heading.group(1)
                sets.setdefault(current, [])
                continue
            row = ROW.match(line)
            if row and current is not None:
                condition = row.group(1).strip()
                cells = [float(x) for x in row.group(2).split("|")]
                sets[current].append([condition, cells, None])
                continue
            named = NAMES.match(line)
            if named and current is not None:
                for item in sets[current]:
                    if item[0] == (named.group(1) or named.group(2)) and item[2] is None:
                        item[2] = float(named.group(3))
                        break
    out = {}
    for name, rows in sets.items():
        if not rows:
            continue
        n_labelings = len(rows[0][1])
        if len(rows) % n_labelings:
            raise ValueError(f"{path}: {name} has {len(rows)} conditions for {n_labelings} labelings; "
                             "expected as many wordings of each (run conditioned_texts.py without --all-conditions).")
        per = len(rows) // n_labelings
        out[name] = [(c, cells[i // per], named) for i, (c, cells, named) in enumerate(rows)]
    if not out:
        raise ValueError(f"{path}: no asc-conditioned matrix found.")
    return out


def kind(condition):
    """``"content"``, ``"feeling"`` or ``"other attitude"``."""
    if condition_kind(condition) == "content":
        return "content"
    return "feeling" if set(re.findall(r"[a-z]+", condition.lower())) & FEELING_WORDS else "other attitude"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("baseline")
    parser.add_argument("candidate")
    args = parser.parse_args()
    base, cand = read_log(args.baseline), read_log(args.candidate)
    if set(base) != set(cand):
        raise ValueError(f"the logs hold different data sets: {sorted(base)} against {sorted(cand)}.")
    print("| data set | condition | kind | baseline | candidate |\n|---|---|---|---|---|")
    kinds, named = {}, []
    for name in base:
        if [c for c, *_ in base[name]] != [c for c, *_ in cand[name]]:
            raise ValueError(f"{name}: the logs asked different conditions.")
        for (condition, a, na), (_, b, nb) in zip(base[name], cand[name]):
            kinds.setdefault(kind(condition), []).append((a, b))
            if na is not None and nb is not None:
                named.append((na, nb))
            print(f"| {name} | {condition} | {kind(condition)} | {a:.2f} | {b:.2f} |")
    print("\n| data set | baseline | candidate |\n|---|---|---|")
    means = []
    for name in base:
        means.append((statistics.mean(a for _, a, _ in base[name]), statistics.mean(b for _, b, _ in cand[name])))
        print(f"| {name} | {means[-1][0]:.3f} | {means[-1][1]:.3f} |")
    print(f"| mean of the {len(means)} | {statistics.mean(a for a, _ in means):.3f} | "
          f"{statistics.mean(b for _, b in means):.3f} |")
    print("\n| kind | conditions | baseline | candidate |\n|---|---|---|---|")
    for name, pairs in sorted(kinds.items()):
        print(f"| {name} | {len(pairs)} | {statistics.mean(a for a, _ in pairs):.3f} | "
              f"{statistics.mean(b for _, b in pairs):.3f} |")
    if named:
        print(f"\nShare of texts named by their true class's word: baseline {statistics.mean(a for a, _ in named):.3f}, "
              f"candidate {statistics.mean(b for _, b in named):.3f} over {len(named)} conditions "
              f"(candidate higher in {sum(b > a for a, b in named)}, lower in {sum(b < a for a, b in named)}).")


if __name__ == "__main__":
    main()
