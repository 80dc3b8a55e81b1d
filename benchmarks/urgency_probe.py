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
own tokens: how much of urgency is there for a trained reading to find. Last, a
direction the model gives itself: it writes ``--generated`` messages for each of two
instructions that name urgency's two values (sampled, seeded), those are read the same
way, and the support messages are projected on the difference of the two groups' mean
unit states; printed are the projection's ROC AUC against urgency and the ARI of
KMeans(2) on it, per layer. No label of the support messages is used there, but the two
instructions are written for urgency: a general design would have to get them from the
condition. Not shipped.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections import Counter
from unittest import mock

import numpy as np
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score, roc_auc_score
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


GENERATE = {  # the two instructions of the generated contrast
    "urgent": "Write a short, urgent customer message that needs an answer right now.",
    "routine": "Write a short customer message that is not urgent at all.",
}


def generated(loaded, instruction, n, seed):
    """``n`` messages the model writes for ``instruction`` (temperature 0.8, top-p 0.95, seeded)."""
    import torch

    tokenizer = loaded.tokenizer
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": instruction}], tokenize=False,
                                           add_generation_prompt=True)
    ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    torch.manual_seed(seed)
    out = loaded.model.generate(**ids, do_sample=True, temperature=0.8, top_p=0.95, max_new_tokens=40,
                                num_return_sequences=n, pad_token_id=tokenizer.eos_token_id)
    texts = [tokenizer.decode(o[ids["input_ids"].shape[1]:], skip_special_tokens=True).strip() for o in out]
    return [t.split("\n")[0] or "(empty)" for t in texts]


def generated_contrast(loaded, texts, urgency, n):
    """The generated contrast's table (see the module docstring)."""
    def unit(S, layer):
        v = S[:, layer]
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)

    made = {value: generated(loaded, instruction, n, seed) for seed, (value, instruction) in enumerate(GENERATE.items())}
    print(f"\nGenerated contrast: {n} messages per instruction; the first of each:")
    for value, written in made.items():
        print(f"- {value}: {written[0]!r}")
    readings = {value: read_texts(loaded, written, "urgency").states for value, written in made.items()}
    own = read_texts(loaded, texts, "urgency").states
    y = (np.asarray(urgency) == "urgent").astype(int)
    layers = list(range(5, own["prompt"].shape[1], 5))
    print("\n| states | " + " | ".join(f"layer {i}" for i in layers) + " |")
    print("|" + "---|" * (len(layers) + 1))
    for slot, label in (("text", "the text's tokens"), ("prompt", "answer position")):
        cells = []
        for layer in layers:
            direction = unit(readings["urgent"][slot], layer).mean(0) - unit(readings["routine"][slot], layer).mean(0)
            score = unit(own[slot], layer) @ direction
            found = KMeans(2, n_init=10, random_state=0).fit_predict(score[:, None])
            cells.append(f"AUC {roc_auc_score(y, score):.2f}, ARI {adjusted_rand_score(urgency, found):.2f}")
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--generated", type=int, default=40, help="messages the model writes per instruction")
    args = parser.parse_args()
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
    generated_contrast(loaded, texts, urgency, args.generated)


if __name__ == "__main__":
    main()
