"""Input checks and parameter constraints shared by every ICC estimator."""

from __future__ import annotations

import os
from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import validate_data

from ..runtime import POINT_FORMATS, PROMPT_TEMPLATES, PromptTemplate
from ..runtime.devices import DTYPE_NAMES

# The parameters of every estimator that writes points into a prompt.
PROMPT_PARAMETER_CONSTRAINTS = {
    "model": [str, os.PathLike],
    "adapter": [str, os.PathLike, None],
    "n_clusters": [Interval(Integral, 1, None, closed="left")],
    "condition": [str, None],
    "prompt": [StrOptions(set(PROMPT_TEMPLATES)), PromptTemplate],
    "point_format": [StrOptions(set(POINT_FORMATS))],
    "random_state": ["random_state"],
    "device": [str],
    "dtype": [StrOptions(set(DTYPE_NAMES))],
}


def validate_episode(estimator, X):
    """Validate one episode's points for ``estimator.fit``; return them as float64.

    Rejects NaN and inf, empty and 1-D input, strings, sparse matrices, and fewer
    points than ``estimator.n_clusters``; sets ``n_features_in_``.
    """
    X = validate_data(estimator, X, dtype=np.float64, accept_sparse=False, ensure_min_samples=1)
    if X.shape[0] < estimator.n_clusters:
        raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={estimator.n_clusters}.")
    return X


def prompt_settings(estimator):
    """The estimator parameters that choose the model and write the prompt, as keyword arguments."""
    names = ("model", "adapter", "condition", "prompt", "point_format", "device", "dtype")
    return {name: getattr(estimator, name) for name in names}


def set_runtime_state(estimator, loaded):
    """Record where the model ran: ``device_`` and ``dtype_`` as plain strings."""
    estimator.device_ = str(loaded.device)
    estimator.dtype_ = str(loaded.dtype).replace("torch.", "")
