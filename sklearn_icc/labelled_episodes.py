"""Labelled items (texts, images) and the clustering episodes drawn from them for training.

:class:`LabelledEpisodes` holds what every kind of item shares: label columns, one per
condition, and seeded episodes drawn from them. Subclasses turn their items into a
list first (:class:`~sklearn_icc.vision.ImageEpisodes`,
:class:`~sklearn_icc.finetune.TextEpisodes`).
"""

from __future__ import annotations

from numbers import Integral

import numpy as np


class LabelledEpisodes:
    """Items with one or more label columns, and seeded clustering episodes over them.

    Episode ``i`` (for a given seed) picks a condition (one label column), ``k`` of that
    column's classes (``k`` from ``n_clusters``), and ``n_samples`` (a range) items of those
    classes, each class at least once; its true clusters are the items' classes.

    Parameters
    ----------
    items : list
        The items, already checked by the subclass.
    label_columns : array-like or dict
        One label per item; or a dict ``{condition: labels}``, one column per condition
        (a key of ``None`` is an episode without a condition). Labels may be any
        hashable values.
    n_clusters : tuple of int, default=(2, 3, 4, 5)
    n_samples : (int, int), default=(10, 30)
    conditions : tuple, default=None
        The columns episodes are drawn from; ``None`` means all of them.
    item_name : str, default="item"
        What an item is called in error messages.
    """

    def __init__(self, items, label_columns, *, n_clusters=(2, 3, 4, 5), n_samples=(10, 30), conditions=None,
                 item_name="item"):
        self.items = list(items)
        n_items = len(self.items)
        columns = label_columns if isinstance(label_columns, dict) else {None: label_columns}
        if not columns:
            raise ValueError("label_columns is an empty dict; give at least one column of labels.")
        self.classes, self.labels = {}, {}
        for name, column in columns.items():
            if name is not None and (not isinstance(name, str) or not name.strip()):
                raise TypeError(f"A condition (label column name) must be a non-empty string or None, got {name!r}.")
            try:
                values = np.asarray(column)
            except ValueError:  # ragged: caught by the length check below
                values = np.asarray(column, dtype=object)
            if values.ndim != 1 or len(values) != n_items:
                lengths = {repr(n): len(np.atleast_1d(np.asarray(c, dtype=object))) for n, c in columns.items()}
                raise ValueError(
                    f"Every label column needs one label per {item_name} ({n_items} {item_name}s); "
                    f"the columns have lengths {lengths}."
                )
            classes, codes = np.unique(values.astype(str) if values.dtype == object else values, return_inverse=True)
            if len(classes) < 2:
                raise ValueError(
                    f"The label column {name!r} has {len(classes)} class; clustering episodes need at least 2."
                )
            self.classes[name], self.labels[name] = classes, codes.astype(np.int64)
        if conditions is None:
            conditions = tuple(columns)
        unknown = [c for c in conditions if c not in columns]
        if unknown or not conditions:
            raise ValueError(f"Unknown conditions {unknown}; the label columns are {list(columns)}.")
        self.conditions = tuple(conditions)
        ks = tuple(n_clusters)
        if not ks or any(not isinstance(k, Integral) or k < 2 for k in ks):
            raise ValueError(f"n_clusters must be a non-empty tuple of ints >= 2, got {n_clusters!r}.")
        low, high = n_samples
        if not (isinstance(low, Integral) and isinstance(high, Integral) and 2 <= low <= high):
            raise ValueError(f"n_samples must be (low, high) with 2 <= low <= high, got {n_samples!r}.")
        self.n_clusters, self.n_samples = ks, (int(low), int(high))

    def __len__(self):
        return len(self.items)

    def episode(self, index, seed=0, condition=...):
        """``(item indices, true clusters 0..k-1, condition)`` of episode ``index``.

        The same ``(seed, index)`` always gives the same episode. ``condition`` forces a
        column (``None`` is the unnamed one); by default it is drawn from ``conditions``.
        """
        rng = np.random.default_rng([int(seed), int(index)])
        if condition is ...:
            condition = self.conditions[rng.integers(len(self.conditions))]
        elif condition not in self.labels:
            raise ValueError(f"Unknown condition {condition!r}; the label columns are {list(self.labels)}.")
        codes = self.labels[condition]
        n_classes = len(self.classes[condition])
        k = min(int(rng.choice(self.n_clusters)), n_classes)
        chosen = rng.choice(n_classes, size=k, replace=False)
        pool = np.flatnonzero(np.isin(codes, chosen))
        n = min(int(rng.integers(self.n_samples[0], self.n_samples[1] + 1)), len(pool))
        n = max(n, k)
        firsts = np.array([rng.choice(np.flatnonzero(codes == c)) for c in chosen])
        rest = rng.choice(np.setdiff1d(pool, firsts), size=n - k, replace=False)
        indices = rng.permutation(np.concatenate([firsts, rest]))
        remap = {int(c): i for i, c in enumerate(chosen)}
        y = np.array([remap[int(codes[i])] for i in indices], dtype=np.int64)
        return indices.astype(np.int64), y, condition
