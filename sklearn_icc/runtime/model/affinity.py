"""The learned affinity model: points in as embeddings, the first layers, a pairwise head.

Each numeric point becomes one input embedding (:class:`PointEncoder`: an MLP of its
robustly standardised coordinates), placed after a short embedded instruction prefix.
Only the first ``n_layers`` decoder layers of the language model run. The prefix is
causal; the points share one position id and attend to the prefix and to each other
in both directions, so the set has no order. A head (:class:`AffinityHead`) maps each
point's last hidden state to a unit vector; the affinity of two points is the sigmoid
of their scaled cosine plus a bias, trained against "same cluster" with a pairwise
binary cross-entropy (:func:`pairwise_loss`). :mod:`.affinity_files` saves and loads it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from ..prompts.templates import robust_standardise

FEATURE_CLIP = 10.0


POINT_ATTENTION = ("bidirectional", "causal")


@dataclass(frozen=True)
class AffinitySpec:
    """The shape of an affinity model; saved in its adapter folder.

    Parameters
    ----------
    n_layers : int, default=9
        Decoder layers of the base model that run (the first ones).
    max_features : int, default=4
        The most features a point may have (the encoder's input width).
    n_fourier : int, default=64
        Random Fourier features of the coordinates (half sines, half cosines).
    encoder_width : int, default=512
        Hidden width of the point encoder's MLP.
    embedding_dim : int, default=64
        Width of the head's unit vectors.
    prefix : str, default="Cluster these points:"
        The instruction before the points, as the user turn.
    point_attention : {"bidirectional", "causal"}, default="bidirectional"
        How the points attend to each other: all both ways (the set has no order), or
        each to the points before it only (as in a prompt; measured worse, kept for the
        ablation).
    n_views : int, default=1
        Inference only: the affinity is the mean over this many signed permutations of
        the features of each episode (:mod:`.affinity_views`; training reads one view).
    """

    n_layers: int = 9
    max_features: int = 4
    n_fourier: int = 64
    encoder_width: int = 512
    embedding_dim: int = 64
    prefix: str = "Cluster these points:"
    point_attention: str = "bidirectional"
    n_views: int = 1

    def __post_init__(self):
        if self.point_attention not in POINT_ATTENTION:
            raise ValueError(f"AffinitySpec.point_attention must be one of {POINT_ATTENTION}, "
                             f"got {self.point_attention!r}.")
        for name in ("n_layers", "max_features", "n_fourier", "encoder_width", "embedding_dim", "n_views"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"AffinitySpec.{name} must be an integer >= 1, got {value!r}.")
        if self.n_fourier % 2:
            raise ValueError(f"AffinitySpec.n_fourier must be even, got {self.n_fourier}.")

    def to_dict(self):
        return asdict(self)


def point_inputs(X, max_features):
    """Each episode's points as the encoder's raw input ``(n, 2 * max_features)`` float32.

    Features standardised robustly over the points (median, IQR), then zero-padded to
    ``max_features``; the last ``max_features`` columns flag the present features.
    More features than ``max_features`` is a ``ValueError``.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-D array of points, got shape {X.shape}.")
    n, d = X.shape
    if d > max_features:
        raise ValueError(
            f"The affinity adapter's point encoder takes at most {max_features} features; X has {d}. "
            "Reduce them first (e.g. sklearn.decomposition.PCA(n_components="
            f"{max_features})), or pass adapter=None for the zero-shot path."
        )
    out = np.zeros((n, 2 * max_features), dtype=np.float32)
    out[:, :d] = robust_standardise(X)
    out[:, max_features:max_features + d] = 1.0
    return out


class PointEncoder(nn.Module):
    """Points ``(..., 2 * max_features)`` (:func:`point_inputs`) to input embeddings ``(..., hidden)``.

    The MLP reads the clipped values, their asinh, the presence flags and random
    Fourier features of the clipped values; its output is rescaled to the RMS of the
    token embeddings (``embedding_rms``), so a point looks like a token to the layers.
    """

    def __init__(self, spec, hidden_size, embedding_rms=1.0, seed=0):
        super().__init__()
        self.spec = spec
        m = spec.max_features
        generator = torch.Generator().manual_seed(int(seed) + 7)
        self.register_buffer("fourier", torch.randn((m, spec.n_fourier // 2), generator=generator))
        self.register_buffer("embedding_rms", torch.tensor(float(embedding_rms)))
        width = 3 * m + spec.n_fourier
        self.mlp = nn.Sequential(nn.Linear(width, spec.encoder_width), nn.GELU(),
                                 nn.Linear(spec.encoder_width, hidden_size))

    def forward(self, points):
        m = self.spec.max_features
        values, flags = points[..., :m], points[..., m:]
        clipped = values.clamp(-FEATURE_CLIP, FEATURE_CLIP)
        angles = (clipped * flags) @ self.fourier
        inputs = torch.cat([clipped / 3.0, torch.asinh(values), flags, angles.sin(), angles.cos()], dim=-1)
        out = self.mlp(inputs)
        rms = out.pow(2).mean(-1, keepdim=True).add(1e-6).sqrt()
        return out / rms * self.embedding_rms


class AffinityHead(nn.Module):
    """Hidden states to unit vectors, and pairs of them to affinity logits."""

    def __init__(self, spec, hidden_size):
        super().__init__()
        self.norm = nn.LayerNorm(hidden_size)
        self.linear = nn.Linear(hidden_size, spec.embedding_dim)
        self.log_scale = nn.Parameter(torch.tensor(math.log(10.0)))
        self.bias = nn.Parameter(torch.tensor(-5.0))

    def forward(self, hidden):
        return nn.functional.normalize(self.linear(self.norm(hidden)).float(), dim=-1)

    def logits(self, embeddings):
        """``(..., n, n)`` affinity logits: ``exp(log_scale) * cosine + bias``."""
        cosine = embeddings @ embeddings.transpose(-1, -2)
        return self.log_scale.exp() * cosine + self.bias


class AffinityModel(nn.Module):
    """The prefix embeddings, the point encoder, the first layers and the head.

    Build it with :func:`build_affinity_model`. ``forward(points, mask)`` takes padded
    episodes ``(B, n, 2 * max_features)`` and a boolean ``(B, n)`` mask of the real
    points, and returns the head's unit vectors ``(B, n, embedding_dim)``.
    """

    def __init__(self, spec, prefix_embeddings, layers, rotary, encoder, head):
        super().__init__()
        self.spec = spec
        self.register_buffer("prefix_embeddings", prefix_embeddings)
        self.layers = nn.ModuleList(layers)
        self.rotary = rotary
        self.encoder = encoder
        self.head = head

    def attention_mask(self, mask):
        """The additive ``(B, 1, P + n, P + n)`` mask: causal prefix; points see the prefix and
        every real point (``point_attention="causal"``: the real points up to themselves)."""
        B, n = mask.shape
        P = self.prefix_embeddings.shape[0]
        total = P + n
        allowed = torch.zeros((B, total, total), dtype=torch.bool, device=mask.device)
        allowed[:, :P, :P] = torch.ones((P, P), dtype=torch.bool, device=mask.device).tril()
        allowed[:, P:, :P] = True
        allowed[:, P:, P:] = mask[:, None, :]
        if self.spec.point_attention == "causal":
            allowed[:, P:, P:] &= torch.ones((n, n), dtype=torch.bool, device=mask.device).tril()
        dtype = self.prefix_embeddings.dtype
        additive = torch.zeros(allowed.shape, dtype=dtype, device=mask.device)
        additive.masked_fill_(~allowed, torch.finfo(dtype).min)
        return additive[:, None]

    def forward(self, points, mask):
        B, n = mask.shape
        P = self.prefix_embeddings.shape[0]
        dtype = self.prefix_embeddings.dtype
        encoded = self.encoder(points.to(self.encoder.mlp[0].weight.dtype)).to(dtype)
        hidden = torch.cat([self.prefix_embeddings.expand(B, -1, -1), encoded], dim=1)
        positions = torch.cat([torch.arange(P, device=mask.device),
                               torch.full((n,), P, device=mask.device)])[None]
        rotary = self.rotary(hidden, position_ids=positions)
        additive = self.attention_mask(mask)
        for layer in self.layers:
            hidden = layer(hidden, attention_mask=additive, position_ids=positions, position_embeddings=rotary)
            if isinstance(hidden, tuple):
                hidden = hidden[0]
        return self.head(hidden[:, P:])


def prefix_ids(tokenizer, prefix):
    """The token ids of the user turn ``prefix`` (no system prompt), as the model's chat format opens it."""
    start = "<|im_start|>user\n" if "<|im_start|>" in tokenizer.get_vocab() else ""
    return tokenizer(start + prefix + "\n", add_special_tokens=False)["input_ids"]


def build_affinity_model(causal_lm, tokenizer, spec, *, seed=0, random_layers=False):
    """A new :class:`AffinityModel` over copies of ``causal_lm``'s first ``spec.n_layers`` layers.

    The encoder and head are initialised from ``seed``; ``random_layers=True`` gives the
    layers a fresh random initialisation (the control run) instead of the model's.
    The base model itself is not changed.
    """
    import copy

    body = getattr(causal_lm, causal_lm.base_model_prefix)
    n_total = len(body.layers)
    if spec.n_layers > n_total:
        raise ValueError(f"AffinitySpec.n_layers={spec.n_layers} exceeds the model's {n_total} layers.")
    torch.manual_seed(int(seed))
    layers = [copy.deepcopy(layer) for layer in body.layers[: spec.n_layers]]
    if random_layers:
        for layer in layers:
            for module in layer.modules():
                if isinstance(module, nn.Linear):
                    nn.init.normal_(module.weight, std=getattr(causal_lm.config, "initializer_range", 0.02))
    embeddings = body.embed_tokens.weight.detach()
    ids = torch.as_tensor(prefix_ids(tokenizer, spec.prefix), device=embeddings.device)
    prefix = embeddings[ids].clone()
    rms = float(embeddings.float().pow(2).mean().sqrt())
    encoder = PointEncoder(spec, embeddings.shape[1], rms, seed=seed).to(embeddings.device)
    head = AffinityHead(spec, embeddings.shape[1]).to(embeddings.device)
    model = AffinityModel(spec, prefix, layers, copy.deepcopy(body.rotary_emb), encoder, head)
    return model.to(embeddings.dtype)


def pairwise_loss(head, embeddings, labels, mask):
    """Binary cross-entropy of every pair's affinity against "same cluster", averaged over
    each episode's pairs (self-pairs and padding excluded), then over episodes."""
    logits = head.logits(embeddings)
    same = (labels[:, :, None] == labels[:, None, :]).float()
    n = mask.shape[1]
    valid = mask[:, :, None] & mask[:, None, :] & ~torch.eye(n, dtype=torch.bool, device=mask.device)
    losses = nn.functional.binary_cross_entropy_with_logits(logits, same, reduction="none")
    per_episode = (losses * valid).sum((1, 2)) / valid.sum((1, 2)).clamp(min=1)
    return per_episode.mean()


def pad_episodes(episodes, max_features, device="cpu"):
    """Episodes ``[(X, y or None), ...]`` to ``(points, labels, mask)`` tensors, zero-padded."""
    n_max = max(len(X) for X, _ in episodes)
    points = torch.zeros((len(episodes), n_max, 2 * max_features))
    labels = torch.full((len(episodes), n_max), -1, dtype=torch.long)
    mask = torch.zeros((len(episodes), n_max), dtype=torch.bool)
    for row, (X, y) in enumerate(episodes):
        points[row, : len(X)] = torch.from_numpy(point_inputs(X, max_features))
        mask[row, : len(X)] = True
        if y is not None:
            labels[row, : len(X)] = torch.as_tensor(np.asarray(y, dtype=np.int64))
    return points.to(device), labels.to(device), mask.to(device)


def affinity_matrices(model, episodes, batch_size=16, n_views=None):
    """The affinity matrix (sigmoid of the head's logits, zero diagonal) of each episode's points.

    ``episodes`` is a list of arrays ``X``; returns a list of symmetric ``(n, n)`` float64
    arrays. Each is the mean over ``n_views`` (default ``model.spec.n_views``) signed
    permutations of the episode's features (:func:`.affinity_views.episode_views`), all
    views batched together.
    """
    from .affinity_views import episode_views

    n_views = model.spec.n_views if n_views is None else n_views
    views = [episode_views(X, n_views) for X in episodes]
    flat = [view for group in views for view in group]
    out = []
    device = model.prefix_embeddings.device
    with torch.no_grad():
        for start in range(0, len(flat), batch_size):
            chunk = flat[start : start + batch_size]
            points, _, mask = pad_episodes([(X, None) for X in chunk], model.spec.max_features, device)
            embeddings = model(points, mask)
            affinities = torch.sigmoid(model.head.logits(embeddings)).double().cpu().numpy()
            for X, A in zip(chunk, affinities):
                A = A[: len(X), : len(X)].copy()
                np.fill_diagonal(A, 0.0)
                out.append((A + A.T) / 2)
    means, start = [], 0
    for group in views:
        means.append(np.mean(out[start : start + len(group)], axis=0))
        start += len(group)
    return means
