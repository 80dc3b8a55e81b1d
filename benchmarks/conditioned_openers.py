"""Read attitude conditions after an opened answer ("Urgency:"), and choose between readings.

Each attitude-like condition of ``CONDITIONS`` (the same data sets and conditions as
``conditioned_texts.py``) is read once with the ``"opened"`` slot
(:func:`sklearn_icc.runtime.capture.conditioned.read_texts` with ``opened=True``:
the plain prompt's answer slot, and the same after the answer's opening,
:func:`sklearn_icc.runtime.prompts.questions.opener`). The four candidate designs (plain
or opened, final layer or last third) are each partitioned by the estimators' readout
(:func:`~sklearn_icc.cluster._conditioned.readout_labels`, k true), and five label-free
choices among them are scored, ARI against the labeling the condition names:

- ``plain``: :func:`~sklearn_icc.cluster._conditioned.conditioned_partition` on the plain
  reading only, its design by eigengap (the estimators before the opened reading);
- ``eigengap``: the largest eigengap of all four designs;
- ``consensus``: the partition with the largest mean ARI to the other three;
- ``silhouette``: the partition with the largest cosine silhouette of its own design's
  features (the fit's own sign of a strong partition, ``docs/texts.rst``);
- ``agreement``: :func:`~sklearn_icc.cluster._conditioned.conditioned_partition` on both
  readings, the estimators' rule: the reading whose two designs' partitions agree more (a
  tie keeps the plain one), then its design by eigengap;
- ``best``: not a choice but its ceiling, the candidate with the largest ARI against the
  labeling asked (it reads the labels);
- with ``--answers`` (each text's greedy answer is read too, as a fit of a few texts
  does), ``answers``: the candidate whose partition shares the most information with the
  texts' answer words (adjusted mutual information), a choice that reads what the model
  says.

``--opener`` replaces the opening (``{c}``: the condition, ``{C}``: capitalised; the
default ``"{C}:"`` is the package's). Texts in the loader's order. Default model,
zero-shot, two CPU threads::

    OMP_NUM_THREADS=2 python benchmarks/conditioned_openers.py
    OMP_NUM_THREADS=2 python benchmarks/conditioned_openers.py --data support --opener "Answer:"
    OMP_NUM_THREADS=2 python benchmarks/conditioned_openers.py --answers

Prints a Markdown table per data set: each candidate's ARI (and, in brackets, the largest
ARI against another labeling), its eigengap, each reading's agreement, and each choice's
ARI; then each choice's mean and minimum over all conditions.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score

from conditioned_texts import CONDITIONS, load, own_silhouette

CHOICES = ("plain", "eigengap", "consensus", "silhouette", "agreement", "best")


def choices(built, scores, silhouettes, y, words=None):
    """The candidate each rule the estimators do not use picks: ``{rule: design name}``
    (``best`` reads the labels ``y``; ``silhouette``, from each candidate's own
    ``silhouettes``, and ``answers``, given the answer ``words``, do not)."""
    names = list(built)
    consensus = {n: np.mean([adjusted_rand_score(built[n], built[m]) for m in names if m != n]) for n in names}
    picked = {"eigengap": max(names, key=scores.get), "consensus": max(names, key=consensus.get),
              "silhouette": max(names, key=silhouettes.get),
              "best": max(names, key=lambda n: adjusted_rand_score(y, built[n]))}
    if words is not None:
        picked["answers"] = max(names, key=lambda n: adjusted_mutual_info_score(words, built[n]))
    return picked


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", nargs="+", default=list(CONDITIONS), choices=list(CONDITIONS))
    parser.add_argument("--opener", default="{C}:", help='the answer\'s opening (default "{C}:")')
    parser.add_argument("--answers", action="store_true", help="read the answers too; add the 'answers' choice")
    args = parser.parse_args()
    rules = CHOICES + ("answers",) if args.answers else CHOICES
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    from sklearn_icc.cluster._affinity import score_layers
    from sklearn_icc.cluster._conditioned import (CANDIDATES, OPENED_CANDIDATES, conditioned_partition,
                                                  reading_agreement, wanted_layers)
    from sklearn_icc.runtime import load_model
    from sklearn_icc.runtime.capture.conditioned import DEFAULT_ANSWER_TOKENS, answer_word, read_texts
    from sklearn_icc.runtime.prompts import questions

    questions.opener = lambda c: args.opener.format(c=c, C=c[0].upper() + c[1:])  # build_question_prompt reads it
    loaded = load_model("default", device="cpu")
    n_states = loaded.model.config.num_hidden_layers + 1
    totals = {rule: [] for rule in rules}
    for data in args.data:
        texts, labelings = load(data)
        header = None
        for condition, target in CONDITIONS[data].items():
            asked = questions.check_condition(condition, loaded.tokenizer)
            if questions.condition_kind(asked) != "attitude":
                continue
            y = labelings[target]
            k = len(np.unique(y))
            start = time.perf_counter()
            reading = read_texts(loaded, texts, asked, layers=wanted_layers(n_states), opened=True,
                                 answer_tokens=DEFAULT_ANSWER_TOKENS if args.answers else 0)
            words = [answer_word(a) for a in reading.answers] if args.answers else None
            built, affinities, agreement, silhouettes = {}, {}, {}, {}
            for slot, designs in (("prompt", CANDIDATES["attitude"]), ("opened", OPENED_CANDIDATES)):
                agreement[slot], items = reading_agreement(reading.states, n_states, k, np.random.RandomState(0),
                                                           designs, held=reading.layers)
                for name, (_, F, _, A, labels, _) in items.items():
                    built[name], affinities[name] = labels, A
                    silhouettes[name] = own_silhouette(F, labels)
            scores = score_layers(affinities, k)
            plain = {slot: v for slot, v in reading.states.items() if slot != "opened"}
            shipped = {rule: conditioned_partition(states, n_states, k, 10, np.random.RandomState(0),
                                                   held=reading.layers)[0]
                       for rule, states in (("plain", plain), ("agreement", reading.states))}
            if header is None:
                header = list(built)
                print(f"\n### {data} (opener {args.opener!r})\n")
                print("| condition | " + " | ".join(f"{n} (eigengap)" for n in header)
                      + " | agreement plain / opened | " + " | ".join(rules) + " |")
                print("|---|" + "---|" * (len(header) + 1 + len(rules)))
            cells = []
            for name in header:
                other = max(adjusted_rand_score(v, built[name]) for t, v in labelings.items() if t != target)
                cells.append(f"{adjusted_rand_score(y, built[name]):.2f} [{other:.2f}] ({scores[name]:.3f})")
            chosen = {**{rule: adjusted_rand_score(y, built[name]) for rule, name in choices(built, scores, silhouettes, y, words).items()},
                      **{rule: adjusted_rand_score(y, labels) for rule, labels in shipped.items()}}
            for rule, value in chosen.items():
                totals[rule].append(value)
            print(f"| {condition} | " + " | ".join(cells)
                  + f" | {agreement['prompt']:.2f} / {agreement['opened']:.2f} | "
                  + " | ".join(f"{chosen[rule]:.2f}" for rule in rules)
                  + f" |  <!-- {time.perf_counter() - start:.0f} s -->", flush=True)
    print("\n| choice | mean ARI | lowest ARI |\n|---|---|---|")
    for rule, values in totals.items():
        print(f"| {rule} | {np.mean(values):.3f} | {np.min(values):.2f} |")


if __name__ == "__main__":
    main()
