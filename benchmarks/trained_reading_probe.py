"""Can a trained reading find urgency? LoRA taught on messages the default model writes itself.

    cd benchmarks && OMP_NUM_THREADS=2 python trained_reading_probe.py --out ../runs/trained_reading

The conditioned reading is at chance against the support messages' urgency
(``docs/texts.rst``), although a logistic regression finds urgency in the model's states
(``urgency_probe.py``). This probe tries the route that needs no text written by us:

1. the default model writes ``--per-subject`` messages for each of 20 subjects (none of
   them a product of the support messages) under two instructions, "an urgent customer
   message ... that needs an answer right now" and one "that is not urgent at all"
   (:func:`urgency_probe.generated`, seeded); messages under 5 words are dropped;
2. LoRA (rank 8, the attention projections) is trained with next-token loss on the
   answer only: the question prompt of ``condition="urgency"`` around each message, the
   answer its instruction's value ("urgent" or "routine"); batch 8, ``--steps`` steps;
3. the merged model reads the shipped sets as the estimator does (the shipped design,
   no labels) and prints each condition's ARI against every labeling, with the answers;
   for urgency also the ARI of the answer words and the ROC AUC of
   ``logit("urgent") - logit("routine")`` at the answer position.

Not shipped; the generated messages and the adapter are written to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
import warnings
from collections import Counter

import numpy as np
from sklearn.metrics import adjusted_rand_score, roc_auc_score

from conditioned_texts import load
from trained_reading import batch_tensors
from urgency_probe import generated

SUBJECTS = ("a laptop", "a parcel", "a hotel booking", "an invoice", "a washing machine", "a train ticket",
            "a software licence", "a flight", "an insurance claim", "a rental car", "a gym membership",
            "a pair of shoes", "a printer", "a bank card", "a dentist appointment", "a sofa delivery",
            "an internet connection", "a concert ticket", "a refund", "a fridge")
INSTRUCTIONS = {
    "urgent": "Write a short, urgent customer message about {subject} that needs an answer right now.",
    "routine": "Write a short customer message about {subject} that is not urgent at all.",
}
CHECKS = (("support", "urgency"), ("support", "how urgent it is"), ("support", "emotion"), ("support", "product"),
          ("support", "how the writer feels"), ("topic_sentiment", "sentiment"), ("topic_sentiment", "topic"),
          ("travel", "traveller"), ("travel", "sentiment"))
TARGET = {"urgency": "urgency", "how urgent it is": "urgency", "emotion": "emotion", "product": "product",
          "how the writer feels": "emotion", "sentiment": "sentiment", "topic": "topic", "traveller": "traveller"}


def write_messages(loaded, per_subject):
    rows = []
    for v, (value, instruction) in enumerate(INSTRUCTIONS.items()):
        for s, subject in enumerate(SUBJECTS):
            for text in generated(loaded, instruction.format(subject=subject), per_subject, seed=1000 * v + s):
                if len(text.split()) >= 5:
                    rows.append({"text": text, "value": value, "subject": subject})
    return rows


def train(loaded, rows, steps, seed=0):
    """The LoRA-trained model, merged (see the module docstring)."""
    import torch

    from sklearn_icc.finetune.config import LoraSettings
    from sklearn_icc.finetune.training import add_lora
    from sklearn_icc.runtime.prompts.plain_text import plain_ids, template_ids
    from sklearn_icc.runtime.prompts.questions import build_question_prompt

    tokenizer = loaded.tokenizer
    prompt = build_question_prompt(tokenizer, "urgency")
    end = template_ids(tokenizer, "<|im_end|>")
    examples = [(prompt.ids(plain_ids(tokenizer, row["text"])), plain_ids(tokenizer, row["value"]) + end) for row in rows]
    rng = random.Random(seed)
    loaded.model.train()
    model = add_lora(loaded.model, LoraSettings(r=8, alpha=16, dropout=0.0), seed=seed)  # the attention projections
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-4)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    start = time.perf_counter()
    for step in range(steps):
        batch = rng.sample(examples, 8)
        loss = model(**batch_tensors(batch, pad)).loss
        loss.backward()
        optimiser.step()
        optimiser.zero_grad()
        if step % 20 == 0 or step == steps - 1:
            print(f"step {step}: loss {loss.item():.3f} ({time.perf_counter() - start:.0f} s)", flush=True)
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-subject", type=int, default=10, help="messages written per subject and instruction")
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--out", default="runs/trained_reading")
    args = parser.parse_args()
    import torch

    from sklearn_icc.cluster._conditioned import conditioned_partition, wanted_layers
    from sklearn_icc.runtime import load_model
    from sklearn_icc.runtime.capture.conditioned import read_texts
    from sklearn_icc.runtime.decoding.prefix_cache import clear_prefix_caches
    from sklearn_icc.runtime.prompts.plain_text import plain_ids
    from sklearn_icc.runtime.prompts.questions import condition_kind

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    warnings.filterwarnings("ignore", category=FutureWarning)
    os.makedirs(args.out, exist_ok=True)
    loaded = load_model("default", device="cpu")
    start = time.perf_counter()
    rows = write_messages(loaded, args.per_subject)
    with open(os.path.join(args.out, "messages.json"), "w") as f:
        json.dump(rows, f, indent=0)
    print(f"{len(rows)} messages written ({dict(Counter(r['value'] for r in rows))}) in "
          f"{time.perf_counter() - start:.0f} s; e.g. {rows[0]['text']!r}", flush=True)
    model = train(loaded, rows, args.steps)
    model.save_pretrained(os.path.join(args.out, "lora"))
    loaded.model = model.merge_and_unload().eval()
    clear_prefix_caches()
    n_states = loaded.model.config.num_hidden_layers + 1
    head = loaded.model.lm_head.weight.detach().float().numpy()
    urgent, routine = plain_ids(loaded.tokenizer, "urgent")[0], plain_ids(loaded.tokenizer, "routine")[0]
    print("\n| data | condition | ARI against each labeling | most common answers |\n|---|---|---|---|")
    notes = []
    for data, condition in CHECKS:
        texts, labels = load(data)
        k = len(np.unique(labels[TARGET[condition]]))
        reading = read_texts(loaded, list(texts), condition, layers=wanted_layers(n_states))
        found = conditioned_partition(reading.states, n_states, k, 10, np.random.RandomState(0), held=reading.layers,
                                      kind=condition_kind(condition))[0]
        scores = ", ".join(f"{name} {adjusted_rand_score(y, found):.2f}" for name, y in labels.items())
        answers = ", ".join(f"{a!r} x{c}" for a, c in Counter(reading.answers).most_common(3))
        print(f"| {data} | {condition} | {scores} | {answers} |", flush=True)
        if TARGET[condition] == "urgency":
            y = labels["urgency"]
            words = [a.split()[0].lower().strip(".,!") if a else "" for a in reading.answers]
            logits = reading.states["prompt"][:, -1] @ head.T
            notes.append(f"{condition!r}: answer words against urgency ARI {adjusted_rand_score(y, words):.2f}; "
                         f"logit('urgent') - logit('routine') ROC AUC "
                         f"{roc_auc_score(y == 'urgent', logits[:, urgent] - logits[:, routine]):.2f}")
    print()
    for line in notes:
        print(f"- {line}")
    print(f"\n({time.perf_counter() - start:.0f} s; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')})")


if __name__ == "__main__":
    main()
