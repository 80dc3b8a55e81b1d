"""The verified cache of GGUF files converted to safetensors: one copy per model, rebuilt when broken.

A converted model lives in ``cache_dir()/models/gguf-<key>``, where ``key`` is a hash of
the GGUF file's content, so every path to the same file (another virtual environment,
a copy) shares one folder. Its ``manifest.json`` lists the size and xxh3-128 hash of
every file the conversion wrote; a folder is used only if all of them match. One that
fails the check is rebuilt from the GGUF file, with a warning naming it.

Conversions take a file lock on the cache (one at a time across processes: a second
process waits, then loads the first one's result), are written into a hidden
``.converting-*`` folder and renamed into place once complete, so a crash or a kill
leaves no folder that looks done. Leftovers of such crashes are swept under the lock.
"""

from __future__ import annotations

import json
import mmap
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path

from .atomic import current_umask, fsync_dir, write_json_atomic

CACHE_ENV = "SKLEARN_ICC_CACHE"
MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
# Files without which the folder cannot load; the manifest must list them.
REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")
LOCK_FILE = ".convert.lock"
LEFTOVER_PREFIXES = (".converting-", ".broken-")
_CHUNK = 1 << 24
_content_keys = {}


def cache_dir():
    """Return the folder that holds converted models (created on demand).

    ``SKLEARN_ICC_CACHE`` if set, else the platform's user cache folder for
    ``sklearn-icc`` (``$XDG_CACHE_HOME/sklearn-icc``, by default
    ``~/.cache/sklearn-icc``, on Linux).
    """
    root = os.environ.get(CACHE_ENV)
    if root:
        return Path(root).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("sklearn-icc", appauthor=False))


def file_digest(path):
    """The xxh3-128 hex digest of a file's content (0.13 s for 538 MB in the page cache)."""
    import xxhash

    digest = xxhash.xxh3_128()
    with open(path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            return digest.hexdigest()
        # Hashing the mapped pages skips the copy that read() makes: half the time.
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            view = memoryview(mapped)
            try:
                for start in range(0, len(view), _CHUNK):
                    digest.update(view[start : start + _CHUNK])
            finally:
                view.release()
    return digest.hexdigest()


def gguf_content_key(gguf_path):
    """A key for the cache folder of ``gguf_path``: the hash of its content, not its path.

    Remembered per process for an unchanged file (same inode, size and mtime).
    """
    stat = os.stat(gguf_path)
    seen = (os.path.realpath(gguf_path), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if seen not in _content_keys:
        _content_keys[seen] = file_digest(gguf_path)
    return _content_keys[seen]


def converted_gguf_dir(gguf_path):
    """Return the verified cache folder of a GGUF file converted to safetensors, converting once.

    A folder that fails its check (a file missing, truncated or changed, no manifest)
    is rebuilt, with a warning; a folder is never returned unverified.
    """
    gguf_path = Path(gguf_path)
    key = gguf_content_key(gguf_path)
    models = cache_dir() / "models"
    target = models / f"gguf-{key[:24]}"
    if check_cache(target) is None:
        _sweep_if_free(models)
        return target
    from filelock import FileLock

    models.mkdir(parents=True, exist_ok=True)  # mode 0777 less the umask
    with FileLock(models / LOCK_FILE):
        # While this process waited, another may have converted it.
        problem = check_cache(target)
        if problem is None:
            return target
        _sweep_leftovers(models)
        if target.exists():
            warnings.warn(
                f"The converted model in {target} failed its check ({problem}); rebuilding it from {gguf_path}.",
                RuntimeWarning,
                stacklevel=3,
            )
        _build(gguf_path, key, target)
    problem = check_cache(target)
    if problem is not None:  # pragma: no cover - only if the disk changed it at once
        raise RuntimeError(f"The freshly converted model in {target} fails its check ({problem}).")
    return target


def check_cache(folder):
    """Return why ``folder`` is not a complete, unchanged conversion, or ``None`` if it is."""
    folder = Path(folder)
    if not folder.is_dir():
        return "no such folder"
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError:
        return f"no {MANIFEST}"
    except (OSError, ValueError) as exc:
        return f"unreadable {MANIFEST}: {exc}"
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        return f"{MANIFEST} is not of format {MANIFEST_FORMAT}"
    files = manifest.get("files")
    if not isinstance(files, dict) or any(name not in files for name in REQUIRED_FILES):
        return f"{MANIFEST} does not list {', '.join(REQUIRED_FILES)}"
    # Sizes first: cheap, and they catch truncation and deletion before any hashing.
    for name, entry in files.items():
        try:
            size = (folder / name).stat().st_size
        except OSError:
            return f"{name} is missing"
        if not isinstance(entry, dict) or size != entry.get("size"):
            return f"{name} has {size} bytes, the manifest says {entry.get('size') if isinstance(entry, dict) else '?'}"
    for name, entry in files.items():
        if file_digest(folder / name) != entry.get("xxh3_128"):
            return f"{name} does not match its hash"
    return None


def _build(gguf_path, key, target):
    """Convert into a hidden folder, write its manifest, and rename it into place."""
    models = target.parent
    work = Path(tempfile.mkdtemp(prefix=f".converting-{target.name}-", dir=models))
    try:
        _convert_gguf(gguf_path, work)
        _write_manifest(work, gguf_path, key)
        if target.exists():  # a broken copy: move it aside (atomic), then delete it
            broken = Path(tempfile.mkdtemp(prefix=f".broken-{target.name}-", dir=models))
            os.replace(target, broken / "old")
            shutil.rmtree(broken, ignore_errors=True)
        os.replace(work, target)
        fsync_dir(models)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _write_manifest(folder, gguf_path, key):
    """Fix the permissions, fsync every file, and record what was written."""
    from ..._version import __version__

    umask = current_umask()
    os.chmod(folder, 0o777 & ~umask)  # mkdtemp makes it 0700; a cache follows the umask
    files = {}
    for path in sorted(folder.iterdir()):
        if not path.is_file():
            continue
        os.chmod(path, 0o666 & ~umask)
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
        files[path.name] = {"size": path.stat().st_size, "xxh3_128": file_digest(path)}
    fsync_dir(folder)
    manifest = {
        "format": MANIFEST_FORMAT,
        "source": {"file": gguf_path.name, "size": gguf_path.stat().st_size, "xxh3_128": key},
        "sklearn_icc_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "files": files,
    }
    write_json_atomic(folder / MANIFEST, manifest)


def _sweep_leftovers(models):
    """Delete what killed or crashed conversions left; call it holding the lock."""
    for path in models.iterdir():
        if path.name.startswith(LEFTOVER_PREFIXES) and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)


def _sweep_if_free(models):
    """Sweep leftovers if there are any and no conversion is running now."""
    if not any(path.name.startswith(LEFTOVER_PREFIXES) for path in models.iterdir()):
        return
    from filelock import FileLock, Timeout

    try:
        with FileLock(models / LOCK_FILE, timeout=0):
            _sweep_leftovers(models)
    except Timeout:
        pass  # a conversion is running: its own folder is not a leftover
    except OSError:
        pass  # a cache this user may read but not write: the verified model still loads


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
