"""Writing files without leaving anything half-written: temp file in the same folder, then rename.

``os.replace`` is atomic on POSIX when source and target are on the same file system, so a
reader (or a resumed sweep) sees either the old file or the complete new one. The engine's
result files (:mod:`empirical.results`) and every figure and JSON of :mod:`figures` are
written through these functions.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Sequence

__all__ = ["atomic_write_bytes", "check_parent", "write_json", "write_csv"]


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically.

    The file's folder is created if it is missing and its own parent exists (at most one new
    folder, never a chain of them: a mistyped path must not silently build directories).

    Raises:
        FileNotFoundError: the folder's parent does not exist either (see :func:`check_parent`).
        NotADirectoryError: the folder or its parent is a file.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "sub" / "x.txt"
        >>> atomic_write_bytes(p, b"hello").read_bytes()
        b'hello'
        >>> atomic_write_bytes(p.parent / "a" / "b" / "x.txt", b"hello")
        Traceback (most recent call last):
        FileNotFoundError: [Errno 2] ...: '.../sub/a'
    """
    target = Path(path)
    if check_parent(target):
        target.parent.mkdir()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual mode
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return target


def check_parent(path: str | os.PathLike[str]) -> bool:
    """Check that a file can be placed at ``path``; return whether its folder must be created.

    The folder of ``path`` must exist, or be missing with an existing parent (then it is the one
    folder :func:`atomic_write_bytes` creates). Nothing is created here, so a command can check
    its output path before it starts a long run.

    Raises:
        FileNotFoundError: neither the folder nor its parent exists (the error's filename is
            the first missing folder).
        NotADirectoryError: the folder, or its parent, exists and is not a directory.

    Example:
        >>> import tempfile, pathlib
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> check_parent(root / "x.txt"), check_parent(root / "new" / "x.txt")
        (False, True)
    """
    folder = Path(path).parent
    if folder.is_dir():
        return False
    for candidate in (folder, folder.parent):
        if candidate.exists() and not candidate.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "exists and is not a folder", str(candidate))
    if not folder.parent.is_dir():
        missing = folder.parent
        while not missing.parent.is_dir() and missing.parent != missing:
            missing = missing.parent
        raise FileNotFoundError(errno.ENOENT, "folder does not exist (only the last folder of an output "
                                "path is created)", str(missing))
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: str | os.PathLike[str], payload: Any) -> Path:
    """Write ``payload`` as indented JSON, atomically."""
    return atomic_write_bytes(path, (json.dumps(payload, indent=2, sort_keys=False) + "\n").encode())


def write_csv(path: str | os.PathLike[str], header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    """Write a CSV table with a header row, atomically."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return atomic_write_bytes(path, buffer.getvalue().encode())
