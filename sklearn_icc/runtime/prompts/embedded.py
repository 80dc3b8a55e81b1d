"""Prompts whose points are embeddings (images, or numeric points), not text.

Each point is written as ``<image>`` + its embeddings + ``</image>`` (numeric points:
its embeddings alone, see :mod:`.point_embeddings`); the embeddings
take placeholder ids in ``input_ids`` and reach the model through ``inputs_embeds``.
The instruction, condition and chat template are those of :func:`.build_prompt`.
"""

from __future__ import annotations

import numpy as np

from .templates import LIST_CLOSE as CLOSE
from .templates import LIST_OPEN as OPEN
from .templates import LIST_SEPARATOR as SEPARATOR
from .templates import PROMPT_TEMPLATES, Prompt, render_chat

IMAGE_MARKERS = ("<image>", "</image>")  # around each image's embeddings
_SLOT = "\ue000"  # a private-use character marks where each point's embeddings go


def build_embedded_prompt(embeddings, n_clusters, tokenizer, *, template=None, condition=None, markers=IMAGE_MARKERS,
                          separator=SEPARATOR):
    """Build the chat prompt of one episode whose points are spans of embeddings.

    Parameters
    ----------
    embeddings : torch.Tensor of shape (n_points, tokens_per_point, hidden_size)
        The points, already in the LLM's embedding space (for images: projected).
    n_clusters : int
    tokenizer : transformers tokenizer
        With a chat template.
    template : PromptTemplate, default=None
        ``None`` means the paper's prompt.
    condition : str, default=None
        What to cluster by ("colour"), written into the instruction.
    markers : (str, str), default=("<image>", "</image>")
        Text written before and after each point's embeddings; either may be ``""``.
    separator : str, default=", "
        Text written between points.

    Returns
    -------
    Prompt
        ``point_spans[i]`` covers point ``i``'s opening marker, embeddings, closing
        marker and the separator after it (point 0 also owns the opening bracket), as for
        text points. ``n_tokens`` counts the embeddings.
    """
    template = template or PROMPT_TEMPLATES["paper"]
    n_points, per_point = int(embeddings.shape[0]), int(embeddings.shape[1])
    if n_points == 0 or per_point == 0:
        raise ValueError("build_embedded_prompt needs at least one point of at least one embedding.")
    opening, closing = markers
    points_text = OPEN + separator.join(opening + _SLOT + closing for _ in range(n_points)) + CLOSE
    rendered, data_start = render_chat(template, n_clusters, points_text, condition, tokenizer)
    if rendered.count(_SLOT) != n_points:
        raise ValueError("The chat template changed the user message; cannot place the embeddings.")
    before, after = rendered[:data_start], rendered[data_start + len(points_text) :]
    stripped = before.rstrip()  # a space before the bracket is tokenized with it, as in text

    def encode(text):
        return list(tokenizer(text, add_special_tokens=False)["input_ids"]) if text else []

    placeholder = next(
        (i for i in (tokenizer.unk_token_id, tokenizer.pad_token_id, tokenizer.eos_token_id) if i is not None), 0
    )
    ids = encode(stripped)
    spans = np.zeros((n_points, 2), dtype=np.int64)
    positions = []
    for i in range(n_points):
        start = len(ids)
        ids += encode((before[len(stripped) :] + OPEN if i == 0 else "") + opening)
        positions.extend(range(len(ids), len(ids) + per_point))
        ids += [placeholder] * per_point
        ids += encode(closing + (separator if i < n_points - 1 else CLOSE))
        spans[i] = start, len(ids)
    ids += encode(after)
    text = rendered.replace(_SLOT, f"<{per_point} embeddings>")
    return Prompt(
        text=text,
        input_ids=ids,
        point_spans=spans,
        embeddings=embeddings.reshape(n_points * per_point, -1),
        embedded_positions=np.asarray(positions, dtype=np.int64),
    )


def model_inputs(model, input_ids, prompt=None):
    """Keyword arguments for a forward pass over ``input_ids`` (a ``(1, L)`` tensor that
    starts with ``prompt``'s tokens): ``input_ids``, or ``inputs_embeds`` with the
    prompt's embeddings in place when it has any.
    """
    if prompt is None or prompt.embeddings is None:
        return {"input_ids": input_ids}
    import torch

    embeds = model.get_input_embeddings()(input_ids)
    positions = torch.as_tensor(prompt.embedded_positions, device=embeds.device)
    rows = torch.zeros_like(positions)
    values = prompt.embeddings.to(device=embeds.device, dtype=embeds.dtype)
    return {"inputs_embeds": embeds.index_put((rows, positions), values)}
