"""Models joined from chunk packages: found, joined once, checked, rebuilt, refused with a clear error."""

import dataclasses
import importlib
import os
import sys

import pytest

from sklearn_icc.runtime.model import chunked, sources
from sklearn_icc.runtime.model.cache import file_digest
from sklearn_icc.runtime.model.chunked import CHUNKED_MODELS, QWEN_CODER_15B, ChunkedModel, assembled_gguf


def write_parts(site, prefix, pieces):
    """Write each piece as the one part file of a package ``<prefix><i>``; return the spec's parts."""
    entries = []
    for i, data in enumerate(pieces, start=1):
        package = site / f"{prefix}{i}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "data" / f"part{i:02d}.bin").write_bytes(data)
        entries.append((f"{prefix}{i}", f"data/part{i:02d}.bin", len(data)))
    importlib.invalidate_caches()
    return tuple(entries)


@pytest.fixture
def parts(tmp_path, monkeypatch):
    """Three fake chunk packages on sys.path and the spec of the file they make."""
    monkeypatch.setenv("SKLEARN_ICC_CACHE", str(tmp_path / "cache"))
    site = tmp_path / "site"
    contents = [b"GGUF" + bytes(range(256)) * 3, bytes(range(255, -1, -1)) * 2, b"tail"]
    entries = write_parts(site, "icc_test_part", contents)
    monkeypatch.syspath_prepend(str(site))
    whole = b"".join(contents)
    (tmp_path / "whole.bin").write_bytes(whole)
    spec = ChunkedModel(name="test-chunked", display_name="Test-Chunked", extra="test-extra",
                        parts=entries, size=len(whole), digest=file_digest(tmp_path / "whole.bin"))
    yield spec, site, whole
    for i in range(1, 4):
        sys.modules.pop(f"icc_test_part{i}", None)


def test_joins_the_parts_once_into_the_cache(parts, tmp_path):
    spec, _, whole = parts
    path = assembled_gguf(spec)
    assert path == tmp_path / "cache" / "registry" / "test-chunked.gguf"
    assert path.read_bytes() == whole
    stamp = path.stat().st_mtime_ns
    assert assembled_gguf(spec) == path
    assert path.stat().st_mtime_ns == stamp  # checked, not joined again
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".tmp-")] == []


def test_a_changed_cached_file_is_rebuilt(parts):
    spec, _, whole = parts
    path = assembled_gguf(spec)
    data = bytearray(whole)
    data[10] ^= 0xFF  # same size, other content
    path.write_bytes(bytes(data))
    os.utime(path, ns=(1, 1))  # a new mtime, so the remembered hash is not reused
    assert assembled_gguf(spec).read_bytes() == whole


def test_a_missing_package_names_the_extra(parts):
    spec, _, _ = parts
    absent = ("icc_test_no_such_part", "data/part04.bin", 1)
    missing = dataclasses.replace(spec, parts=spec.parts + (absent,))
    with pytest.raises(ValueError, match=r"icc_test_no_such_part is not installed.*sklearn-icc\[test-extra\]"):
        assembled_gguf(missing)


def test_a_truncated_part_is_refused(parts):
    spec, site, _ = parts
    part = site / "icc_test_part2" / "data" / "part02.bin"
    part.write_bytes(part.read_bytes()[:-1])
    with pytest.raises(ValueError, match=r"part02.bin is \d+ \(expected \d+ bytes\).*--force-reinstall"):
        assembled_gguf(spec)


def test_a_changed_part_is_refused_and_nothing_is_left(parts, tmp_path):
    spec, site, _ = parts
    part = site / "icc_test_part1" / "data" / "part01.bin"
    data = bytearray(part.read_bytes())
    data[5] ^= 0xFF
    part.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="do not give the expected file"):
        assembled_gguf(spec)
    folder = tmp_path / "cache" / "registry"
    assert [p.name for p in folder.iterdir() if not p.name.startswith(".assemble")] == []


def test_the_model_name_resolves_through_the_parts(parts, monkeypatch):
    spec, _, whole = parts
    monkeypatch.setitem(CHUNKED_MODELS, spec.name, spec)
    source = sources.resolve_model_source(spec.name)
    assert (source.kind, source.name) == ("gguf", "Test-Chunked")
    assert open(source.location, "rb").read() == whole


def test_the_shipped_name_without_its_packages_says_how_to_install(monkeypatch):
    absent = dataclasses.replace(QWEN_CODER_15B, parts=(("icc_test_absent_part", "data/part01.bin", 1),))
    monkeypatch.setitem(CHUNKED_MODELS, QWEN_CODER_15B.name, absent)
    monkeypatch.setattr(chunked, "_checks", lambda path, spec: False)  # as if nothing were in the cache
    with pytest.raises(ValueError, match=r'pip install "sklearn-icc\[qwen\]"'):
        sources.resolve_model_source("qwen2.5-coder-1.5b-instruct")


def test_the_shipped_table_is_consistent():
    for spec in CHUNKED_MODELS.values():
        assert sum(size for _, _, size in spec.parts) == spec.size
        assert len({package for package, _, _ in spec.parts}) == len(spec.parts)
        assert len(spec.digest) == 32


def test_a_model_split_into_parts_loads_by_name(tmp_path, monkeypatch):
    from sklearn_icc.runtime import clear_model_cache, load_model
    from tests.runtime.model.test_cache import build_tiny_gguf

    monkeypatch.setenv("SKLEARN_ICC_CACHE", str(tmp_path / "cache"))
    whole = tmp_path / "tiny.gguf"
    build_tiny_gguf(whole)
    data = whole.read_bytes()
    cut = len(data) // 2
    site = tmp_path / "site"
    entries = write_parts(site, "icc_tiny_part", (data[:cut], data[cut:]))
    monkeypatch.syspath_prepend(str(site))
    spec = ChunkedModel(name="tiny-chunked", display_name="Tiny-Chunked", extra="tiny",
                        parts=entries, size=len(data), digest=file_digest(whole))
    monkeypatch.setitem(CHUNKED_MODELS, spec.name, spec)
    clear_model_cache()
    try:
        loaded = load_model("tiny-chunked", device="cpu")
        direct = load_model(str(whole), device="cpu")
        assert loaded.name == "Tiny-Chunked"
        for (name, a), (_, b) in zip(loaded.model.state_dict().items(), direct.model.state_dict().items()):
            assert (a == b).all(), name
    finally:
        clear_model_cache()
        for i in (1, 2):
            sys.modules.pop(f"icc_tiny_part{i}", None)
