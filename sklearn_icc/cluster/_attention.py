"""Attention spectral clustering: one forward pass, a layer's point affinity, spectral clustering."""

from __future__ import annotations

import os
from numbers import Integral

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions, validate_params
from sklearn.utils.validation import check_is_fitted

from ..runtime.capture.points import capture_points, n_decoder_layers
from ..runtime.prompts.templates import fits_context_window
from ..runtime.prompts.texts import DEFAULT_MAX_TEXT_TOKENS
from ._affinity import affinity_from_attention, affinity_from_hidden, eigengap_score, estimate_n_clusters
from ._affinity import score_layers, spectral_labels
from ._base import _BaseLLMClustering
from ._by_condition import MAX_PARTITIONED, conditioned_proba, conditioned_score, fit_conditioned, forget_reading
from ._by_condition import reads_condition, resolve_reader_adapter
from ._docstrings import fill_doc
from ._episodes import DEFAULT_CHUNK_SIZE, representatives
from ._learned import fit_learned, model_adapter, predict_proba_learned, resolve_affinity_adapter, score_learned

AFFINITIES = ("attention", "hidden")
AUTO_LAYER_RULE = "eigengap"  # measured against "silhouette": see docs/benchmarks.rst
DEFAULT_LAYER = 9  # the default model's best fixed layer in benchmarks/attention_layers.py


def point_affinities(points, n_clusters, loaded, spec, layers, *, affinity="hidden", heads=None):
    """Point affinity matrices at ``layers`` (0-based, negative from the end), from one forward pass.

    Only ``(n, n)`` point-level matrices are kept per layer, never a layer's
    token-by-token attention. Returns ``{layer: affinity}`` keyed by 0-based layer.
    """
    built = spec.build(spec.encode(points, loaded), n_clusters, loaded)
    use_attention = affinity == "attention"
    capture = capture_points(loaded, built, layers, attention=use_attention, hidden=not use_attention, heads=heads)
    if use_attention:
        return {layer: affinity_from_attention(A) for layer, A in capture.attention.items()}
    return {layer: affinity_from_hidden(H) for layer, H in capture.hidden.items()}


@validate_params({"layers": [StrOptions({"all"}), list, tuple]}, prefer_skip_nested_validation=False)
@fill_doc
def layer_affinities(X, n_clusters=3, *, model="default", adapter=None, layers="all", affinity="hidden", heads=None,
                     condition=None, prompt="paper", point_format="paper", device="auto", dtype="auto",
                     image_encoder=None, max_text_tokens=DEFAULT_MAX_TEXT_TOKENS):
    """Point affinity matrices at several layers, from one forward pass.

    The parameters are validated as :class:`AttentionSpectralClustering` validates
    them. Only ``(n, n)`` point-level matrices are kept per layer.

    Parameters
    ----------
    %(X)s
    %(n_clusters)s
    %(model)s
    %(adapter)s
    layers : "all" or list of int, default="all"
        Decoder layers, 0-based; negative values count from the end.
    %(affinity)s
    %(heads)s
    %(condition)s
    %(prompt)s
    %(point_format)s
    %(device)s
    %(dtype)s
    %(image_encoder)s
    %(max_text_tokens)s

    Returns
    -------
    affinities : dict of int to ndarray of shape (n_samples, n_samples)
        Keyed by 0-based layer.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_icc.cluster import layer_affinities
    >>> X = np.array([[0.0, 0.1], [5.0, 5.1], [0.1, 0.0], [5.1, 5.0]])
    >>> affinities = layer_affinities(X, 2, layers=[3, -1])
    >>> sorted(affinities), affinities[3].shape
    ([3, 29], (4, 4))
    """
    estimator = AttentionSpectralClustering(
        n_clusters, model=model, adapter=adapter, affinity=affinity, heads=heads, condition=condition, prompt=prompt,
        point_format=point_format, device=device, dtype=dtype, image_encoder=image_encoder,
        max_text_tokens=max_text_tokens,
    )
    estimator._validate_params()
    points = estimator._validate_points(X)
    estimator._check_layer_and_heads()
    loaded, spec = estimator._resolve_runtime()
    estimator._check_texts(points, loaded, spec)
    wanted = list(range(n_decoder_layers(loaded))) if isinstance(layers, str) else list(layers)
    return point_affinities(points, n_clusters, loaded, spec, wanted, affinity=affinity, heads=heads)


@fill_doc
def attention_spectral_clustering(X, n_clusters=3, *, max_clusters=10, model="default", adapter="auto",
                                  layer=DEFAULT_LAYER, affinity="hidden", heads=None, condition=None, prompt="paper",
                                  point_format="paper", random_state=None, device="auto", dtype="auto",
                                  image_encoder=None, max_text_tokens=DEFAULT_MAX_TEXT_TOKENS,
                                  max_samples=MAX_PARTITIONED, memory=None):
    """Cluster ``X`` by spectral clustering of an LLM layer's point affinity.

    This is ``AttentionSpectralClustering(n_clusters, ...).fit(X)``: the same
    validation and the same labels. Read more in the :ref:`User Guide <attention_guide>`.

    Parameters
    ----------
    %(X)s
    %(asc_parameters)s

    Returns
    -------
    labels : ndarray of shape (n_samples,), dtype int64
        Canonical cluster labels.
    affinity_matrix : ndarray of shape (n_samples, n_samples)
        The chosen layer's point affinity (texts with a ``condition``: see the estimator's ``sample_indices_``).
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
    >>> labels, layer
    (array([0, 1, 0, 1]), 15)
    """
    estimator = AttentionSpectralClustering(
        n_clusters, max_clusters=max_clusters, model=model, adapter=adapter, layer=layer, affinity=affinity,
        heads=heads, condition=condition, prompt=prompt, point_format=point_format, random_state=random_state,
        device=device, dtype=dtype, image_encoder=image_encoder, max_text_tokens=max_text_tokens,
        max_samples=max_samples, memory=memory).fit(X)
    return estimator.labels_, estimator.affinity_matrix_, estimator.layer_, estimator.layer_scores_


@fill_doc
class AttentionSpectralClustering(_BaseLLMClustering):
    """Spectral clustering on what one LLM layer computes about the points.

    One forward pass over the ICC prompt (no generation). Layer ``layer``'s attention,
    averaged over heads and over each pair of point spans (the paper's affinity,
    :func:`affinity_from_attention`), or the cosine similarity of the points' mean
    hidden states at that layer (``affinity="hidden"``, the default), becomes an
    affinity matrix, and scikit-learn's spectral clustering labels the points.

    Read more in the :ref:`User Guide <attention_guide>`.

    Parameters
    ----------
    %(asc_parameters)s
    %(namer)s
    verbose : int, default=0
        Above 0, texts with a ``condition`` (read one by one) show a progress bar over
        the texts read, in ``fit``, ``predict``, ``predict_proba`` and ``score``; any
        other fit is one forward pass.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,), dtype int64
        Cluster label of each point.
    affinity_matrix_ : ndarray of shape (n_samples, n_samples)
        The chosen layer's point affinity (texts with a ``condition``: see ``sample_indices_``).
    layer_ : int
        The 0-based layer used (with an affinity adapter, the last layer it runs).
    adapter_ : str or None
        The adapter folder the fit used (``adapter="auto"`` resolved), or ``None`` for
        the zero-shot path: the affinity adapter on numbers, the conditioned reading's
        LoRA adapter on texts with a ``condition``.
    layer_scores_ : dict of int to float
        Label-free score per layer when ``layer="auto"``; empty otherwise. With
        ``n_clusters=None``, each layer is scored at its own estimated k.
    n_clusters_ : int
        The number of clusters: ``n_clusters``, or with ``n_clusters=None`` the k of
        the largest eigengap of the chosen layer's affinity
        (:func:`estimate_n_clusters`, at most ``max_clusters``).
    n_features_in_ : int
        Number of features seen during fit (numeric data only).
    X_fit_ : ndarray of shape (n_samples, n_features)
        The fitted points, the anchors of ``predict`` (texts: a 1-D object array).
    device_ : str
        The device the model ran on.
    dtype_ : str
        The dtype the model ran in.
    sample_indices_, reading_, readout_, reading_scores_, reading_agreement_, embedding_, answers_, cluster_names_, namer_
        Texts with a ``condition`` only (the conditioned reading, :ref:`texts_guide`): the texts (indices into
        ``X``) partitioned, whose affinity ``affinity_matrix_`` is (all of them, or a random ``max_samples``), the
        design read, the partition's readout (``"spectral"`` or ``"kmeans"``), each candidate design's eigengap
        within the chosen reading, each candidate reading's agreement (an attitude condition: ``{"prompt": ...,
        "opened": ...}``, the ARI between its two designs' partitions; the larger wins), each text's features, its
        one-word answer (in a large fit, or from a ``namer``, only the texts nearest each cluster's centre are
        asked; the others are ``""``), each cluster's name from those answers, and the naming adapter (``namer_``).

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
    >>> asc = AttentionSpectralClustering(2, random_state=0).fit(X)
    >>> asc.labels_, asc.adapter_ is not None  # numbers: the shipped affinity adapter
    (array([0, 1, 0, 1]), True)
    >>> asc.predict([[5.0, 5.0], [0.0, 0.0]])
    array([1, 0])
    >>> AttentionSpectralClustering(2, adapter=None, random_state=0).fit(X).layer_  # zero-shot
    9
    """

    _parameter_constraints: dict = {
        **_BaseLLMClustering._parameter_constraints,
        "layer": [Integral, StrOptions({"auto"})],  # bools are rejected in fit
        "heads": [list, tuple, None],
        "affinity": [StrOptions(set(AFFINITIES))],
        "max_samples": [Interval(Integral, 1, None, closed="left"), None],
        "memory": [str, os.PathLike, HasMethods(["cache"]), None],
        "namer": [str, os.PathLike],
    }

    def __init__(self, n_clusters=3, *, max_clusters=10, model="default", adapter="auto", layer=DEFAULT_LAYER,
                 heads=None, affinity="hidden", condition=None, prompt="paper", point_format="paper",
                 random_state=None, device="auto", dtype="auto", image_encoder=None,
                 max_text_tokens=DEFAULT_MAX_TEXT_TOKENS, max_samples=MAX_PARTITIONED, memory=None, namer="auto",
                 verbose=0):
        super().__init__(n_clusters, max_clusters=max_clusters, model=model, adapter=adapter, condition=condition,
                         prompt=prompt, point_format=point_format, random_state=random_state, device=device,
                         dtype=dtype, image_encoder=image_encoder, max_text_tokens=max_text_tokens, verbose=verbose)
        self.layer = layer
        self.heads = heads
        self.affinity = affinity
        self.max_samples = max_samples
        self.memory = memory
        self.namer = namer

    def _language_model_adapter(self):
        return model_adapter(self.adapter)

    def _check_layer_and_heads(self):
        if isinstance(self.layer, bool):  # an Integral, but layer=True is no layer 1
            raise ValueError(f"layer must be an int or 'auto', got {self.layer!r}.")
        if self.heads is None:
            return
        if self.affinity != "attention":
            raise ValueError(f"heads={self.heads!r} applies to affinity='attention' only, not {self.affinity!r}.")
        if not all(isinstance(h, Integral) and not isinstance(h, bool) for h in self.heads):
            raise ValueError(f"heads={self.heads!r} must be a list of attention head indices (ints).")

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Cluster ``X`` from one forward pass.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), list of images, or list of texts
            The points.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : AttentionSpectralClustering
            The fitted estimator.
        """
        X = self._validate_points(X)
        self._check_layer_and_heads()
        if reads_condition(self, X):  # texts with a condition: each read under its question
            self.adapter_ = resolve_reader_adapter(self)
            return fit_conditioned(self, X)
        self.adapter_ = resolve_affinity_adapter(self, X, DEFAULT_LAYER)
        forget_reading(self)
        if self.adapter_ is not None:
            return fit_learned(self, X)
        loaded, spec = self._resolve_runtime()
        self._check_texts(X, loaded, spec)
        auto = isinstance(self.layer, str)
        if (auto or self.n_clusters is None) and len(X) < 2:
            raise ValueError("layer='auto' and n_clusters=None read an eigengap, which needs n_samples >= 2.")
        layers = list(range(n_decoder_layers(loaded))) if auto else [self.layer]
        affinities = point_affinities(X, self.n_clusters, loaded, spec, layers, affinity=self.affinity,
                                      heads=self.heads)
        random_state = check_random_state(self.random_state)
        if auto:
            scores = score_layers(affinities, self.n_clusters, rule=AUTO_LAYER_RULE, random_state=random_state,
                                  max_clusters=self.max_clusters)
            chosen = max(scores, key=scores.get)
        else:
            scores, chosen = {}, next(iter(affinities))
        self.affinity_matrix_ = affinities[chosen]
        k = self.n_clusters
        self.n_clusters_ = estimate_n_clusters(self.affinity_matrix_, self.max_clusters) if k is None else k
        self.labels_ = spectral_labels(self.affinity_matrix_, self.n_clusters_, random_state=random_state)
        self.layer_ = int(chosen)
        self.layer_scores_ = scores
        self.X_fit_ = X
        self._record_runtime(loaded)
        return self

    def predict_proba(self, X):
        """Each new point's mean affinity to each cluster's fitted points, normalised.

        One forward pass per chunk of new points, over the fitted points (or, when they
        fill the context, up to ``50 // (2 n_clusters)`` representatives of each
        cluster) followed by the new points, at layer ``layer_``. Rows sum to 1; a
        point with no affinity to any anchor gets a uniform row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), list of images, or list of texts

        Returns
        -------
        probabilities : ndarray of shape (n_samples, n_clusters)
        """
        check_is_fitted(self)
        X = self._new_points(X)
        if hasattr(self, "reading_"):  # texts with a condition (adapter_: the reader's LoRA, if any)
            return conditioned_proba(self, X)
        if self.adapter_ is not None:
            return predict_proba_learned(self, X)
        loaded, spec = self._resolve_runtime()
        self._check_texts(X, loaded, spec)
        anchors, anchor_labels = self.X_fit_, self.labels_
        if not spec.images and not _fits(loaded, spec, np.concatenate([anchors, X[:DEFAULT_CHUNK_SIZE]]),
                                         self.n_clusters):
            keep = representatives(anchors, anchor_labels, DEFAULT_CHUNK_SIZE, self.n_clusters_)
            anchors, anchor_labels = anchors[keep], anchor_labels[keep]
        members = np.eye(self.n_clusters_)[anchor_labels]  # (n_anchors, k)
        probabilities = np.zeros((len(X), self.n_clusters_))
        start, size = 0, DEFAULT_CHUNK_SIZE
        while start < len(X):
            stop = min(len(X), start + size)
            points = list(anchors) + list(X[start:stop]) if spec.images else np.concatenate([anchors, X[start:stop]])
            if not spec.images and not _fits(loaded, spec, points, self.n_clusters) and size > 1:
                size //= 2
                continue
            A = point_affinities(points, self.n_clusters, loaded, spec, [self.layer_], affinity=self.affinity,
                                 heads=self.heads)[self.layer_]
            to_anchors = A[len(anchors):, : len(anchors)] @ members / np.maximum(members.sum(axis=0), 1)
            totals = to_anchors.sum(axis=1, keepdims=True)
            probabilities[start:stop] = np.where(totals > 0, to_anchors / np.where(totals > 0, totals, 1),
                                                 1.0 / self.n_clusters_)
            start = stop
        return probabilities

    def predict(self, X):
        """Label new points by their affinity to the fitted clusters (see :meth:`predict_proba`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), list of images, or list of texts

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype int64
        """
        return self.predict_proba(X).argmax(axis=1).astype(np.int64)

    def score(self, X, y=None):
        """The eigengap at ``n_clusters`` of ``X``'s affinity at layer ``layer_`` (higher is better).

        ``lambda_{k+1} - lambda_k`` of the normalised Laplacian of the affinity: large
        when the layer separates ``X`` into ``n_clusters`` clear blocks. It needs no
        labels, so ``GridSearchCV`` can search ``layer`` without ``scoring=``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), list of images, or list of texts
        y : Ignored

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        X = self._new_points(X)
        if hasattr(self, "reading_"):  # texts with a condition (adapter_: the reader's LoRA, if any)
            return conditioned_score(self, X)
        if self.adapter_ is not None:
            return score_learned(self, X)
        loaded, spec = self._resolve_runtime()
        A = point_affinities(X, self.n_clusters, loaded, spec, [self.layer_], affinity=self.affinity,
                             heads=self.heads)[self.layer_]
        return eigengap_score(A, self.n_clusters_) if len(X) > 1 else 0.0


def _fits(loaded, spec, points, n_clusters):
    """Whether the prompt of ``points`` fits the context window (a forward pass writes no answer)."""
    return fits_context_window(spec.build(points, n_clusters, loaded).n_tokens, 0, loaded.context_length)
