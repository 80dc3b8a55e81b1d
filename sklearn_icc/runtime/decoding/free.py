"""The paper's decoding: free generation, then a parse of the first bracketed list.

Kept as a baseline for comparison. Its failures are counted, never hidden.
"""

from __future__ import annotations

import re
import time

import numpy as np

from .constrained import DecodeResult, answer_tokens, canonical_labels
from ..model.faults import finite_logits_processor, out_of_memory_advice
from ..prompts.templates import check_context_window

_LIST_PATTERN = re.compile(r"\[([^\[\]]*)\]")


def parse_label_list(text, n_points, n_clusters):
    """Parse the first bracketed list of integers in ``text`` (the paper's parser).

    Returns ``(labels, n_failures)``: labels are canonical in ``0..n_clusters-1``.
    A point whose label is missing (short answer), unparsable, or beyond the
    ``n_clusters`` most frequent labels counts as a failure and gets the most
    frequent label; extra labels in a long answer are dropped.
    """
    match = _LIST_PATTERN.search(text)
    raw = []
    if match:
        for item in match.group(1).split(","):
            item = item.strip()
            raw.append(int(item) if re.fullmatch(r"-?\d+", item) else None)
    raw = (raw + [None] * n_points)[:n_points]
    values = [v for v in raw if v is not None]
    counts = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    kept = sorted(counts, key=lambda v: -counts[v])[:n_clusters]
    fill = kept[0] if kept else None
    failures = sum(1 for v in raw if v is None or v not in kept)
    resolved = [v if (v is not None and v in kept) else fill for v in raw]
    labels = canonical_labels(resolved) if fill is not None else np.zeros(n_points, dtype=np.int64)
    return labels, failures


def free_decode(loaded, prompt, n_clusters, *, max_clusters=10, max_new_tokens=None, temperature=0.0, seed=0):
    """The paper's decoding: generate freely, then parse the first bracketed list.

    Labels may have several digits. ``n_clusters=None`` keeps the ``max_clusters``
    most frequent labels (the prompt should state no k); the result then has as many
    probability columns as labels used.
    """
    import torch

    unknown_k = n_clusters is None
    if unknown_k:
        if int(max_clusters) < 2:
            raise ValueError(f"max_clusters={max_clusters} should be >= 2 when n_clusters is None.")
        n_clusters = int(max_clusters)

    if prompt.embeddings is not None:
        raise ValueError("Free decoding reads token ids only; points given as embeddings (images) need decoding='constrained'.")
    layout = answer_tokens(loaded, n_clusters)
    n = prompt.n_points
    budget = max_new_tokens or max(250, layout.n_answer_tokens(n) + 16)
    check_context_window(n, prompt.n_tokens, budget, loaded.context_length)
    tokenizer = loaded.tokenizer
    input_ids = torch.as_tensor([prompt.input_ids], device=loaded.device)
    kwargs = {"max_new_tokens": budget, "pad_token_id": tokenizer.pad_token_id or tokenizer.eos_token_id,
              "logits_processor": finite_logits_processor(loaded.model)}
    if temperature > 0:
        torch.manual_seed(seed)
        kwargs.update(do_sample=True, temperature=float(temperature), top_p=1.0, top_k=0)
    else:
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    start = time.perf_counter()
    with out_of_memory_advice(loaded.model), torch.inference_mode():
        output = loaded.model.generate(input_ids, attention_mask=torch.ones_like(input_ids), **kwargs)
    seconds = time.perf_counter() - start
    text = tokenizer.decode(output[0, input_ids.shape[1] :], skip_special_tokens=True)
    labels, failures = parse_label_list(text, n, n_clusters)
    probabilities = np.zeros((n, int(labels.max()) + 1 if unknown_k else n_clusters))
    probabilities[np.arange(n), labels] = 1.0
    return DecodeResult(
        labels=labels,
        probabilities=probabilities,
        prefill_seconds=0.0,
        decode_seconds=seconds,
        n_forward_passes=int(output.shape[1] - input_ids.shape[1]),
        n_failures=failures,
        answer_text=text,
    )
