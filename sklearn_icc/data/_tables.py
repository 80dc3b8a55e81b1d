"""Reading the shipped CSV tables of labelled texts."""

from __future__ import annotations

import csv
from importlib import resources

import numpy as np


def read_table(name, columns):
    """The shipped CSV ``name`` (``#`` lines are its header comment): the texts, then one
    array of labels per further column; ``ValueError`` unless its columns are ``columns``."""
    source = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    rows = list(csv.reader(line for line in source.splitlines() if not line.startswith("#")))
    header, rows = rows[0], rows[1:]
    if header != columns or any(len(row) != len(columns) for row in rows):
        raise ValueError(f"{name} is malformed: expected the columns {', '.join(columns)}.")
    texts = [row[0] for row in rows]
    return (texts, *(np.array([row[j] for row in rows]) for j in range(1, len(columns))))
