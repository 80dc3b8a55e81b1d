"""Texts as the points of an episode: recognising and validating them (no torch here).

Strings are texts unless an ``image_encoder`` is given, in which case they are image
paths: a file name is never taken for an image because of how it looks.
"""

from __future__ import annotations

import numpy as np


def _as_object_array(X):
    """``X`` as a numpy array of objects, or ``None`` when it is not array-like."""
    if isinstance(X, (str, bytes)) or not hasattr(X, "__len__"):
        return None
    if hasattr(X, "to_numpy"):  # pandas Series or DataFrame
        X = X.to_numpy(dtype=object)
    try:
        return np.asarray(X, dtype=object)
    except ValueError:  # ragged nested lists
        return None


def looks_like_texts(X):
    """Whether ``X`` is meant as texts: array-like holding at least one string.

    True also for bad texts (strings mixed with numbers, a 2-D table of strings), so
    that :func:`validate_texts` names what is wrong rather than a float conversion
    failing further on.

    Examples
    --------
    >>> from sklearn_icc.cluster._texts import looks_like_texts
    >>> looks_like_texts(["a cat", "a dog"]), looks_like_texts([[0.1, 2.0]]), looks_like_texts("a cat")
    (True, False, False)
    """
    values = _as_object_array(X)
    if values is None or values.size == 0:
        return False
    if values.dtype.kind in "US":
        return True
    return any(isinstance(item, str) for item in values.ravel())


def validate_texts(X, *, min_samples=1):
    """Check that ``X`` is a 1-D sequence of non-blank strings; return them as a list of str.

    Parameters
    ----------
    X : list, tuple, 1-D ndarray of str or object, or pandas Series
        The texts, one per point.
    min_samples : int, default=1
        The fewest texts accepted (an estimator passes its ``n_clusters``).

    Returns
    -------
    list of str

    Raises
    ------
    TypeError
        When ``X`` is a string itself, or holds anything but strings (numbers, ``None``,
        bytes, missing values).
    ValueError
        When ``X`` is 2-D, too short, or holds empty or whitespace-only strings.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_icc.cluster._texts import validate_texts
    >>> validate_texts(np.array(["a cat", "a dog"]))
    ['a cat', 'a dog']
    >>> validate_texts(["a cat", 3.5])
    Traceback (most recent call last):
    ...
    TypeError: X mixes texts with other values: item 1 is float (3.5); every point must be a string.
    """
    if isinstance(X, (str, bytes)):
        raise TypeError("X is a single string; give the texts as a list of strings, one per point.")
    values = _as_object_array(X)
    if values is None:
        raise TypeError(f"X must be a list, array or pandas Series of strings, got {type(X).__name__}.")
    if values.ndim != 1:
        raise ValueError(
            f"X holds strings in an array of shape {values.shape}; texts must be a 1-D sequence "
            "(one string per point). For a table, pass its text column (df['text'] or X[:, 0])."
        )
    texts = []
    for i, item in enumerate(values):
        if isinstance(item, np.str_):
            item = str(item)
        if not isinstance(item, str):
            raise TypeError(
                f"X mixes texts with other values: item {i} is {type(item).__name__} ({item!r}); "
                "every point must be a string."
            )
        texts.append(item)
    blank = [i for i, text in enumerate(texts) if not text.strip()]
    if blank:
        shown = ", ".join(str(i) for i in blank[:10]) + (", ..." if len(blank) > 10 else "")
        raise ValueError(
            f"X holds {len(blank)} empty or whitespace-only text(s), at index {shown}; every text "
            "needs some content to be clustered."
        )
    if len(texts) < min_samples:
        raise ValueError(f"n_samples={len(texts)} should be >= n_clusters={min_samples}.")
    return texts
