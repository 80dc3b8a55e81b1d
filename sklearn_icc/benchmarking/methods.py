"""The one registry of benchmarked methods: name -> factory of an unfitted clusterer.

A factory is called as ``build(n_clusters, random_state, context)`` for every episode:
``n_clusters`` is the episode's true ``k``, ``random_state`` the episode's seed, and
``context`` the run's :class:`MethodContext` (which model, which device). Classical
methods ignore the context.

HDBSCAN chooses its own number of clusters and labels outliers ``-1``; the scores treat
``-1`` as one more cluster (so noise points count as wrong unless they match a class
better than any real cluster does).

To add a variant, call :func:`register_method`. The ``*-adapter`` variants run with the
LoRA adapter of ``sklearn-icc bench --adapter PATH`` (``context.adapter``); without a
path they ask for ``adapter="default"``, and no default adapter ships yet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin

LLM_FAMILIES = ("icc", "attention")


@dataclass(frozen=True)
class MethodContext:
    """What LLM methods need to know about the run."""

    model: str = "default"
    device: str = "auto"
    adapter: str | None = None  # for the *-adapter methods; None: adapter="default" (none ships yet)
    engine: str = "transformers"  # InContextClustering's engine= (AttentionSpectralClustering runs in process)


@dataclass(frozen=True)
class Method:
    """A benchmarked method: its key, its label in tables, its family and its factory."""

    name: str
    label: str
    family: str  # "classical", "chance", "icc" or "attention"
    build: Callable  # build(n_clusters, random_state, context) -> unfitted estimator

    @property
    def uses_model(self):
        return self.family in LLM_FAMILIES


class RandomLabels(ClusterMixin, BaseEstimator):
    """The chance baseline: labels drawn uniformly from ``0..n_clusters-1``, ignoring ``X``.

    Parameters
    ----------
    n_clusters : int, default=3
    random_state : int or None, default=None

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_icc.benchmarking.methods import RandomLabels
    >>> RandomLabels(2, random_state=0).fit(np.zeros((5, 1))).labels_.shape
    (5,)
    """

    def __init__(self, n_clusters=3, random_state=None):
        self.n_clusters = n_clusters
        self.random_state = random_state

    def fit(self, X, y=None):
        n_samples = len(X)
        self.labels_ = np.random.default_rng(self.random_state).integers(0, self.n_clusters, n_samples)
        return self


def _classical():
    from sklearn.cluster import HDBSCAN, AgglomerativeClustering, Birch, KMeans, SpectralClustering
    from sklearn.mixture import GaussianMixture

    return [
        Method("kmeans", "KMeans", "classical", lambda k, rs, ctx: KMeans(k, n_init=10, random_state=rs)),
        Method("gmm", "GaussianMixture", "classical", lambda k, rs, ctx: GaussianMixture(k, random_state=rs)),
        Method("spectral-rbf", "Spectral (rbf)", "classical",
               lambda k, rs, ctx: SpectralClustering(k, affinity="rbf", random_state=rs)),
        Method("spectral-nn", "Spectral (nearest neighbours)", "classical",
               lambda k, rs, ctx: SpectralClustering(k, affinity="nearest_neighbors", random_state=rs)),
        Method("agglomerative-ward", "Agglomerative (ward)", "classical",
               lambda k, rs, ctx: AgglomerativeClustering(k, linkage="ward")),
        Method("hdbscan", "HDBSCAN (noise = own cluster)", "classical", lambda k, rs, ctx: HDBSCAN(copy=True)),
        Method("birch", "Birch", "classical", lambda k, rs, ctx: Birch(n_clusters=k)),
        Method("chance", "Chance (random labels)", "chance", lambda k, rs, ctx: RandomLabels(k, random_state=rs)),
    ]


def _llm(family, name, label, with_adapter=False, **params):
    """An LLM method: ``family`` "icc" or "attention"; ``with_adapter`` adds the run's adapter, and
    otherwise the model runs zero-shot (``adapter=None``) unless ``params`` name an adapter."""

    def build(k, rs, ctx):
        from ..cluster import AttentionSpectralClustering, InContextClustering

        kind = InContextClustering if family == "icc" else AttentionSpectralClustering
        extra = {"adapter": ctx.adapter or "default"} if with_adapter else {} if "adapter" in params else {"adapter": None}
        if family == "icc" and ctx.engine != "transformers":
            extra["engine"] = ctx.engine
        return kind(k, model=ctx.model, random_state=rs, device=ctx.device, **params, **extra)

    return Method(name, label, family, build)


def _icc(name, label, **params):
    return _llm("icc", name, label, **params)


def _attention(name, label, **params):
    return _llm("attention", name, label, **params)


METHODS: dict = {}


def register_method(method):
    """Add ``method`` to the registry (replacing one of the same name) and return it."""
    METHODS[method.name] = method
    return method


for _method in _classical() + [
    _icc("icc-paper", "ICC paper format", point_format="paper"),
    _icc("icc-compact", "ICC compact format", point_format="compact"),
    _icc("icc-paper-free", "ICC paper format, free decoding", point_format="paper", decoding="free"),
    _icc("icc-compact-free", "ICC compact format, free decoding", point_format="compact", decoding="free"),
    _icc("icc-compact-consensus3", "ICC compact, consensus of 3 orders", point_format="compact", n_orderings=3),
    _icc("icc-compact-adapter", "ICC compact format, LoRA adapter", with_adapter=True, point_format="compact"),
    _icc("icc-paper-adapter", "ICC paper format, LoRA adapter", with_adapter=True, point_format="paper"),
    _attention("asc-hidden", "Attention SC, hidden, layer 9", affinity="hidden", layer=9),
    _attention("asc-affinity", "Attention SC, shipped affinity adapter", adapter="auto"),
    _attention("asc-hidden-adapter", "Attention SC, hidden, layer 9, LoRA adapter", with_adapter=True,
               affinity="hidden", layer=9, point_format="compact"),
    _attention("asc-attention", "Attention SC, attention, layer 9", affinity="attention", layer=9),
    _attention("asc-hidden-auto", "Attention SC, hidden, auto layer", affinity="hidden", layer="auto"),
    _attention("asc-attention-auto", "Attention SC, attention, auto layer", affinity="attention", layer="auto"),
]:
    register_method(_method)

# Any layer: "asc-hidden-L12", "asc-attention-L7".
_LAYER_VARIANT = re.compile(r"asc-(hidden|attention)-L(\d+)")
GROUPS = {
    "classical": lambda: [m for m in METHODS.values() if not m.uses_model],
    "llm": lambda: [m for m in METHODS.values() if m.uses_model],
    "all": lambda: list(METHODS.values()),
}


def get_method(name):
    """The registered method called ``name`` (or a layer variant such as ``asc-hidden-L12``)."""
    if name in METHODS:
        return METHODS[name]
    match = _LAYER_VARIANT.fullmatch(name)
    if match:
        affinity, layer = match.group(1), int(match.group(2))
        return _attention(name, f"Attention SC, {affinity}, layer {layer}", affinity=affinity, layer=layer)
    raise ValueError(
        f"Unknown method {name!r}; choose from {list(METHODS)}, asc-hidden-L<layer>, "
        f"asc-attention-L<layer> or a group ({', '.join(GROUPS)}, default)."
    )


def resolve_methods(names, default):
    """Method objects for ``names``, expanding the groups; ``"default"`` is the suite's list."""
    methods = []
    for name in names:
        if name == "default":
            methods += [get_method(n) for n in default]
        elif name in GROUPS:
            methods += GROUPS[name]()
        else:
            methods.append(get_method(name))
    return list({m.name: m for m in methods}.values())
