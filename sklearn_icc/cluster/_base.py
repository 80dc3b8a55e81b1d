"""What every LLM clustering estimator shares: parameters, input checks, the resolved runtime."""

from __future__ import annotations

import os
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ..runtime import POINT_FORMATS, PROMPT_TEMPLATES, PromptTemplate
from ..runtime.model.devices import DTYPE_NAMES
from ..runtime.decoding.constrained import prompt_fits
from ..runtime.spec import ModelSpec, PromptSpec, is_texts
from ..runtime.prompts.texts import cut_texts
from ..vision import ImageEncoder, load_images, looks_like_images
from ._texts import looks_like_texts, validate_texts


# The decoding parameters of InContextClustering, shared with in_context_clustering_many.
DECODING_CONSTRAINTS = {
    "temperature": [Interval(Real, 0, None, closed="left")],
    "n_orderings": [Interval(Integral, 1, None, closed="left")],
    "chunk_size": [Interval(Integral, 1, None, closed="left"), None],
}


class _BaseLLMClustering(ClusterMixin, BaseEstimator):
    """Base class of :class:`InContextClustering` and :class:`AttentionSpectralClustering`.

    Holds the parameters that choose the model and write the prompt, their constraints,
    the validation of the points, and the resolution of those parameters into a loaded
    model and a :class:`~sklearn_icc.runtime.spec.PromptSpec`, once per ``fit`` or
    ``predict``.
    """

    _parameter_constraints: dict = {
        "n_clusters": [Interval(Integral, 1, None, closed="left"), None],
        "max_clusters": [Interval(Integral, 2, None, closed="left")],
        "model": [str, os.PathLike],
        "adapter": [str, os.PathLike, None],
        "condition": [str, None],
        "prompt": [StrOptions(set(PROMPT_TEMPLATES)), PromptTemplate],
        "point_format": [StrOptions(set(POINT_FORMATS))],
        "random_state": ["random_state"],
        "device": [str],
        "dtype": [StrOptions(set(DTYPE_NAMES))],
        "image_encoder": [ImageEncoder, None],
        "max_text_tokens": [Interval(Integral, 1, None, closed="left"), None],
        "verbose": ["verbose"],
    }

    def __init__(self, n_clusters, *, max_clusters, model, adapter, condition, prompt, point_format, random_state,
                 device, dtype, image_encoder, max_text_tokens, verbose):
        self.n_clusters = n_clusters
        self.max_clusters = max_clusters
        self.model = model
        self.adapter = adapter
        self.condition = condition
        self.prompt = prompt
        self.point_format = point_format
        self.random_state = random_state
        self.device = device
        self.dtype = dtype
        self.image_encoder = image_encoder
        self.max_text_tokens = max_text_tokens
        self.verbose = verbose

    def _validate_points(self, X, *, reset=True):
        """``X`` as the runtime takes it: float64 rows, a list of RGB PIL images, or texts
        (a 1-D object array of str).

        Rejects NaN and inf, empty and 1-D numeric input, sparse matrices and, on fit,
        fewer points than ``n_clusters``. Numeric data sets ``n_features_in_`` (and on
        ``reset=False`` must match it); images and texts have no features. Strings are
        image paths with an ``image_encoder``, else texts.
        """
        if self.image_encoder is not None:
            images = load_images(X)
            if reset:
                if self.n_clusters is not None and len(images) < self.n_clusters:
                    raise ValueError(f"n_samples={len(images)} should be >= n_clusters={self.n_clusters}.")
                if hasattr(self, "n_features_in_"):
                    del self.n_features_in_
            return images
        if looks_like_texts(X) and not _holds_images(X):
            return self._validate_texts(X, reset=reset)
        if not reset and is_texts(getattr(self, "X_fit_", None)):
            raise ValueError("This estimator was fitted on texts; predict takes texts too, not numeric data.")
        if looks_like_images(X):
            raise ValueError(
                "X holds images, but image_encoder is None; pass "
                "image_encoder=sklearn_icc.vision.ImageEncoder(...) to cluster images."
            )
        X = validate_data(self, X, dtype=np.float64, accept_sparse=False, ensure_min_samples=1, reset=reset)
        if reset and self.n_clusters is not None and X.shape[0] < self.n_clusters:
            raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={self.n_clusters}.")
        return X

    def _validate_texts(self, X, *, reset):
        texts = validate_texts(X, min_samples=(self.n_clusters or 1) if reset else 1)
        if reset and hasattr(self, "n_features_in_"):
            del self.n_features_in_
        if not reset and hasattr(self, "n_features_in_"):
            raise ValueError(
                f"This estimator was fitted on numeric data with {self.n_features_in_} features; "
                "predict takes the same kind of data, not texts."
            )
        return np.asarray(texts, dtype=object)

    def _check_texts(self, points, loaded, spec):
        """Warn how many texts are cut to ``max_text_tokens``; refuse a text that fills the
        context window on its own even after the cut. Other points pass unchanged."""
        if spec.images or not is_texts(points):
            return
        cut, n_cut = cut_texts(points, loaded.tokenizer, self.max_text_tokens)
        if n_cut:
            warnings.warn(
                f"Cut {n_cut} of the {len(points)} texts to their first max_text_tokens={self.max_text_tokens} "
                "tokens; raise max_text_tokens (or set None) to keep more of them.",
                UserWarning,
                stacklevel=3,
            )
        n_tokens = [len(ids) for ids in loaded.tokenizer(cut, add_special_tokens=False)["input_ids"]]
        longest = int(np.argmax(n_tokens))
        alone = spec.build(points[[longest]], self.n_clusters, loaded)
        if not prompt_fits(loaded, alone, 1):  # one point's answer is "[0]", whatever k
            raise ValueError(
                f"Text {longest} needs {alone.n_tokens} prompt tokens on its own even after cutting to "
                f"max_text_tokens={self.max_text_tokens}, more than the model's context window of "
                f"{loaded.context_length} tokens allows; lower max_text_tokens."
            )

    def _model_spec(self):
        return ModelSpec(model=self.model, adapter=self._language_model_adapter(), device=self.device,
                         dtype=self.dtype)

    def _language_model_adapter(self):
        """The LoRA adapter the language model loads with: ``adapter``, ``"auto"`` meaning none
        (no generation adapter ships)."""
        return None if isinstance(self.adapter, str) and self.adapter == "auto" else self.adapter

    def _prompt_spec(self):
        return PromptSpec.from_params(self.prompt, self.condition, self.point_format, self.image_encoder,
                                      self.max_text_tokens)

    def _resolve_runtime(self):
        """Load the model (once per process) and resolve the prompt settings: ``(loaded, spec)``."""
        return self._model_spec().load(), self._prompt_spec()

    def _record_runtime(self, loaded):
        """Record where the model ran: ``device_`` and ``dtype_`` as plain strings."""
        self.device_ = str(loaded.device)
        self.dtype_ = str(loaded.dtype).replace("torch.", "")

    def _new_points(self, X):
        """Validate the new points of ``predict`` against the fit."""
        check_is_fitted(self)
        return self._validate_points(X, reset=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        return tags


def _holds_images(X):
    """Whether a list beside strings holds images (PIL images, Path objects, pixel arrays):
    then it is meant as images, and without an ``image_encoder`` that is an error."""
    return isinstance(X, (list, tuple)) and looks_like_images([item for item in X if not isinstance(item, str)])
