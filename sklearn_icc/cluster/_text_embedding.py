"""ConditionedTextEmbedding: the conditioned reading of texts as a scikit-learn transformer."""

from __future__ import annotations

import os
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..runtime.model.devices import DTYPE_NAMES
from ..runtime.prompts.texts import DEFAULT_MAX_TEXT_TOKENS
from ..runtime.spec import ModelSpec
from ..runtime.prompts.questions import check_condition, condition_kind
from ._by_condition import MAX_PARTITIONED, partitioned_rows, read, reader_model_spec, reading_order, resolve_reader_adapter
from ._conditioned import CANDIDATES, DESIGNS, choose_design, conditioned_partition, design_features
from ._texts import looks_like_texts, validate_texts

DESIGN_NAMES = tuple(design.name for design in DESIGNS)


def chosen_design(reading, n_states, random_state, max_samples=MAX_PARTITIONED):
    """The design a fit with ``n_clusters=None`` would choose on an attitude condition's
    ``reading`` (of the texts in :func:`~sklearn_icc.cluster._by_condition.reading_order`,
    holding the opened slot), and each reading's agreement; beyond ``max_samples`` texts,
    chosen on a random sample of that many, as a fit of the same ``max_samples`` does
    (``None``: on every text)."""
    states = reading.states
    sample = partitioned_rows(len(next(iter(states.values()))), random_state, max_samples)
    part = states if sample is None else {slot: v[sample] for slot, v in states.items()}
    _, _, design, *_, agreement = conditioned_partition(part, n_states, None, 10, random_state, held=reading.layers)
    return design, agreement


class ConditionedTextEmbedding(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Embed texts by what the model answers about them: the conditioned reading.

    Each text is read on its own in a chat prompt that asks about ``condition``
    ("What is the sentiment of this text? Answer with one word."); its vector is the
    model's hidden state where it is about to answer, at the layers of ``design``, each
    layer's vector L2-normalised and centred on the fitted texts, then concatenated.
    Texts that answer alike lie close, so KMeans, HDBSCAN or BERTopic on these vectors
    group the texts by the condition, not by whatever a sentence encoder sees first.

    Read more in the :ref:`User Guide <texts_guide>`.

    Parameters
    ----------
    condition : str, default="topic"
        What to read the texts for ("sentiment", "by product", "how urgent it is"): a
        short phrase, at most
        :data:`~sklearn_icc.runtime.prompts.questions.MAX_CONDITION_TOKENS` tokens.
    design : {"auto", "prompt-last", "prompt-top-third", "text-last", "opened-last", \
            "opened-top-third"}, default="auto"
        Which states make the vector: at the answer slot, the final layer
        (``"prompt-last"``) or the last third of the layers concatenated
        (``"prompt-top-third"``); the same after the answer's opening ("Urgency:",
        ``"opened-last"``, ``"opened-top-third"``); or the mean of the text's own tokens
        at the final layer, standardised (``"text-last"``). ``"auto"``: ``"text-last"`` for a
        content-like condition ("topic", "product"), else the design
        :class:`AttentionSpectralClustering` would choose on the fitted texts with
        ``n_clusters=None``: of the plain and the opened reading, the one whose two
        designs partition the texts more alike, and within it the design whose cosine
        affinity has the larger eigengap (k estimated from the eigengap); the one used
        is ``design_``.
    model : str or path, default="default"
        The LLM (see :class:`AttentionSpectralClustering`).
    adapter : "auto", str, path or None, default="auto"
        The LoRA adapter of the reading: ``"auto"`` is the trained reader shipped for
        the default model (none for another ``model``), ``None`` the zero-shot reading,
        a folder a LoRA adapter on top of ``model``; the one used is ``adapter_``.
    device : str, default="auto"
    dtype : {"auto", "float32", "float16", "bfloat16"}, default="auto"
    max_text_tokens : int or None, default=128
        Each text is cut to this many tokens (with a warning).
    max_samples : int or None, default=2000
        With ``design="auto"`` and an attitude-like condition, a fit of more texts than
        this chooses the design on a random sample of ``max_samples`` of them (drawn with
        ``random_state``), as :class:`AttentionSpectralClustering` of the same
        ``max_samples`` does; the centring is over every text. The choice partitions the
        texts it holds, so its time grows faster than they do and its memory with their
        square; ``None`` chooses on every text. At least 2. The sample is drawn with
        ``random_state``: left ``None``, two fits of the same texts may choose different
        designs; an int gives the same one every time.
    memory : str, path, joblib.Memory or None, default=None
        Where to keep the texts' reading (a folder, or an object with joblib's
        ``cache`` method): a later ``fit`` or ``transform`` of the same texts under the
        same condition, settings and model weights reuses it. The folder holds the
        texts too (in joblib's record of each call). ``None`` keeps nothing.
    random_state : int, RandomState instance or None, default=None
        Seeds the partitions that ``design="auto"`` compares for an attitude-like
        condition (an int gives the same design on every fit).
    verbose : int, default=0
        Above 0, a progress bar (on stderr) over the texts read, in ``fit`` and
        ``transform``.

    Attributes
    ----------
    design_ : ReadingDesign
        The design used.
    reading_agreement_ : dict
        With ``design="auto"`` and an attitude-like condition, each candidate reading's
        agreement (``{"prompt": ..., "opened": ...}``, the ARI between its two designs'
        partitions; the larger wins); else empty.
    center_ : ndarray of shape (n_slots * n_layers, 2, hidden_size)
        The mean and scale of each normalised layer vector over the fitted texts.
    n_features_out_ : int
        The length of each text's vector.
    adapter_ : str or None
        The reader's LoRA adapter folder (``adapter="auto"`` resolved), or ``None``
        for the zero-shot reading.
    device_, dtype_ : str
        Where the model ran.

    See Also
    --------
    AttentionSpectralClustering : Clusters texts by ``condition`` from the same reading.

    Examples
    --------
    >>> from sklearn.cluster import KMeans
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_icc import ConditionedTextEmbedding
    >>> texts = ["I love it", "Awful service", "Great value", "Never again"]
    >>> pipe = make_pipeline(ConditionedTextEmbedding("sentiment", model=tiny_model_path), KMeans(2, n_init=3))
    >>> pipe.fit_predict(texts).shape
    (4,)
    >>> pipe[0].get_feature_names_out()[:2].tolist()
    ['conditionedtextembedding0', 'conditionedtextembedding1']
    """

    _parameter_constraints: dict = {
        "condition": [str],
        "design": [StrOptions({"auto", *DESIGN_NAMES})],
        "model": [str, os.PathLike],
        "adapter": [str, os.PathLike, None],
        "device": [str],
        "dtype": [StrOptions(set(DTYPE_NAMES))],
        "max_text_tokens": [Interval(Integral, 1, None, closed="left"), None],
        "max_samples": [Interval(Integral, 2, None, closed="left"), None],
        "memory": [str, os.PathLike, HasMethods(["cache"]), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(self, condition="topic", *, design="auto", model="default", adapter="auto", device="auto",
                 dtype="auto", max_text_tokens=DEFAULT_MAX_TEXT_TOKENS, max_samples=MAX_PARTITIONED, memory=None,
                 random_state=None, verbose=0):
        self.condition = condition
        self.design = design
        self.model = model
        self.adapter = adapter
        self.device = device
        self.dtype = dtype
        self.max_text_tokens = max_text_tokens
        self.max_samples = max_samples
        self.memory = memory
        self.random_state = random_state
        self.verbose = verbose

    # the estimator-side helpers of the conditioned reading (see _by_condition.read)
    image_encoder = None

    def _model_spec(self):
        return ModelSpec(model=self.model, adapter=self.adapter, device=self.device, dtype=self.dtype)

    def _read(self, X, opened=False, in_order=None):
        """Read the texts ``X`` (``in_order(texts)``: read them in that order); return
        ``(loaded, reading, n_states, order)``."""
        if not looks_like_texts(X):
            raise TypeError("ConditionedTextEmbedding embeds texts: X must be a list, 1-D array or pandas Series "
                            f"of strings, got {type(X).__name__} without strings.")
        texts = validate_texts(X)
        order = np.arange(len(texts)) if in_order is None else in_order(texts)
        loaded = reader_model_spec(self).load()
        reading, n_states = read(self, loaded, [texts[i] for i in order], opened=opened, stacklevel=5)
        return loaded, reading, n_states, order

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Read ``X``, choose the design and centring, and return the texts' vectors.

        Parameters
        ----------
        X : list, 1-D array or pandas Series of str
        y : Ignored

        Returns
        -------
        embedding : ndarray of shape (n_samples, n_features)
            ``n_features`` is ``n_features_out_``.
        """
        design = next((d for d in DESIGNS if d.name == self.design), None)
        self.adapter_ = resolve_reader_adapter(self)
        kind = condition_kind(check_condition(self.condition))
        choose = design is None and kind == "attitude"  # between the plain and the opened reading, as a fit would
        # read and chosen in the fit's order (sorted by text), whatever the texts' order
        loaded, reading, n_states, order = self._read(
            X, opened=choose or (design is not None and "opened" in design.slots), in_order=reading_order)
        self.reading_agreement_ = {}
        if choose:
            design, self.reading_agreement_ = chosen_design(reading, n_states, check_random_state(self.random_state),
                                                                   self.max_samples)
            F, center = design_features(reading.states, design, n_states, held=reading.layers)
        elif design is None:
            design, F, center, _, _ = choose_design(reading.states, n_states, None, 10, CANDIDATES[kind],
                                                    held=reading.layers)
        else:
            F, center = design_features(reading.states, design, n_states, held=reading.layers)
        self.design_, self.center_, self.n_features_out_ = design, center, F.shape[1]
        self.device_ = str(loaded.device)
        self.dtype_ = str(loaded.dtype).replace("torch.", "")
        return F[np.argsort(order, kind="stable")]

    def fit(self, X, y=None):
        """Read ``X`` once to choose the design and the centring.

        Parameters
        ----------
        X : list, 1-D array or pandas Series of str
        y : Ignored

        Returns
        -------
        self : ConditionedTextEmbedding
        """
        self.fit_transform(X)
        return self

    def transform(self, X):
        """The vectors of new texts, under the fitted design and centring.

        Parameters
        ----------
        X : list, 1-D array or pandas Series of str

        Returns
        -------
        embedding : ndarray of shape (n_samples, n_features)
            ``n_features`` is ``n_features_out_``.
        """
        check_is_fitted(self)
        _, reading, n_states, _ = self._read(X, opened="opened" in self.design_.slots)
        F, _ = design_features(reading.states, self.design_, n_states, center=self.center_, held=reading.layers)
        return F

    @property
    def _n_features_out(self):
        return self.n_features_out_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.requires_fit = True
        return tags
