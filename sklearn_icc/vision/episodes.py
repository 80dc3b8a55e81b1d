"""Training episodes of labelled images: from an ImageFolder directory or from label columns."""

from __future__ import annotations

import os
from pathlib import Path

from ..labelled_episodes import LabelledEpisodes

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


class ImageEpisodes(LabelledEpisodes):
    """Labelled images, and the clustering episodes drawn from them for training.

    Episode ``i`` (for a given seed) picks a condition (one label column), ``k`` of that
    column's classes (``k`` from ``n_clusters``), and 10 to 30 images of those classes,
    each class at least once; its true clusters are the images' classes. With a named
    condition the prompt says "based on <condition>", so one set of images can teach
    several ways of grouping them.

    Parameters
    ----------
    images : list of PIL images, arrays or file paths, or an array (n, H, W[, C])
        As for an estimator with an ``image_encoder``.
    label_columns : array-like or dict
        One label per image; or a dict ``{condition: labels}``, one column per condition
        (a key of ``None`` is an episode without a condition). Labels may be any
        hashable values.
    n_clusters : tuple of int, default=(2, 3, 4, 5)
        The ``k`` an episode may have (capped by the column's number of classes).
    n_samples : (int, int), default=(10, 30)
        Inclusive range of images per episode (capped by the images available).
    conditions : tuple, default=None
        The columns episodes are drawn from; ``None`` means all of them.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_icc.vision import ImageEpisodes
    >>> images = np.zeros((12, 8, 8))
    >>> colour = ["red", "blue", "green"] * 4
    >>> shape = ["round", "square"] * 6
    >>> episodes = ImageEpisodes(images, {"colour": colour, "shape": shape}, n_samples=(4, 6))
    >>> episodes.conditions
    ('colour', 'shape')
    >>> indices, y, condition = episodes.episode(0)
    >>> len(indices) == len(y), condition in episodes.conditions, int(y.max()) + 1 >= 2
    (True, True, True)
    """

    def __init__(self, images, label_columns, *, n_clusters=(2, 3, 4, 5), n_samples=(10, 30), conditions=None):
        from .images import as_image_list

        super().__init__(as_image_list(images), label_columns, n_clusters=n_clusters, n_samples=n_samples,
                         conditions=conditions, item_name="image")

    @property
    def images(self):
        return self.items

    @classmethod
    def from_folder(cls, path, **kwargs):
        """Episodes from an ImageFolder layout: ``path/<class>/<image file>``, one subfolder per class.

        Images are read when first encoded; the class is the subfolder's name.
        """
        root = Path(os.fspath(path)).expanduser()
        if not root.is_dir():
            raise ValueError(f"{os.fspath(path)!r} is not a folder of class subfolders.")
        files, labels = [], []
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            found = sorted(f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
            files += [str(f) for f in found]
            labels += [folder.name] * len(found)
        if not files:
            raise ValueError(
                f"{str(root)!r} holds no images in class subfolders (ImageFolder layout: "
                f"{root}/<class>/<image>, with suffixes {', '.join(IMAGE_SUFFIXES)})."
            )
        return cls(files, labels, **kwargs)

