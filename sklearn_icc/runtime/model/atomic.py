"""Write files that are either whole or absent: a temporary file, fsync, then a rename.

A reader (the next process, a resumed run) never sees a half-written file: a crash
leaves the old file or none, plus at worst a hidden ``.tmp-*`` file beside it.
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


def current_umask():
    """The process's umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # no way to read it without setting it elsewhere
    os.umask(mask)
    return mask


def fsync_dir(path):
    """Make a rename or a new entry in folder ``path`` durable (a no-op where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_output(path):
    """Yield a binary handle on a hidden temporary file beside ``path``, renamed to it at the end.

    ``handle.name`` is the temporary file's path, for a check of what was written.
    On a clean exit the file is flushed, fsynced, given the permissions a plain ``open``
    gives and renamed to ``path``; on an exception (a failed check inside the block
    included) it is removed and ``path`` is left as it was.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".tmp-{path.name}-", dir=path.parent)
    os.close(fd)
    try:
        with open(tmp, "wb") as handle:  # reopened by name, so handle.name is the temporary path
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes it 0600
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_dir(path.parent)


def write_bytes_atomic(path, data):
    """Write ``data`` to ``path`` atomically, with the permissions a plain ``open`` gives."""
    with atomic_output(path) as handle:
        handle.write(data)


def write_text_atomic(path, text):
    """:func:`write_bytes_atomic` for text, encoded as UTF-8."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path, value):
    """:func:`write_text_atomic` of ``value`` as indented JSON."""
    write_text_atomic(path, json.dumps(value, indent=2) + "\n")
