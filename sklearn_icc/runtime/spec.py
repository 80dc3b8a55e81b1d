"""The resolved settings of an episode: which model runs it, and how its prompt is written.

An estimator turns its parameters into a :class:`ModelSpec` and a :class:`PromptSpec`
once per ``fit`` or ``predict``; everything below takes the loaded model and the
prompt specification, never the raw setting strings again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .prompts.embedded import IMAGE_MARKERS, build_embedded_prompt
from .model.loading import load_model
from .prompts.templates import POINT_FORMATS, PromptTemplate, build_prompt, resolve_template
from .prompts.texts import DEFAULT_MAX_TEXT_TOKENS, build_text_prompt, resolve_text_template


@dataclass(frozen=True)
class ModelSpec:
    """Which model to load and where: the arguments of :func:`~sklearn_icc.runtime.load_model`.

    Small and picklable, so that worker processes can load the model themselves.
    ``model`` may also be a :class:`~sklearn_icc.runtime.LoadedModel`, used as it is.
    """

    model: object = "default"
    adapter: object = None
    device: str = "auto"
    dtype: str = "auto"
    device_map: object = None

    def load(self):
        """The :class:`~sklearn_icc.runtime.LoadedModel`, from the process's model cache."""
        return load_model(self.model, device=self.device, dtype=self.dtype, adapter=self.adapter,
                          device_map=self.device_map)


@dataclass(frozen=True)
class PromptSpec:
    """How an episode's points are written into its prompt.

    Parameters
    ----------
    template : PromptTemplate
        The system prompt and instruction.
    condition : str or None, default=None
        What to cluster by, written into the instruction.
    point_format : {"paper", "compact", "embedding"}, default="paper"
        How numeric points are written (see :func:`~sklearn_icc.runtime.encode_points`);
        ``"embedding"``: through the loaded adapter's point projector
        (:mod:`~sklearn_icc.runtime.prompts.point_embeddings`).
    image_encoder : ImageEncoder or None, default=None
        When set, the points are images: each becomes a span of projected embeddings.
    text_template : PromptTemplate or None, default=None
        The instruction for texts (points given as a 1-D object array of strings, as
        the estimators validate them); ``None`` is the paper's, worded for texts.
    max_text_tokens : int or None, default=128
        Each text is cut to this many tokens (see
        :func:`~sklearn_icc.runtime.prompts.texts.cut_texts`).

    Examples
    --------
    >>> from sklearn_icc.runtime.spec import PromptSpec
    >>> spec = PromptSpec.from_params("short", condition="size")
    >>> spec.template.system is None, spec.condition, spec.point_format
    (True, 'size', 'paper')
    """

    template: PromptTemplate
    condition: str | None = None
    point_format: str = "paper"
    image_encoder: object = None
    text_template: PromptTemplate | None = None
    max_text_tokens: int | None = DEFAULT_MAX_TEXT_TOKENS

    def __post_init__(self):
        if self.point_format not in POINT_FORMATS:
            raise ValueError(f"point_format must be one of {POINT_FORMATS}, got {self.point_format!r}.")

    @classmethod
    def from_params(cls, prompt="paper", condition=None, point_format="paper", image_encoder=None,
                    max_text_tokens=DEFAULT_MAX_TEXT_TOKENS):
        """Resolve an estimator's ``prompt`` (a name or a :class:`PromptTemplate`) and the rest."""
        return cls(resolve_template(prompt), condition, point_format, image_encoder, resolve_text_template(prompt),
                   max_text_tokens)

    @property
    def images(self):
        """Whether the points are images."""
        return self.image_encoder is not None

    @property
    def embeds_points(self):
        """Whether prompts carry embeddings (images, or numeric points with ``point_format="embedding"``),
        which only single-prompt decoding takes."""
        return self.images or self.point_format == "embedding"

    def encode(self, points, loaded):
        """The points as :meth:`build` takes them: numeric rows unchanged, images projected
        into ``loaded``'s embedding space (a tensor of shape (n, tokens, hidden))."""
        if not self.images:
            return points
        return self.image_encoder.encode(points, loaded)

    def build(self, encoded, n_clusters, loaded):
        """The :class:`~sklearn_icc.runtime.Prompt` of one episode, from :meth:`encode`'s output."""
        if is_texts(encoded) and not self.images:
            return build_text_prompt(list(encoded), n_clusters, loaded.tokenizer, template=self.text_template,
                                     condition=self.condition, max_text_tokens=self.max_text_tokens)[0]
        if not self.images and self.point_format == "embedding":
            from .prompts.point_embeddings import embedded_point_prompt

            return embedded_point_prompt(encoded, n_clusters, loaded, template=self.template,
                                         condition=self.condition)
        if not self.images:
            return build_prompt(encoded, n_clusters, loaded.tokenizer, template=self.template,
                                condition=self.condition, point_format=self.point_format)
        return build_embedded_prompt(encoded, n_clusters, loaded.tokenizer, template=self.template,
                                     condition=self.condition, markers=IMAGE_MARKERS)


def is_texts(points):
    """Whether validated points are texts: a 1-D object array (of strings)."""
    return isinstance(points, np.ndarray) and points.dtype == object and points.ndim == 1
