"""A trained conditioned reading: LoRA taught to answer many conditions about texts we wrote.

    OMP_NUM_THREADS=2 python benchmarks/trained_reading.py --out runs/reader2 --steps 800 --lr 1e-4 \
        --train-dir benchmarks/reader_training/helpers benchmarks/reader_training/session

The zero-shot reading of the default model misses urgency, several emotions and requests
(``docs/texts.rst``). A first trained reading (``trained_reading_probe.py``) taught one
condition on texts the 135M model wrote itself and answered "routine" to everything.
This one trains on many conditions at once, on labelled texts written for it:

- every ``<name>.csv`` in the ``--train-dir`` folders, in their order (a text column, then labeling columns whose
  values are one-word answers) with its ``<name>.json``
  (``{"labelings": {labeling: {"classes": [...], "wordings": [...]}}}``);
- an example is one text, one labeling, one of its wordings: the shipped question prompt
  of that condition (:func:`~sklearn_icc.runtime.prompts.questions.build_question_prompt`)
  and, as the answer, the text's class word and the end of turn; half the examples put the
  condition's opener (``"Urgency:"``, the ``"opened"`` slot) before the word, so both
  answer slots the estimator reads are taught. Loss on the answer word only
  (:func:`~sklearn_icc.finetune.training.answer_only_loss`);
- LoRA on the attention projections (rank ``--rank``), AdamW, batches of ``--batch``
  examples drawn with replacement (seeded), ``--steps`` steps; the adapter is saved every
  ``--checkpoint-every`` steps (``--resume`` continues from the newest, optimiser state
  restarted), and at the end the merged model and its tokenizer are saved to
  ``<out>/merged``, a folder the estimators and ``conditioned_texts.py --model`` load.

Not shipped; nothing here reads an evaluation set.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import time
from pathlib import Path


def training_sets(folder):
    """``[(name, texts, {labeling: (labels, wordings)})]`` from the CSV/JSON pairs of ``folder``."""
    sets = []
    for path in sorted(Path(folder).glob("*.csv")):
        spec = json.loads(path.with_suffix(".json").read_text())["labelings"]
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(line for line in f if not line.startswith("#")))
        header, rows = rows[0], rows[1:]
        if set(header[1:]) != set(spec) or any(len(row) != len(header) for row in rows):
            raise ValueError(f"{path}: the columns {header[1:]} do not match its JSON labelings {sorted(spec)}.")
        labelings = {}
        for j, name in enumerate(header[1:], start=1):
            labels = [row[j] for row in rows]
            if set(labels) != set(spec[name]["classes"]):
                raise ValueError(f"{path}: {name}'s values {sorted(set(labels))} are not its classes.")
            labelings[name] = (labels, list(spec[name]["wordings"]))
        sets.append((path.stem, [row[0] for row in rows], labelings))
    if not sets:
        raise ValueError(f"no <name>.csv with a <name>.json in {folder}.")
    return sets


def example_ids(tokenizer, condition, text, word, opened, prompts):
    """``(prompt ids, answer ids)``: the question prompt (plus the opener when ``opened``), and
    the answer word (after a space when opened) with the end of turn unless opened."""
    from sklearn_icc.runtime.prompts.plain_text import plain_ids, template_ids
    from sklearn_icc.runtime.prompts.questions import build_question_prompt, check_condition

    condition = check_condition(condition, tokenizer)
    if condition not in prompts:
        prompts[condition] = build_question_prompt(tokenizer, condition)
    prompt = prompts[condition]
    ids = prompt.ids(plain_ids(tokenizer, text))
    if opened:
        return ids + list(prompt.opener), plain_ids(tokenizer, " " + word)
    return ids, plain_ids(tokenizer, word) + template_ids(tokenizer, "<|im_end|>")


def examples(tokenizer, sets):
    """Every (text, labeling, wording, opened) example of ``sets``, as token ids."""
    prompts, out = {}, []
    for _, texts, labelings in sets:
        for labels, wordings in labelings.values():
            for text, word in zip(texts, labels, strict=True):
                for wording in wordings:
                    for opened in (False, True):
                        out.append(example_ids(tokenizer, wording, text, word, opened, prompts))
    return out


def batch_tensors(batch, pad):
    import torch

    width = max(len(p) + len(a) for p, a in batch)
    ids = torch.full((len(batch), width), pad)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    labels = torch.full((len(batch), width), -100)
    for i, (p, a) in enumerate(batch):
        ids[i, : len(p) + len(a)] = torch.tensor(p + a)
        mask[i, : len(p) + len(a)] = 1
        labels[i, len(p): len(p) + len(a)] = torch.tensor(a)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def newest_checkpoint(out):
    steps = [int(p.name.split("-")[1]) for p in Path(out).glob("lora-*") if (p / "done").is_file()]
    return max(steps, default=0)


def training_parser(description, *, steps, batch, lr):
    """The arguments both reader trainings take, with each one's defaults."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--train-dir", required=True, nargs="+",
                        help="one or more folders of <name>.csv/<name>.json training sets, read in this order")
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", type=int, default=steps)
    parser.add_argument("--batch", type=int, default=batch)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--lr", type=float, default=lr)
    parser.add_argument("--checkpoint-every", type=int, default=100)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def main():
    parser = training_parser(__doc__.split("\n")[0], steps=600, batch=8, lr=3e-4)
    args = parser.parse_args()
    import torch
    from peft import PeftModel

    from sklearn_icc.finetune.config import LoraSettings
    from sklearn_icc.finetune.training import add_lora, answer_only_loss
    from sklearn_icc.runtime import load_model

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    os.makedirs(args.out, exist_ok=True)
    loaded = load_model("default", device="cpu")
    tokenizer = loaded.tokenizer
    sets = [item for folder in args.train_dir for item in training_sets(folder)]
    pool = examples(tokenizer, sets)
    print(f"{len(sets)} training sets, {sum(len(t) for _, t, _ in sets)} texts, "
          f"{sum(len(l) for *_, l in sets)} labelings, {len(pool)} examples", flush=True)
    start_step = newest_checkpoint(args.out) if args.resume else 0
    if start_step:
        model = PeftModel.from_pretrained(loaded.model, os.path.join(args.out, f"lora-{start_step}"), is_trainable=True)
        print(f"resumed from step {start_step}", flush=True)
    else:
        model = add_lora(loaded.model, LoraSettings(r=args.rank, alpha=2 * args.rank, dropout=0.0), seed=args.seed)
    model.train()
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr)
    rng = random.Random(args.seed)
    for _ in range(start_step):  # the same draws as an unbroken run
        rng.choices(pool, k=args.batch)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    start, running = time.perf_counter(), []
    for step in range(start_step, args.steps):
        loss = answer_only_loss(model, batch_tensors(rng.choices(pool, k=args.batch), pad))
        loss.backward()
        optimiser.step()
        optimiser.zero_grad()
        running.append(loss.item())
        done = step + 1
        if done % 20 == 0 or done == args.steps:
            print(f"step {done}: mean loss {sum(running) / len(running):.3f} "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)
            running = []
        if done % args.checkpoint_every == 0 or done == args.steps:
            folder = Path(args.out) / f"lora-{done}"
            model.save_pretrained(folder)
            (folder / "done").write_text(str(done))
    merged = model.merge_and_unload().eval()
    target = Path(args.out) / "merged"
    merged.save_pretrained(target)
    tokenizer.save_pretrained(target)
    print(f"merged model saved to {target} ({time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
