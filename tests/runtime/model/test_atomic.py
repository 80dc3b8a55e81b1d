import json
import os
import stat

import pytest

from sklearn_icc.runtime.model import atomic
from sklearn_icc.runtime.model.atomic import write_bytes_atomic, write_json_atomic, write_text_atomic


def test_writes_whole_files_with_the_umask_permissions(tmp_path):
    path = tmp_path / "card.json"
    old = os.umask(0o027)
    try:
        write_json_atomic(path, {"a": [1, 2]})
        assert stat.S_IMODE(path.stat().st_mode) == 0o640
        assert atomic.current_umask() == 0o027
    finally:
        os.umask(old)
    assert json.loads(path.read_text()) == {"a": [1, 2]}
    write_text_atomic(path, "replaced\n")
    assert path.read_text() == "replaced\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["card.json"]


def test_a_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "state.json"
    write_bytes_atomic(path, b"old")

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        write_bytes_atomic(path, b"new, half written")
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]
