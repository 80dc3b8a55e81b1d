"""A trained conditioned reading with a pairwise loss on the features the estimator clusters.

    OMP_NUM_THREADS=2 python benchmarks/trained_pairwise_reading.py --out runs/pairwise --steps 400 \
        --train-dir benchmarks/reader_training/helpers benchmarks/reader_training/session \
        --monitor helpers/jobs helpers/library

The two answer-word readers (``trained_reading.py``) taught the one-word answer; the
partitions of request, urgency and formality then followed the writer's feeling
(``docs/texts.rst``, "A second trained reader"), though the answers were right more often.
This one teaches the partition itself: a step is one training set, one labeling, one of
its wordings and ``--batch`` of its texts drawn without replacement; each text is read
under that wording's question prompt and its answer opening (one forward pass gives the
``"prompt"``, ``"opened"`` and ``"text"`` slots of the shipped reading,
:mod:`sklearn_icc.runtime.capture.conditioned`), the features of every design the
estimator would choose between for that condition's kind
(:data:`~sklearn_icc.cluster._conditioned.CANDIDATES`, and the opened designs for an
attitude condition) are built as :func:`~sklearn_icc.cluster._conditioned.design_features`
builds them (each layer's vector unit-normed, centred on the batch, standardised for a
standardised design), and the loss is the supervised contrastive loss of their unit rows
(texts of the same class are positives; temperature ``--temperature``), averaged over
the designs. No class word is taught.

``--monitor`` names training sets left out of training: before training and at every
checkpoint, each of their labelings is read under its first wording and every design is
clustered by k-means into the labeling's classes; the mean ARI (over labelings, of the
mean over the kind's designs) is printed and written to ``<out>/monitor.json``. The
adapter is saved every ``--checkpoint-every`` steps (``--resume`` continues from the
newest, optimiser state restarted); at the end the checkpoint with the best monitor mean
(later on ties) is merged into ``<out>/merged`` with its tokenizer, a folder the
estimators and ``conditioned_texts.py --model`` load. Not shipped; nothing here reads an
evaluation set.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from trained_reading import newest_checkpoint, training_parser, training_sets  # noqa: E402


def designs_for(condition):
    """The reading designs the estimator chooses between for ``condition``."""
    from sklearn_icc.cluster._conditioned import CANDIDATES, OPENED_CANDIDATES
    from sklearn_icc.runtime.prompts.questions import condition_kind

    kind = condition_kind(condition)
    return CANDIDATES[kind] + (OPENED_CANDIDATES if kind == "attitude" else ())


def batch_inputs(tokenizer, prompt, texts, pad):
    """Right-padded ids and mask of ``prefix + text + suffix + opener`` per text, with each
    row's slot positions: ``(ids, mask, prompt_pos, opened_pos, text_weights)``."""
    import torch

    from sklearn_icc.runtime.prompts.plain_text import plain_ids
    from sklearn_icc.runtime.prompts.texts import DEFAULT_MAX_TEXT_TOKENS

    rows, spans = [], []
    for text in texts:
        text_ids = plain_ids(tokenizer, text)[:DEFAULT_MAX_TEXT_TOKENS] or plain_ids(tokenizer, " ")
        rows.append(prompt.ids(text_ids) + list(prompt.opener))
        spans.append((len(prompt.prefix), len(prompt.prefix) + len(text_ids)))
    width = max(len(row) for row in rows)
    ids = torch.full((len(rows), width), pad)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    weights = torch.zeros((len(rows), width))
    opened = torch.tensor([len(row) - 1 for row in rows])
    for r, (row, (a, b)) in enumerate(zip(rows, spans)):
        ids[r, : len(row)] = torch.tensor(row)
        mask[r, : len(row)] = 1
        weights[r, a:b] = 1.0 / (b - a)
    return ids, mask, opened - len(prompt.opener), opened, weights


def slot_states(model, inputs):
    """``{slot: (rows, n_states, hidden)}`` of one forward pass, with gradients."""
    import torch

    ids, mask, prompt_pos, opened_pos, weights = inputs
    hidden = model(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
    at = torch.arange(len(ids))
    return {
        "prompt": torch.stack([h[at, prompt_pos] for h in hidden], dim=1),
        "opened": torch.stack([h[at, opened_pos] for h in hidden], dim=1),
        "text": torch.stack([torch.einsum("bt,btd->bd", weights, h) for h in hidden], dim=1),
    }


def unit_features(states, design, n_states):
    """A design's features as :func:`design_features` builds them (centred on these rows), unit rows."""
    import torch

    parts = []
    for slot in design.slots:
        for layer in design.resolved_layers(n_states):
            v = states[slot][:, layer]
            v = v / v.norm(dim=1, keepdim=True).clamp_min(1e-12)
            v = v - v.mean(dim=0, keepdim=True)
            if design.standardise:
                v = v / (v.std(dim=0, unbiased=False, keepdim=True).clamp_min(1e-8) * v.shape[1] ** 0.5)
            parts.append(v)
    F = torch.cat(parts, dim=1)
    return F / F.norm(dim=1, keepdim=True).clamp_min(1e-12)


def supervised_contrastive(U, labels, temperature):
    """Mean over anchors with a positive of -mean log p(positive | anchor), p a softmax over the other rows."""
    import torch

    n = len(U)
    logits = U @ U.T / temperature
    eye = torch.eye(n, dtype=torch.bool)
    logits = logits.masked_fill(eye, float("-inf"))
    log_p = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    same = (labels[:, None] == labels[None, :]) & ~eye
    has = same.any(dim=1)
    per_anchor = -(log_p.masked_fill(~same, 0.0).sum(dim=1)) / same.sum(dim=1).clamp_min(1)
    return per_anchor[has].mean()


def monitor(model, tokenizer, sets, pad, prompts, batch=24):
    """Mean ARI of k-means on each design of each monitored labeling (first wording)."""
    import numpy as np
    import torch
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    n_states = model.config.num_hidden_layers + 1
    scores = {}
    model.eval()
    with torch.no_grad():
        for name, texts, labelings in sets:
            for labeling, (labels, wordings) in labelings.items():
                prompt = prompts(wordings[0])
                designs = designs_for(wordings[0])
                parts = [slot_states(model, batch_inputs(tokenizer, prompt, texts[i: i + batch], pad))
                         for i in range(0, len(texts), batch)]
                states = {slot: torch.cat([p[slot] for p in parts]).float() for slot in parts[0]}
                k = len(set(labels))
                aris = [adjusted_rand_score(labels, KMeans(k, n_init=10, random_state=0).fit_predict(
                    unit_features(states, design, n_states).numpy())) for design in designs]
                scores[f"{name}/{labeling}"] = float(np.mean(aris))
    model.train()
    return float(np.mean(list(scores.values()))), scores


def main():
    parser = training_parser(__doc__.split("\n")[0], steps=400, batch=16, lr=2e-4)
    parser.add_argument("--monitor", nargs="*", default=[],
                        help="training sets left out and monitored, as <folder name>/<set name> (helpers/jobs)")
    parser.add_argument("--temperature", type=float, default=0.1)
    args = parser.parse_args()
    import torch
    from peft import PeftModel

    from sklearn_icc.finetune.config import LoraSettings
    from sklearn_icc.finetune.training import add_lora
    from sklearn_icc.runtime import load_model
    from sklearn_icc.runtime.prompts.questions import build_question_prompt, check_condition

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    loaded = load_model("default", device="cpu")
    tokenizer = loaded.tokenizer
    every = [(f"{Path(folder).name}/{name}", *rest) for folder in args.train_dir
             for name, *rest in training_sets(folder)]
    missing = set(args.monitor) - {name for name, *_ in every}
    if missing:
        raise ValueError(f"--monitor names no training set: {sorted(missing)}")
    watched = [item for item in every if item[0] in args.monitor]
    sets = [item for item in every if item[0] not in args.monitor]
    cells = [(s, labeling, wording) for s, (_, _, labelings) in enumerate(sets)
             for labeling, (_, wordings) in labelings.items() for wording in wordings]
    print(f"{len(sets)} training sets ({sum(len(t) for _, t, _ in sets)} texts, {len(cells)} set x labeling x "
          f"wording cells); monitored: {[name for name, *_ in watched]}", flush=True)
    cache = {}

    def prompts(condition):
        condition = check_condition(condition, tokenizer)
        if condition not in cache:
            cache[condition] = build_question_prompt(tokenizer, condition)
        return cache[condition]

    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    history_path = out / "monitor.json"
    history = json.loads(history_path.read_text()) if args.resume and history_path.is_file() else {}
    start_step = newest_checkpoint(out) if args.resume else 0
    if start_step:
        model = PeftModel.from_pretrained(loaded.model, out / f"lora-{start_step}", is_trainable=True)
        print(f"resumed from step {start_step}", flush=True)
    else:
        model = add_lora(loaded.model, LoraSettings(r=args.rank, alpha=2 * args.rank, dropout=0.0), seed=args.seed)
    n_states = model.config.num_hidden_layers + 1
    model.train()
    if watched and "0" not in history:
        mean, scores = monitor(model, tokenizer, watched, pad, prompts)
        history["0"] = {"mean": mean, "scores": scores}
        history_path.write_text(json.dumps(history, indent=1))
        print(f"monitor before training: mean ARI {mean:.3f} {json.dumps({k: round(v, 2) for k, v in scores.items()})}",
              flush=True)
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr)
    rng = random.Random(args.seed)

    def draw():
        s, labeling, wording = rng.choice(cells)
        _, texts, labelings = sets[s]
        rows = rng.sample(range(len(texts)), min(args.batch, len(texts)))
        return [texts[i] for i in rows], [labelings[labeling][0][i] for i in rows], wording

    for _ in range(start_step):  # the same draws as an unbroken run
        draw()
    start, running = time.perf_counter(), []
    for step in range(start_step, args.steps):
        texts, labels, wording = draw()
        classes = {c: j for j, c in enumerate(sorted(set(labels)))}
        y = torch.tensor([classes[c] for c in labels])
        states = slot_states(model, batch_inputs(tokenizer, prompts(wording), texts, pad))
        designs = designs_for(wording)
        loss = sum(supervised_contrastive(unit_features(states, d, n_states), y, args.temperature)
                   for d in designs) / len(designs)
        loss.backward()
        optimiser.step()
        optimiser.zero_grad()
        running.append(loss.item())
        done = step + 1
        if done % 20 == 0 or done == args.steps:
            print(f"step {done}: mean loss {sum(running) / len(running):.3f} ({time.perf_counter() - start:.0f} s)",
                  flush=True)
            running = []
        if done % args.checkpoint_every == 0 or done == args.steps:
            folder = out / f"lora-{done}"
            model.save_pretrained(folder)
            if watched:
                mean, scores = monitor(model, tokenizer, watched, pad, prompts)
                history[str(done)] = {"mean": mean, "scores": scores}
                history_path.write_text(json.dumps(history, indent=1))
                print(f"monitor at step {done}: mean ARI {mean:.3f} "
                      f"{json.dumps({k: round(v, 2) for k, v in scores.items()})}", flush=True)
            (folder / "done").write_text(str(done))
    trained = [int(s) for s in history if int(s) > 0 and (out / f"lora-{s}" / "done").is_file()]
    best = max(trained, key=lambda s: (history[str(s)]["mean"], s)) if trained else args.steps
    print(f"chosen: the adapter after step {best}", flush=True)
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    set_peft_model_state_dict(model, load_file(out / f"lora-{best}" / "adapter_model.safetensors"))
    merged = model.merge_and_unload().eval()
    merged.save_pretrained(out / "merged")
    tokenizer.save_pretrained(out / "merged")
    (out / "chosen.txt").write_text(str(best))
    print(f"merged model saved to {out / 'merged'} ({time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
