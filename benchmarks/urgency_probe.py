"""Does the default model hold the support messages' urgency? An unsupervised and a supervised look.

    OMP_NUM_THREADS=1 python benchmarks/urgency_probe.py

The conditioned reading (``AttentionSpectralClustering(condition="urgency")``) is at chance
against urgency on the 72 shipped support messages (``docs/texts.rst``). This probe asks
why. For several wordings of the question it reads the messages as the estimator does
(:func:`~sklearn_icc.runtime.capture.conditioned.read_texts`) and prints, at every layer,
the ARI against urgency of KMeans(2) on the answer position's states (unit rows,
centred), with the most common answers. Then, for the wording "urgency", a logistic
regression trained on the same states (6-fold cross-validated accuracy; chance is the
larger class's share) at every fifth layer, at the answer position and on the text's
own tokens: how much of urgency is there for a trained reading to find. Not shipped.
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from unittest import mock

import numpy as np
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import cross_val_score

from sklearn_icc.cluster._conditioned import ReadingDesign, design_features
from sklearn_icc.data import load_support_messages
from sklearn_icc.runtime import load_model
from sklearn_icc.runtime.capture.conditioned import read_texts
from sklearn_icc.runtime.prompts import questions

YES_NO = "Is this text urgent? Answer yes or no."
WORDINGS = {  # name: (condition, question style)
    "urgency": ("urgency", "what_is"),
    "how urgent it is": ("how urgent it is", "tell_me"),
    "yes/no": ("urgent", "yes_no"),
    "urgency level": ("urgency level", "what_is"),
    "priority": ("priority", "what_is"),
}


def answer_features(states, layer):
    """The estimator's features of one answer-position layer (unit rows, centred)."""
    n_states = states["prompt"].shape[1]
    return design_features(states, ReadingDesign(f"layer-{layer}", ("prompt",), (layer,)), n_states)[0]


def main():
    warnings.filterwarnings("ignore", message="Number of distinct clusters")  # layer 0: one state per prompt
    texts, _, _, urgency = load_support_messages()
    texts = list(texts)
    loaded = load_model("default", device="cpu")
    share = max(Counter(urgency).values()) / len(urgency)
    print(f"{len(texts)} messages, urgency classes {dict(Counter(map(str, urgency)))} (chance accuracy {share:.2f})\n")
    print("| wording | best layer | KMeans(2) ARI there | ARI, all layers | most common answers |")
    print("|---|---|---|---|---|")
    reading = None
    with mock.patch.dict(questions.QUESTIONS, {"yes_no": YES_NO}):
        for name, (condition, style) in WORDINGS.items():
            start = time.perf_counter()
            r = read_texts(loaded, texts, condition, style=style)
            aris = [adjusted_rand_score(urgency, KMeans(2, n_init=10, random_state=0).fit_predict(answer_features(r.states, i)))
                    for i in range(r.states["prompt"].shape[1])]
            best = int(np.argmax(aris))
            answers = ", ".join(f"{a!r} x{c}" for a, c in Counter(r.answers).most_common(3))
            print(f"| {name} | {best} | {aris[best]:.2f} | {min(aris):.2f} to {max(aris):.2f} | {answers} |"
                  f" <!-- {time.perf_counter() - start:.0f} s -->", flush=True)
            if name == "urgency":
                reading = r
    print("\nLogistic regression on the states of the wording 'urgency' (6-fold accuracy)\n")
    layers = list(range(0, reading.states["prompt"].shape[1], 5))
    print("| states | " + " | ".join(f"layer {i}" for i in layers) + " |")
    print("|" + "---|" * (len(layers) + 1))
    for slot, label in (("prompt", "answer position"), ("text", "the text's tokens")):
        S = reading.states[slot]
        accs = [cross_val_score(LogisticRegression(max_iter=2000, C=0.1), S[:, i], urgency, cv=6).mean() for i in layers]
        print(f"| {label} | " + " | ".join(f"{a:.2f}" for a in accs) + " |", flush=True)


if __name__ == "__main__":
    main()
