"""Attention spectral clustering: one forward pass, a layer's point affinity, spectral clustering."""

from __future__ import annotations

from numbers import Integral

from sklearn.base import BaseEstimator, ClusterMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions

from ..runtime import load_model
from ..runtime.capture import capture_points, n_decoder_layers
from ..runtime.prompts import resolve_template
from ..vision import ImageEncoder
from ._affinity import affinity_from_attention, affinity_from_hidden, score_layers, spectral_labels
from ._images import encode_points, episode_prompt, validate_points
from ._validation import PROMPT_PARAMETER_CONSTRAINTS, prompt_settings, set_runtime_state

AFFINITIES = ("attention", "hidden")
AUTO_LAYER_RULE = "eigengap"  # measured against "silhouette": see docs/benchmarks.rst
DEFAULT_LAYER = 9  # the default model's best fixed layer in benchmarks/attention_layers.py


def layer_affinities(
    X,
    n_clusters=3,
    *,
    model="default",
    adapter=None,
    layers="all",
    affinity="hidden",
    heads=None,
    condition=None,
    prompt="paper",
    point_format="paper",
    device="auto",
    dtype="auto",
    image_encoder=None,
):
    """Point affinity matrices at several layers, from one forward pass.

    Only ``(n, n)`` point-level matrices are kept per layer, never a layer's
    token-by-token attention.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    n_clusters : int, default=3
        Named in the prompt.
    model : str or path, default="default"
    layers : "all" or list of int, default="all"
        Decoder layers, 0-based; negative values count from the end.
    affinity : {"attention", "hidden"}, default="hidden"
        The cosine similarity of mean hidden states (:func:`affinity_from_hidden`), or
        the paper's attention block means (:func:`affinity_from_attention`).
    heads : list of int or None, default=None
        Attention heads to average (``None``: all).
    adapter, condition, prompt, point_format, device, dtype, image_encoder
        As for :class:`InContextClustering`.

    Returns
    -------
    affinities : dict of int to ndarray of shape (n_samples, n_samples)
        Keyed by 0-based layer.
    """
    loaded = load_model(model, device=device, dtype=dtype, adapter=adapter)
    n_layers = n_decoder_layers(loaded)
    wanted = list(range(n_layers)) if isinstance(layers, str) and layers == "all" else list(layers)
    built = episode_prompt(
        encode_points(X, image_encoder, loaded), n_clusters, loaded, image_encoder=image_encoder,
        template=resolve_template(prompt), condition=condition, point_format=point_format,
    )
    use_attention = affinity == "attention"
    capture = capture_points(loaded, built, wanted, attention=use_attention, hidden=not use_attention, heads=heads)
    if use_attention:
        return {layer: affinity_from_attention(A) for layer, A in capture.attention.items()}
    return {layer: affinity_from_hidden(H) for layer, H in capture.hidden.items()}


def attention_spectral_clustering(
    X,
    n_clusters=3,
    *,
    model="default",
    adapter=None,
    layer=DEFAULT_LAYER,
    affinity="hidden",
    heads=None,
    condition=None,
    prompt="paper",
    point_format="paper",
    random_state=None,
    device="auto",
    dtype="auto",
    image_encoder=None,
):
    """Cluster ``X`` by spectral clustering of an LLM layer's point affinity.

    Read more in the :ref:`User Guide <attention_guide>`.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    n_clusters : int, default=3
    model : str or path, default="default"
    layer : int or "auto", default=9
        The decoder layer (0-based, negative from the end). ``"auto"`` scores every
        layer without labels (the eigengap at ``n_clusters`` of the normalised
        Laplacian) and takes the best.
    affinity : {"attention", "hidden"}, default="hidden"
    heads : list of int or None, default=None
    adapter, condition, prompt, point_format, device, dtype, image_encoder
        As for :class:`InContextClustering`.
    random_state : int, RandomState instance or None, default=None
        Seeds the k-means step of spectral clustering.

    Returns
    -------
    labels : ndarray of shape (n_samples,), dtype int64
    affinity_matrix : ndarray of shape (n_samples, n_samples)
    layer : int
        The 0-based layer used.
    layer_scores : dict of int to float
        The label-free score of each layer (only with ``layer="auto"``, else empty).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_icc.cluster import attention_spectral_clustering
    >>> X = np.array([[0.0, 0.1], [5.0, 5.1], [0.1, 0.0], [5.1, 5.0]])
    >>> labels, A, layer, _ = attention_spectral_clustering(X, 2, layer=15, random_state=0)
    >>> labels.dtype, A.shape, layer
    (dtype('int64'), (4, 4), 15)
    """
    common = dict(
        model=model, adapter=adapter, affinity=affinity, heads=heads, condition=condition, prompt=prompt,
        point_format=point_format, device=device, dtype=dtype, image_encoder=image_encoder,
    )
    if isinstance(layer, str) and layer == "auto":
        affinities = layer_affinities(X, n_clusters, layers="all", **common)
        scores = score_layers(affinities, n_clusters, rule=AUTO_LAYER_RULE, random_state=random_state)
        chosen = max(scores, key=scores.get)
    else:
        affinities = layer_affinities(X, n_clusters, layers=[layer], **common)
        scores, chosen = {}, next(iter(affinities))
    matrix = affinities[chosen]
    labels = spectral_labels(matrix, n_clusters, random_state=random_state)
    return labels, matrix, chosen, scores


class AttentionSpectralClustering(ClusterMixin, BaseEstimator):
    """Spectral clustering on what one LLM layer computes about the points.

    One forward pass over the ICC prompt (no generation). Layer ``layer``'s attention,
    averaged over heads and over each pair of point spans (the paper's affinity,
    :func:`affinity_from_attention`), or the cosine similarity of the points' mean
    hidden states at that layer (``affinity="hidden"``, the default), becomes an
    affinity matrix, and scikit-learn's spectral clustering labels the points.

    Read more in the :ref:`User Guide <attention_guide>`.

    Parameters
    ----------
    model : str or path, default="default"
        As for :class:`InContextClustering`.
    n_clusters : int, default=3
    adapter : str, path or None, default=None
        As for :class:`InContextClustering`.
    layer : int or "auto", default=9
        0-based decoder layer, negative from the end. ``"auto"`` picks the layer with
        the largest eigengap at ``n_clusters`` (no labels needed); see ``layer_``.
        The default, layer 9 of 30, was the best fixed layer of the default model
        (SmolLM2-135M) in the benchmarks, and beat ``"auto"``; for another model,
        search ``layer`` with ``GridSearchCV`` or use ``"auto"``.
    heads : list of int or None, default=None
        Attention heads to average (``affinity="attention"`` only); ``None`` averages all.
    affinity : {"attention", "hidden"}, default="hidden"
        ``"hidden"``: centred cosine similarity of the points' mean hidden states
        (:func:`affinity_from_hidden`). ``"attention"``: the paper's attention block
        means (:func:`affinity_from_attention`). On the default model ``"hidden"``
        scored far higher (see the benchmarks page).
    condition : str, default=None
    prompt : {"paper", "short"} or PromptTemplate, default="paper"
    point_format : {"paper", "compact"}, default="paper"
    random_state : int, RandomState instance or None, default=None
        Seeds the k-means step of spectral clustering.
    device : str, default="auto"
    dtype : {"auto", "float32", "bfloat16", "float16"}, default="auto"
    image_encoder : ImageEncoder, default=None
        Cluster images, as for :class:`InContextClustering`: each image's span of
        projected embeddings is a point span (see :ref:`images_guide`).

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,), dtype int64
    affinity_matrix_ : ndarray of shape (n_samples, n_samples)
    layer_ : int
        The 0-based layer used.
    layer_scores_ : dict of int to float
        Label-free score per layer when ``layer="auto"``; empty otherwise.
    n_features_in_ : int
    device_ : str
    dtype_ : str

    See Also
    --------
    InContextClustering : Generative ICC on the same prompt.
    sklearn.cluster.SpectralClustering : Spectral clustering on a kernel of X.

    References
    ----------
    Wang, Ren, Wilson, "In-Context Clustering with Large Language Models",
    arXiv:2510.08466 (2025), section 2.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_icc import AttentionSpectralClustering
    >>> X = np.array([[0.0, 0.1], [5.0, 5.1], [0.1, 0.0], [5.1, 5.0]])
    >>> asc = AttentionSpectralClustering(n_clusters=2, random_state=0).fit(X)
    >>> asc.labels_.dtype, asc.affinity_matrix_.shape, asc.layer_
    (dtype('int64'), (4, 4), 9)
    """

    _parameter_constraints: dict = {
        **PROMPT_PARAMETER_CONSTRAINTS,
        "layer": [Integral, StrOptions({"auto"})],
        "heads": [list, tuple, None],
        "affinity": [StrOptions(set(AFFINITIES))],
        "image_encoder": [ImageEncoder, None],
    }

    def __init__(
        self,
        model="default",
        n_clusters=3,
        *,
        adapter=None,
        layer=DEFAULT_LAYER,
        heads=None,
        affinity="hidden",
        condition=None,
        prompt="paper",
        point_format="paper",
        random_state=None,
        device="auto",
        dtype="auto",
        image_encoder=None,
    ):
        self.model = model
        self.n_clusters = n_clusters
        self.adapter = adapter
        self.layer = layer
        self.heads = heads
        self.affinity = affinity
        self.condition = condition
        self.prompt = prompt
        self.point_format = point_format
        self.random_state = random_state
        self.device = device
        self.dtype = dtype
        self.image_encoder = image_encoder

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Cluster ``X`` from one forward pass.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored

        Returns
        -------
        self : AttentionSpectralClustering
        """
        X = validate_points(self, X)
        random_state = check_random_state(self.random_state)
        labels, matrix, layer, scores = attention_spectral_clustering(
            X,
            self.n_clusters,
            layer=self.layer,
            affinity=self.affinity,
            heads=self.heads,
            random_state=random_state,
            **prompt_settings(self),
            image_encoder=self.image_encoder,
        )
        loaded = load_model(self.model, device=self.device, dtype=self.dtype, adapter=self.adapter)
        self.labels_ = labels
        self.affinity_matrix_ = matrix
        self.layer_ = int(layer)
        self.layer_scores_ = scores
        set_runtime_state(self, loaded)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags
