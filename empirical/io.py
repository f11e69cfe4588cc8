"""Writing files without leaving anything half-written: temp file in the same folder, then rename.

``os.replace`` is atomic on POSIX when source and target are on the same file system, so a
reader (or a resumed sweep) sees either the old file or the complete new one. The engine's
result files (:mod:`empirical.results`) and every figure and JSON of :mod:`figures` are
written through these functions.

**JSON is strict.** Every JSON text ``hsgd`` writes or prints comes from :func:`json_text`:
valid JSON (RFC 8259) that any strict parser reads. A float that is not finite, which
Python's ``json`` would write as the bare tokens ``Infinity``/``NaN``, is written as the
*string* ``"inf"``, ``"-inf"`` or ``"nan"`` (always these three, never ``null``: an infinite
ratio and an undefined one stay apart). :func:`read_json` reads such a text back, those three
strings becoming floats again.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

__all__ = ["atomic_write_bytes", "write_together", "check_parent", "check_writable", "write_json", "write_csv",
           "json_text", "read_json", "NON_FINITE"]

NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}
"""The strings that stand for the floats JSON has no number for (:func:`json_text`, :func:`read_json`)."""


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


def write_together(files: dict[str | os.PathLike[str], bytes]) -> list[Path]:
    """Write several files so that they appear together or not at all (a figure's PNG, PDF, JSON).

    Every file is first written in full to a temp file next to its target; only when all of
    them are written are they renamed into place, one ``os.replace`` each. If anything fails
    (a write, a full disk, an interrupt), the temp files are removed, and so are the targets
    already renamed in this call: no target is left from a group that did not complete.

    Returns:
        The targets, in the order given.

    Raises:
        Whatever the failed write or rename raised (an ``OSError``, ``KeyboardInterrupt``).

    Example:
        >>> import tempfile, pathlib
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> [p.name for p in write_together({root / "a.json": b"{}", root / "a.png": b"png"})]
        ['a.json', 'a.png']
    """
    targets = [Path(path) for path in files]
    temps: list[str] = []
    placed: list[Path] = []
    try:
        for target, data in zip(targets, files.values()):
            if check_parent(target):
                target.parent.mkdir(exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            temps.append(tmp)
            os.chmod(tmp, 0o666 & ~_umask())
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        for target, tmp in zip(targets, temps):
            os.replace(tmp, target)
            placed.append(target)
    except BaseException:
        for tmp in temps:
            if os.path.exists(tmp):
                os.unlink(tmp)
        for target in placed:
            target.unlink(missing_ok=True)
        raise
    return targets


def check_writable(folder: str | os.PathLike[str], names: Sequence[str] = ()) -> None:
    """Check, before any work, that files can be written into ``folder`` (which may be missing
    with an existing parent, see :func:`check_parent`): the folder (or, when missing, its
    parent) accepts a new file, and none of ``names`` inside it is a directory. Nothing is left
    behind (a probe file is created and removed).

    Raises:
        FileNotFoundError, NotADirectoryError: as :func:`check_parent`.
        IsADirectoryError: one of ``names`` is a directory (its path is the error's filename).
        PermissionError (or another ``OSError``): the folder does not accept a new file.

    Example:
        >>> import tempfile, pathlib
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> (root / "check.json").mkdir()
        >>> check_writable(root, ["check.json"])
        Traceback (most recent call last):
        IsADirectoryError: [Errno 21] is a folder, not a file: '.../check.json'
    """
    target = Path(folder)
    existing = target if not check_parent(target / "file") else target.parent
    for name in names:
        path = target / name
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", str(path))
    try:
        fd, probe = tempfile.mkstemp(prefix=".hsgd-write-check.", dir=existing)
    except OSError as err:  # named by the folder, not by the probe's random name
        raise type(err)(err.errno, f"cannot create a file in this folder ({err.strerror or err})",
                        str(existing)) from None
    os.close(fd)
    os.unlink(probe)


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


def _finite(obj: Any, default: Callable[[Any], Any] | None) -> Any:
    """``obj`` with every non-finite float replaced by its string of :data:`NON_FINITE` (and
    every object JSON does not know passed through ``default`` first, when given)."""
    if isinstance(obj, float):
        if math.isfinite(obj):
            return obj
        return "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if obj is None or isinstance(obj, (str, int)):
        return obj
    if isinstance(obj, dict):
        return {key: _finite(value, default) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(value, default) for value in obj]
    if default is not None:
        return _finite(default(obj), default)
    return obj  # json.dumps names the type it cannot write


def json_text(payload: Any, *, indent: int | None = 2, sort_keys: bool = False,
              default: Callable[[Any], Any] | None = None) -> str:
    """``payload`` as strict JSON text: the one JSON writer of ``hsgd`` (files and ``--json``).

    Non-finite floats become the strings ``"inf"``, ``"-inf"``, ``"nan"`` (see the module
    docstring), so the text never holds the bare tokens ``Infinity`` or ``NaN``.

    Args:
        payload: dicts, lists, tuples, strings, numbers, booleans and ``None``.
        indent: as for ``json.dumps`` (``None``: one line).
        sort_keys: as for ``json.dumps``.
        default: turns an object JSON does not know into one it does (as for ``json.dumps``).

    Raises:
        TypeError: an object JSON does not know (and ``default`` does not convert).

    Example:
        >>> json_text({"ratio": float("inf"), "ci": [float("nan"), 1.5]}, indent=None)
        '{"ratio": "inf", "ci": ["nan", 1.5]}'
        >>> read_json('{"ratio": "inf"}')["ratio"]
        inf
    """
    return json.dumps(_finite(payload, default), indent=indent, sort_keys=sort_keys, allow_nan=False)


def _numbers(obj: Any) -> Any:
    if isinstance(obj, str):
        return NON_FINITE.get(obj, obj)
    if isinstance(obj, dict):
        return {key: _numbers(value) for key, value in obj.items()}
    if isinstance(obj, list):
        return [_numbers(value) for value in obj]
    return obj


def read_json(text: str | bytes) -> Any:
    """Parse JSON text written by :func:`json_text`: the strings ``"inf"``, ``"-inf"``, ``"nan"``
    become floats again.

    Raises:
        json.JSONDecodeError: the text is not JSON (a ``ValueError``).
    """
    return _numbers(json.loads(text))


def write_json(path: str | os.PathLike[str], payload: Any) -> Path:
    """Write ``payload`` as indented strict JSON (:func:`json_text`), atomically."""
    return atomic_write_bytes(path, (json_text(payload) + "\n").encode())


def write_csv(path: str | os.PathLike[str], header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    """Write a CSV table with a header row, atomically."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return atomic_write_bytes(path, buffer.getvalue().encode())
