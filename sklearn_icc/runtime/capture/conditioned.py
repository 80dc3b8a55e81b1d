"""The conditioned reading: each text read on its own under a question, in padded batches.

Every text of a call gets the same question prompt
(:func:`~sklearn_icc.runtime.prompts.questions.build_question_prompt`): the shared
prefix (system prompt and question) runs once, from the model's prefix cache when it
has one, and the texts run after it as right-padded rows of one batch, each row's real
tokens seeing the prefix and themselves only (causal attention; the padding comes after
them and is masked for the answer steps). Texts are sorted by length and batched under
a token budget, so one long text does not pad every row to its length.

Three slots are read at every layer: ``"prompt"``, the last prompt token (where the
model is about to answer), ``"text"``, the mean over the text's own tokens, and, when
answer tokens are asked for, ``"answer"``, the state that predicts the answer's word
after the model's own greedy opener. With ``opened=True`` a fourth, ``"opened"``: the
last token of a fixed answer opening (:func:`~sklearn_icc.runtime.prompts.questions.opener`,
``"Urgency:"``) run after the prompt from the same cache, a few tokens per text; the
cache is then cut back, so the greedy answer never sees it. The greedy answer (a few tokens) is kept as each
text's word. ``answer_tokens=0`` reads no answer: no greedy step, no ``"answer"`` slot,
which is all that features for new texts need (the answers only name clusters).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..decoding.prefix_cache import prefix_cache_for
from ..model.faults import check_finite, out_of_memory_advice
from ..prompts.plain_text import plain_ids
from ..prompts.questions import DEFAULT_LAYOUT, DEFAULT_QUESTION, build_question_prompt
from ..prompts.texts import DEFAULT_MAX_TEXT_TOKENS, cut_texts

SLOTS = ("prompt", "answer", "text", "opened")
#: The most token positions (rows x padded length) one batch holds.
DEFAULT_TOKEN_BUDGET = 2048
#: Greedy answer tokens kept as each text's word.
DEFAULT_ANSWER_TOKENS = 10


@dataclass
class ConditionedReading:
    """What the conditioned reading kept of each text.

    ``states[slot]`` is ``(n_texts, n_layers, hidden_size)`` float32, the hidden states
    at ``layers`` (0 is the embeddings, ``i`` the output of decoder layer ``i``; the
    last is after the final norm). ``answers`` holds each text's greedy answer,
    stripped; ``n_cut`` how many texts were cut to ``max_text_tokens``.
    """

    states: dict
    layers: tuple
    answers: list
    n_cut: int = 0
    n_prefix_tokens: int = 0
    seconds: float = 0.0
    batches: list = field(default_factory=list)


def _batches(lengths, budget):
    """Indices of texts in batches: sorted by length, each under ``budget`` padded positions."""
    order = np.argsort(lengths, kind="stable")
    batches, current, longest = [], [], 0
    for i in order:
        width = max(longest, lengths[i])
        if current and width * (len(current) + 1) > budget:
            batches.append(current)
            current, width = [], lengths[i]
        current.append(int(i))
        longest = width
    if current:
        batches.append(current)
    return batches


def _prefix_cache(loaded, prefix):
    """The KV cache of the shared prefix (batch of one): from the model's prefix cache when
    it holds it, else computed (and stored there)."""
    import torch

    model = loaded.model
    store = prefix_cache_for(model)
    if store is not None:
        n, cache = store.lookup(list(prefix) + [-1], model.config)
        if n == len(prefix):
            return cache
    ids = torch.as_tensor([list(prefix)], device=loaded.device)
    with torch.inference_mode():
        out = model(input_ids=ids, use_cache=True)
    if store is not None:
        store.store(prefix, out.cache)
    return out.cache


def _expanded(cache, n_rows, config):
    from transformers import DynamicCache

    expanded = DynamicCache(
        ddp_cache_data=[(layer.keys.expand(n_rows, -1, -1, -1).contiguous(),
                         layer.values.expand(n_rows, -1, -1, -1).contiguous()) for layer in cache.layers],
        config=config,
    )
    for layer in expanded.layers:  # a sliding-window layer (Gemma 3) keeps its past, so _drop_last can cut it
        if hasattr(layer, "activate_past_recording"):
            layer.activate_past_recording()
    return expanded


def _drop_last(cache, n_tokens):
    """Cut the last ``n_tokens`` positions off every layer of ``cache`` (in place), with each
    layer's own ``crop``: a sliding-window layer also counts the positions it has seen."""
    for layer in cache.layers:
        layer.crop(-n_tokens)


def answer_word_start(tokenizer, ids):
    """Index of the first token of the answer's word in the greedy answer ``ids``: after an
    opener such as "The sentiment of this text is" or "Topic:", else 0."""
    for j in range(1, len(ids)):
        said = tokenizer.decode(ids[:j], skip_special_tokens=True).rstrip()
        if said.endswith((" is", ":", " are", " was")):
            return j
    return 0


_FILLER = frozenset("a an the this that these those its it's my our your their his her very quite mostly "
                    "overall generally rather somewhat more most i i'm we you he she they it writer author "
                    "feeling feels feel is are was be being "
                    # degree and quantity phrases before the word: "a bit upset", "a sense of pride"
                    "bit little lot sense mix kind sort of too so".split())


def answer_word(answer):
    """The one word of a greedy answer: after its opener ("The topic of this text is"),
    lower-cased, without quotes or punctuation.

    Examples
    --------
    >>> from sklearn_icc.runtime.capture.conditioned import answer_word
    >>> answer_word("The sentiment of this text is positive."), answer_word('Topic: "The marathon"')
    ('positive', 'marathon')
    """
    for marker in (" is ", ": ", " are ", " was "):
        if marker in answer:
            answer = answer.split(marker, 1)[1]
    words = [w.strip(".,;:!?\"'()*").lower() for w in answer.split()]
    words = [w for w in words if w and w not in _FILLER]
    return words[0] if words else ""


def read_texts(loaded, texts, condition, *, layers=None, answer_tokens=DEFAULT_ANSWER_TOKENS,
               max_text_tokens=DEFAULT_MAX_TEXT_TOKENS, token_budget=DEFAULT_TOKEN_BUDGET, layout=DEFAULT_LAYOUT, style=DEFAULT_QUESTION, keep_steps=False,
               opened=False, verbose=0):
    """Read each text under the question of ``condition``; return a :class:`ConditionedReading`.

    Parameters
    ----------
    loaded : LoadedModel
    texts : list of str
        Validated texts.
    condition : str or None
        Checked and normalised (:func:`~sklearn_icc.runtime.prompts.questions.check_condition`).
    layers : sequence of int or None, default=None
        Hidden-state indices to keep (0 = embeddings, ``n_layers`` = final); ``None`` keeps all.
    answer_tokens : int, default=10
        Greedy answer tokens generated per text; 0 generates none (``answers`` are then
        empty strings and ``states`` has no ``"answer"`` slot).
    max_text_tokens : int or None, default=128
        Texts are cut to this many tokens first.
    token_budget : int, default=2048
        The most padded token positions per batch.
    layout : {"question_first", "text_first"}, default="question_first"
    opened : bool, default=False
        Also read the ``"opened"`` slot: the state at the last token of the answer's
        opening (:func:`~sklearn_icc.runtime.prompts.questions.opener`) after the prompt.
    verbose : int, default=0
        Above 0, a progress bar (on stderr) over the texts read, batch by batch.
    """
    import torch
    from tqdm.auto import tqdm

    model, tokenizer = loaded.model, loaded.tokenizer
    if isinstance(answer_tokens, bool) or not isinstance(answer_tokens, (int, np.integer)) or answer_tokens < 0:
        raise ValueError(f"answer_tokens must be an int >= 0, got {answer_tokens!r}.")
    n_steps = int(answer_tokens)
    start = time.perf_counter()
    texts, n_cut = cut_texts(texts, tokenizer, max_text_tokens)
    prompt = build_question_prompt(tokenizer, condition, layout, style)
    text_ids = [plain_ids(tokenizer, text) for text in texts]
    n_text = [max(1, len(ids)) for ids in text_ids]
    rows = [ids + list(prompt.suffix) for ids in text_ids]
    lengths = np.array([len(row) for row in rows])
    n_prefix = len(prompt.prefix)
    if n_prefix + lengths.max() + answer_tokens > loaded.context_length:
        raise ValueError(f"A text's question prompt needs {n_prefix + lengths.max()} tokens, over the model's "
                         f"context window of {loaded.context_length}; lower max_text_tokens.")
    n_states = model.config.num_hidden_layers + 1
    keep = list(range(n_states)) if layers is None else [int(l) for l in layers]
    slots = tuple(slot for slot in SLOTS if (slot != "answer" or n_steps) and (slot != "opened" or opened))
    n_open = len(prompt.opener) if opened else 0
    states = {slot: np.zeros((len(texts), len(keep), model.config.hidden_size), dtype=np.float32) for slot in slots}
    answers = [[] for _ in texts]
    kept_steps = []
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (tokenizer.eos_token_id or 0)
    stop_ids = {i for i in (tokenizer.eos_token_id, *tokenizer.all_special_ids) if i is not None}
    batches = _batches(lengths, max(token_budget, int(lengths.max())))
    desc = "reading and answering texts" if n_steps else "reading texts"
    with out_of_memory_advice(model), torch.inference_mode(), \
            tqdm(total=len(texts), desc=desc, unit="text", disable=verbose < 1) as bar:
        prefix_cache = _prefix_cache(loaded, prompt.prefix)
        for batch in batches:
            width = int(lengths[batch].max())
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), n_prefix + width), dtype=torch.long)
            mask[:, :n_prefix] = 1
            text_mask = torch.zeros((len(batch), width), dtype=torch.float32)
            for r, i in enumerate(batch):
                text_mask[r, : n_text[i]] = 1.0 / n_text[i]
                ids[r, : lengths[i]] = torch.as_tensor(rows[i])
                mask[r, n_prefix : n_prefix + lengths[i]] = 1
            last = torch.as_tensor(lengths[batch] - 1)
            cache = _expanded(prefix_cache, len(batch), model.config)
            out = model.model(input_ids=ids.to(loaded.device), attention_mask=mask.to(loaded.device),
                              cache=cache, use_cache=True, output_hidden_states=True)
            at = torch.arange(len(batch))
            picked = torch.stack([out.hidden_states[l][at, last] for l in keep], dim=1).float()
            states["prompt"][batch] = check_finite(picked, "conditioned hidden states", model).cpu().numpy()
            text_mask = text_mask.to(loaded.device)
            picked = torch.stack([torch.einsum("bt,btd->bd", text_mask, out.hidden_states[l].float()) for l in keep], dim=1)
            states["text"][batch] = check_finite(picked, "text hidden states", model).cpu().numpy()
            if n_open:  # the answer's opening after each row's prompt, then cut from the cache again
                opener_ids = torch.as_tensor([list(prompt.opener)] * len(batch))
                position = torch.as_tensor(n_prefix + lengths[batch])[:, None] + torch.arange(n_open)
                opened_out = model.model(
                    input_ids=opener_ids.to(loaded.device),
                    attention_mask=torch.cat([mask, torch.ones((len(batch), n_open), dtype=torch.long)], dim=1)
                    .to(loaded.device), position_ids=position.to(loaded.device), cache=out.cache, use_cache=True,
                    output_hidden_states=True)
                picked = torch.stack([opened_out.hidden_states[l][:, -1] for l in keep], dim=1).float()
                states["opened"][batch] = check_finite(picked, "opened hidden states", model).cpu().numpy()
                _drop_last(out.cache, n_open)
            if not n_steps:
                bar.update(len(batch))
                continue
            token = model.lm_head(out.last_hidden_state[at, last]).argmax(-1)
            position = torch.as_tensor(n_prefix + lengths[batch])
            done = torch.zeros(len(batch), dtype=torch.bool)
            steps = np.zeros((len(batch), n_steps, len(keep), model.config.hidden_size), np.float32)
            for step in range(n_steps):
                for r, i in enumerate(batch):
                    if not done[r]:
                        if int(token[r]) in stop_ids:
                            done[r] = True
                        else:
                            answers[i].append(int(token[r]))
                mask = torch.cat([mask, torch.ones((len(batch), 1), dtype=torch.long)], dim=1)
                out = model.model(input_ids=token[:, None].to(loaded.device), attention_mask=mask.to(loaded.device),
                                  position_ids=position[:, None].to(loaded.device), cache=out.cache,
                                  use_cache=True, output_hidden_states=True)
                picked = torch.stack([out.hidden_states[l][:, -1] for l in keep], dim=1).float()
                steps[:, step] = check_finite(picked, "answer hidden states", model).cpu().numpy()
                token = model.lm_head(out.last_hidden_state[:, -1]).argmax(-1)
                position = position + 1
                if bool(done.all()):
                    break
            for r, i in enumerate(batch):  # the state that predicts the answer's word
                j = answer_word_start(tokenizer, answers[i])
                states["answer"][i] = states["prompt"][i] if j == 0 else steps[r, j - 1]
            if keep_steps:
                kept_steps.append((batch, steps))
            bar.update(len(batch))
    words = [tokenizer.decode(ids, skip_special_tokens=True).strip() for ids in answers]
    if keep_steps and kept_steps:
        states["steps"] = np.zeros((len(texts), *kept_steps[0][1].shape[1:]), np.float32)
        for batch, steps in kept_steps:
            states["steps"][batch] = steps
    return ConditionedReading(states=states, layers=tuple(keep), answers=words, n_cut=n_cut,
                              n_prefix_tokens=n_prefix, seconds=time.perf_counter() - start,
                              batches=[len(b) for b in batches])
