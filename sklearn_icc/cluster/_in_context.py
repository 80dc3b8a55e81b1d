"""Generative In-Context Clustering: the LLM reads the points and writes their labels."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ..runtime.decoding.constrained import prompt_fits
from ..runtime.engines import EndpointEngine, check_engine
from ..runtime.spec import is_texts
from ..runtime.prompts.texts import DEFAULT_MAX_TEXT_TOKENS
from ._base import DECODING_CONSTRAINTS, _BaseLLMClustering
from ._docstrings import fill_doc
from ._engine_episodes import fit_on_engine, labels_many_on_engine
from ._episodes import DEFAULT_CHUNK_SIZE, cluster_episode, label_after_anchors, representatives
from ._many import in_context_clustering_many
from ._texts import looks_like_texts

DECODINGS = ("constrained", "free")


@fill_doc
def in_context_clustering(X, n_clusters=3, *, max_clusters=10, model="default", adapter=None, condition=None,
                          prompt="paper", point_format="compact", decoding="constrained", temperature=0.0, n_orderings=1,
                          chunk_size=None, random_state=None, device="auto", dtype="auto", image_encoder=None,
                          max_text_tokens=DEFAULT_MAX_TEXT_TOKENS, engine="transformers", return_details=False):
    """Cluster the rows of ``X`` by writing them into an LLM prompt and decoding labels.

    This is ``InContextClustering(n_clusters, ...).fit(X)``: the same validation and
    the same labels. Read more in the :ref:`User Guide <user_guide>`.

    Parameters
    ----------
    %(X)s
    %(icc_parameters)s
    return_details : bool, default=False
        Also return the decoding results and prompts of each ordering's prompts, and
        the loaded model.

    Returns
    -------
    labels : ndarray of shape (n_samples,), dtype int64
        Canonical labels: clusters are numbered in order of first appearance.
    probabilities : ndarray of shape (n_samples, n_clusters)
        The model's probability of each allowed label at each point (with
        ``n_clusters=None``, one column per cluster found).
    details : dict
        Only with ``return_details=True``: ``results`` (one
        :class:`~sklearn_icc.runtime.DecodeResult` per prompt), ``prompts`` and ``loaded``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_icc import in_context_clustering
    >>> X = np.array([[0.0, 0.1], [5.0, 5.1], [0.1, 0.0], [5.1, 5.0]])
    >>> labels, proba = in_context_clustering(X, n_clusters=2)
    >>> labels  # zero-shot, the small default model clusters near chance
    array([0, 1, 1, 1])
    >>> proba.shape
    (4, 2)
    """
    estimator = InContextClustering(
        n_clusters, max_clusters=max_clusters, model=model, adapter=adapter, condition=condition, prompt=prompt,
        point_format=point_format,
        decoding=decoding, temperature=temperature, n_orderings=n_orderings, chunk_size=chunk_size,
        random_state=random_state, device=device, dtype=dtype, image_encoder=image_encoder,
        max_text_tokens=max_text_tokens, engine=engine,
    ).fit(X)
    if return_details and engine != "transformers":
        return estimator.labels_, estimator.label_probabilities_, estimator._fit_details
    if return_details:
        details = {**estimator._fit_details, "loaded": estimator._resolve_runtime()[0]}
        return estimator.labels_, estimator.label_probabilities_, details
    return estimator.labels_, estimator.label_probabilities_


@fill_doc
class InContextClustering(_BaseLLMClustering):
    """In-Context Clustering: a large language model reads the points and labels them.

    The points are written into a chat prompt as text (compact integers by default);
    the model answers with one label per point. Constrained decoding guarantees exactly
    ``n_samples`` labels in ``0..n_clusters-1``, numbered by first appearance.

    Read more in the :ref:`User Guide <user_guide>`.

    Parameters
    ----------
    %(icc_parameters)s
    %(verbose)s

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,), dtype int64
        Cluster label of each point, in ``0..n_clusters_-1``.
    label_probabilities_ : ndarray of shape (n_samples, k)
        The model's probability of each label at each point (one-hot for ``"free"``,
        and for an endpoint that returns no log-probabilities: nothing is made up);
        ``k`` is ``n_clusters_``.
    probabilities_ : ndarray of shape (n_samples,)
        The probability of each point's own label, as ``HDBSCAN.probabilities_``
        holds each point's membership strength; BERTopic reads it as the topic
        probability of each document.
    n_clusters_ : int
        The number of clusters: ``n_clusters``, or with ``n_clusters=None`` the number
        of labels the model used (``predict`` then states this k in its prompts).
    n_features_in_ : int
        Number of features seen during fit (numeric data only).
    device_ : str
        The device the model ran on (``"vllm"`` or ``"endpoint"`` on those engines).
    dtype_ : str
        The dtype the model ran in.
    n_prompt_tokens_ : int or None
        Length of the (first) prompt in tokens (``None`` from an endpoint that reports no usage).
    X_fit_ : ndarray of shape (n_samples, n_features)
        The fitted points: ``predict`` writes them (or, when they fill the context,
        representatives of each cluster) as labelled anchors before the new points.
        For images, the list of fitted images (RGB PIL images); for texts, a 1-D
        object array of the fitted texts.
    n_decoding_failures_ : int
        Points whose label had to be imputed (``decoding="free"`` only; else 0).
    timings_ : dict
        ``prefill_seconds`` and ``decode_seconds`` of the fit, summed over prompts;
        on another engine, ``engine_seconds``: the wall time of its call.

    See Also
    --------
    sklearn.cluster.KMeans : The classical clusterer this one drops in for.
    AttentionSpectralClustering : Spectral clustering of a layer's point affinity.

    Notes
    -----
    The model is cached per process and is not pickled with the estimator.
    Zero-shot, small models cluster poorly (the paper's 1B model scored at chance, and
    so does the default model here); see the benchmarks page for measured accuracy.

    References
    ----------
    Wang, Ren, Wilson, "In-Context Clustering with Large Language Models",
    arXiv:2510.08466 (2025).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_icc import InContextClustering
    >>> X = np.array([[0.0, 0.1], [5.0, 5.1], [0.1, 0.0], [5.1, 5.0]])
    >>> icc = InContextClustering(2, point_format="compact").fit(X)
    >>> icc.labels_  # zero-shot, the small default model clusters near chance
    array([0, 1, 1, 1])
    >>> icc.predict([[5.0, 5.0]])
    array([1])
    """

    _parameter_constraints: dict = {
        **_BaseLLMClustering._parameter_constraints,
        **DECODING_CONSTRAINTS,
        "decoding": [StrOptions(set(DECODINGS))],
        "engine": [str, EndpointEngine],
    }

    def __init__(self, n_clusters=3, *, max_clusters=10, model="default", adapter=None, condition=None,
                 prompt="paper", point_format="compact", decoding="constrained", temperature=0.0, n_orderings=1,
                 chunk_size=None, random_state=None, device="auto", dtype="auto", image_encoder=None,
                 max_text_tokens=DEFAULT_MAX_TEXT_TOKENS, engine="transformers", verbose=0):
        super().__init__(n_clusters, max_clusters=max_clusters, model=model, adapter=adapter, condition=condition,
                         prompt=prompt,
                         point_format=point_format, random_state=random_state, device=device, dtype=dtype,
                         image_encoder=image_encoder, max_text_tokens=max_text_tokens, verbose=verbose)
        self.decoding = decoding
        self.temperature = temperature
        self.n_orderings = n_orderings
        self.chunk_size = chunk_size
        self.engine = engine

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Cluster ``X`` in one prompt, or in chunks when it does not fit one.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), list of images, or list of texts
            Numeric data without NaN or inf (sparse input is rejected), or images when
            ``image_encoder`` is set.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : InContextClustering
            The fitted estimator.
        """
        check_engine(self.engine)
        X = self._validate_points(X)
        if self.engine != "transformers":
            return fit_on_engine(self, X)
        if self.image_encoder is not None and self.decoding != "constrained":
            raise ValueError("Images need decoding='constrained' (free decoding reads token ids only).")
        if self.point_format == "embedding" and self.decoding != "constrained" and not is_texts(X):
            raise ValueError("point_format='embedding' needs decoding='constrained' (free decoding reads token "
                             "ids only).")
        cap, name = (self.max_clusters, "max_clusters") if self.n_clusters is None else (self.n_clusters, "n_clusters")
        if self.chunk_size is not None and self.chunk_size < cap:
            raise ValueError(f"chunk_size={self.chunk_size} should be >= {name}={cap}.")
        loaded, spec = self._resolve_runtime()
        if cap > loaded.max_clusters:
            raise ValueError(
                f"{name}={cap} is above the {loaded.max_clusters} cluster labels that the model "
                f"{loaded.name!r} can write (labels 0..{loaded.max_clusters - 1})."
            )
        self._check_texts(X, loaded, spec)
        run = cluster_episode(
            X, self.n_clusters, loaded, spec, rng=check_random_state(self.random_state), decoding=self.decoding,
            temperature=self.temperature, n_orderings=self.n_orderings, chunk_size=self.chunk_size,
            verbose=self.verbose, max_clusters=self.max_clusters,
        )
        failures = sum(result.n_failures for result in run.results)
        if failures:
            warnings.warn(
                f"Free decoding failed to give a valid label {failures} times for "
                f"{len(X)} points x {self.n_orderings} orderings; those points got the most "
                "frequent label. Use decoding='constrained' to avoid this.",
                RuntimeWarning,
                stacklevel=2,
            )
        self.labels_ = run.labels
        self.label_probabilities_ = run.probabilities
        self.probabilities_ = run.probabilities[np.arange(len(run.labels)), run.labels]
        self.n_clusters_ = int(run.probabilities.shape[1])
        self._record_runtime(loaded)
        self.n_prompt_tokens_ = run.prompts[0].n_tokens
        self.n_decoding_failures_ = int(failures)
        self.timings_ = {
            "prefill_seconds": sum(result.prefill_seconds for result in run.results),
            "decode_seconds": sum(result.decode_seconds for result in run.results),
        }
        self.X_fit_ = X
        self._fit_details = {"results": run.results, "prompts": run.prompts}
        return self

    def fit_predict_many(self, X_list, *, batch_size=8, n_jobs=None):
        """Cluster many episodes with these settings, in padded batches; return their labels.

        Each episode gets the labels that ``clone(self).fit_predict(X)`` gives it (with
        ``random_state`` drawing one seed per episode, as in
        :func:`in_context_clustering_many`); many episodes share each forward pass.
        The estimator's fitted attributes are not changed: one estimator holds one
        episode's fit.
        On another ``engine``, every prompt of every episode goes to it in one call
        (``batch_size`` and ``n_jobs`` are then unused).

        Parameters
        ----------
        X_list : list of array-like of shape (n_samples_i, n_features_i)
            The episodes; each may have its own number of points and features.
        batch_size : int, default=8
            At most this many prompts per forward pass.
        n_jobs : int, default=None
            Spread the episodes over this many joblib workers (see
            :func:`in_context_clustering_many`).

        Returns
        -------
        labels : list of ndarray of shape (n_samples_i,), dtype int64

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_icc import InContextClustering
        >>> rng = np.random.default_rng(0)
        >>> X_list = [rng.normal(size=(n, 2)) for n in (5, 8)]
        >>> InContextClustering(2, point_format="compact").fit_predict_many(X_list)
        [array([0, 0, 0, 0, 0]), array([0, 1, 1, 1, 1, 1, 1, 1])]
        """
        self._validate_params()
        X_list = list(X_list)
        if self.decoding != "constrained" or self.image_encoder is not None or any(map(looks_like_texts, X_list)):
            raise ValueError("fit_predict_many clusters numeric episodes with decoding='constrained' only; "
                             "fit texts or images one episode at a time.")
        if self.n_clusters is None:
            raise ValueError("fit_predict_many needs n_clusters: batches of episodes that find their own k are not "
                             "supported; fit each episode alone with n_clusters=None.")
        if self.engine != "transformers":
            return labels_many_on_engine(self, X_list)
        params = self.get_params()
        for name in ("decoding", "image_encoder", "max_text_tokens", "max_clusters", "engine"):
            del params[name]
        return in_context_clustering_many(X_list, batch_size=batch_size, n_jobs=n_jobs, **params)[0]

    def _label_new_points(self, X):
        check_is_fitted(self)
        if self.engine != "transformers":
            raise ValueError(f"predict runs in process: it is not implemented for engine={self.engine!r}; "
                             "fit with engine='transformers' to predict new points.")
        X = self._new_points(X)
        loaded, spec = self._resolve_runtime()
        self._check_texts(X, loaded, spec)
        anchors, anchor_labels = self.X_fit_, self.labels_
        chunk_size = self.chunk_size or DEFAULT_CHUNK_SIZE
        if not spec.images and not _anchors_leave_room(anchors, X[:chunk_size], self.n_clusters_, loaded, spec):
            # Too many fitted points to write them all: representatives of each cluster.
            keep = representatives(anchors, anchor_labels, chunk_size, self.n_clusters_)
            anchors, anchor_labels = anchors[keep], anchor_labels[keep]
        rng = check_random_state(self.random_state)
        return label_after_anchors(
            anchors, anchor_labels, X, self.n_clusters_, loaded, spec, chunk_size=self.chunk_size,
            temperature=self.temperature, seed=int(rng.randint(np.iinfo(np.int32).max)), verbose=self.verbose,
        )

    def predict(self, X):
        """Label new points in context, with the fitted points as labelled anchors.

        The prompt holds the fitted points, then the new ones; the answer starts with
        ``labels_`` and constrained decoding labels the new points, so label ids are
        those of ``labels_``. When the fitted points leave no room for a chunk of new
        points in the context window, up to ``chunk_size // (2 n_clusters)``
        representatives of each cluster (those nearest its median; ``chunk_size``
        defaults to 50 here) are the anchors instead. New points are labelled jointly
        (each label may depend on the other new points), in as few prompts as fit.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), list of images, or list of texts

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype int64
        """
        return self._label_new_points(X)[0]

    def predict_proba(self, X):
        """The model's probability of each label for new points (see :meth:`predict`).

        Named as in :class:`sklearn.mixture.GaussianMixture`; rows sum to 1.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), list of images, or list of texts

        Returns
        -------
        probabilities : ndarray of shape (n_samples, n_clusters)
        """
        return self._label_new_points(X)[1]

    def score(self, X, y=None):
        """Mean log-probability that the model gives its own labels of ``X`` (higher is better).

        ``X`` is labelled as by :meth:`predict`; the score is the mean over its points of
        the log of the probability of the chosen label. It needs no true labels, so
        ``GridSearchCV`` can use it without ``scoring=``; it measures the model's
        confidence, not accuracy (a model that writes one label for every point may be
        confident and wrong).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), list of images, or list of texts
        y : Ignored

        Returns
        -------
        score : float
            At most 0.
        """
        probabilities = self._label_new_points(X)[1]
        chosen = probabilities.max(axis=1)
        return float(np.mean(np.log(np.clip(chosen, np.finfo(np.float64).tiny, None))))

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_fit_details", None)  # prompts may hold image embeddings (tensors)
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.temperature > 0
        return tags


def _anchors_leave_room(anchors, new, n_clusters, loaded, spec):
    """Whether the anchors and the first chunk of new points fit one prompt."""
    return prompt_fits(loaded, spec.build(np.concatenate([anchors, new]), n_clusters, loaded), n_clusters)
