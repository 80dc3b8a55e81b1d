"""Reuse the keys and values of prompt prefixes that episodes share.

Episodes with the same instruction (the same k, condition and template) share their
prompt up to the first point: the system prompt, the instruction and the chat
template's tokens. The prompts that label new points after labelled anchors (chunks
after the first, ``predict``) share the anchors too. Decoding stores the KV cache of
such a prefix the first time it runs it (a slice of the prompt's own pass, so a miss
costs nothing extra) and starts later prompts that begin with the same token ids from
it: orderings, chunks, ``predict`` and many episodes in one process skip the shared
tokens.

Matching is by token ids, and a causal model's keys and values of a prefix depend on
the prefix alone, so a prompt gets what its own pass would compute (up to the
floating-point rounding of a different split). Only models that
:func:`~sklearn_icc.runtime.load_model` loaded for inference keep a cache (their
weights do not change); a model under training never does. Each model's cache holds
at most :data:`MAX_CACHE_BYTES`, least recently used entries leaving first.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from threading import Lock

#: The most bytes of keys and values one model's prefix cache holds.
MAX_CACHE_BYTES = 256 * 2**20
#: Shorter prefixes are not worth a cache entry.
MIN_PREFIX_TOKENS = 8

_caches = weakref.WeakKeyDictionary()  # model -> PrefixCache
_lock = Lock()


class PrefixCache:
    """The KV caches of prompt prefixes for one model, keyed by their token ids (LRU by bytes)."""

    def __init__(self, max_bytes=MAX_CACHE_BYTES):
        self.max_bytes = int(max_bytes)
        self.entries = OrderedDict()  # tuple of ids -> (list of (keys, values) per layer, n_bytes)
        self.hits = self.misses = 0
        self.lock = Lock()

    @property
    def n_bytes(self):
        return sum(n_bytes for _, n_bytes in self.entries.values())

    def lookup(self, ids, config):
        """The longest stored prefix of ``ids``: ``(n_tokens, DynamicCache)``, or ``(0, None)``.

        The returned cache is new, over the stored tensors: decoding appends to it and
        crops it without changing them (``DynamicLayer`` concatenates and slices).
        """
        from transformers import DynamicCache

        ids = tuple(ids)
        with self.lock:
            best = max((key for key in self.entries if len(key) < len(ids) and ids[: len(key)] == key),
                       key=len, default=None)
            if best is None:
                self.misses += 1
                return 0, None
            self.entries.move_to_end(best)
            self.hits += 1
            layers = self.entries[best][0]
        return len(best), DynamicCache(ddp_cache_data=layers, config=config)

    def store(self, ids, cache):
        """Keep a copy of the first ``len(ids)`` positions of ``cache`` under ``ids``."""
        from transformers.cache_utils import DynamicLayer

        ids = tuple(ids)
        if len(ids) < MIN_PREFIX_TOKENS or not all(type(layer) is DynamicLayer for layer in cache.layers):
            return
        if any(layer.keys.shape[0] != 1 or layer.keys.shape[-2] < len(ids) for layer in cache.layers):
            return
        with self.lock:
            if ids in self.entries:
                return
        n = len(ids)
        layers = [(layer.keys[..., :n, :].clone(), layer.values[..., :n, :].clone()) for layer in cache.layers]
        n_bytes = sum(k.numel() * k.element_size() + v.numel() * v.element_size() for k, v in layers)
        if n_bytes > self.max_bytes:
            return
        with self.lock:
            self.entries[ids] = (layers, n_bytes)
            while self.n_bytes > self.max_bytes:
                self.entries.popitem(last=False)

    def clear(self):
        with self.lock:
            self.entries.clear()
            self.hits = self.misses = 0


def enable_prefix_cache(model, max_bytes=MAX_CACHE_BYTES):
    """Give ``model`` (whose weights will not change) a prefix cache; return it."""
    with _lock:
        if model not in _caches:
            _caches[model] = PrefixCache(max_bytes)
        return _caches[model]


def prefix_cache_for(model):
    """The model's :class:`PrefixCache`, or ``None`` when it has none (not loaded for
    inference by :func:`~sklearn_icc.runtime.load_model`, or under training)."""
    cache = _caches.get(model)
    if cache is None or model.training:
        return None
    return cache


def clear_prefix_caches():
    """Empty every model's prefix cache (to time cold runs, or to free memory).

    Examples
    --------
    >>> from sklearn_icc.runtime import clear_prefix_caches
    >>> clear_prefix_caches()  # the next prompt of each instruction is read in full
    """
    with _lock:
        caches = list(_caches.values())
    for cache in caches:
        cache.clear()


def shared_prefix_length(prompt, n_forced=0):
    """How many of ``prompt``'s tokens other prompts may share: those before the first
    point that is not a labelled anchor (``n_forced`` anchors lead the data).

    ``0`` for prompts with embeddings (images): their placeholder ids do not say what
    the tokens are.
    """
    spans = prompt.point_spans
    if getattr(prompt, "embeddings", None) is not None or n_forced >= len(spans):
        return 0
    return int(spans[n_forced, 0])
