"""Atomic file writes: every file rnnax saves (reports, plots, saved forecasters) goes through
here; training checkpoints use Orbax's atomic step folders instead.

``write_atomically(path, data)`` writes the bytes to a temporary file in the same directory,
flushes and fsyncs it, renames it over ``path`` with ``os.replace`` (atomic on POSIX and
Windows) and fsyncs the directory. A process killed at any moment, even with ``SIGKILL`` in the
middle of the write, leaves ``path`` as either the complete old file or the complete new one,
never a torn file. Temporary files are named ``.<name>.<host>-<pid>-<random>.tmp``: they never
look like the file itself, and (on POSIX) a later successful write of the same file removes those
left behind by writers on this host that no longer run.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import socket
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["temporary_files", "write_atomically"]

_SUFFIX = ".tmp"


def _write_payload(file: BinaryIO, data: bytes) -> None:
    """Writes the bytes (a separate function so tests can stall or fail it half-way)."""
    file.write(data)


def _host_tag() -> str:
    # A short, filename-safe tag of the host name: a process id only means something on its host.
    return hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


def _temporary_prefix(path: Path) -> str:
    return f".{path.name}."


def temporary_files(path: str | os.PathLike[str]) -> list[Path]:
    """The temporary files of interrupted writes of ``path`` still in its directory."""
    path = Path(path)
    prefix = _temporary_prefix(path)
    with contextlib.suppress(FileNotFoundError):
        return sorted(
            entry
            for entry in path.parent.iterdir()
            if entry.name.startswith(prefix) and entry.name.endswith(_SUFFIX)
        )
    return []


def _process_alive(pid: int) -> bool:
    if os.name != "posix":  # os.kill(pid, 0) would terminate the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but belongs to someone else (EPERM), or can't tell
        return True
    return True


def _remove_stale_temporaries(path: Path) -> None:
    """Removes temporaries of ``path`` left by dead writers on this host (best effort)."""
    host, own = _host_tag(), os.getpid()
    for entry in temporary_files(path):
        tag = entry.name[len(_temporary_prefix(path)) : -len(_SUFFIX)]
        parts = tag.split("-")
        if len(parts) != 3 or parts[0] != host or not parts[1].isdigit():
            continue
        pid = int(parts[1])
        if pid != own and not _process_alive(pid):
            with contextlib.suppress(OSError):
                entry.unlink()


def _open_temporary(path: Path) -> tuple[int, Path]:
    """Creates a new temporary file beside ``path``; the umask applies to its mode as usual."""
    prefix = f"{_temporary_prefix(path)}{_host_tag()}-{os.getpid()}-"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        temporary = path.parent / f"{prefix}{secrets.token_hex(6)}{_SUFFIX}"
        try:
            return os.open(temporary, flags, 0o666), temporary
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file beside {path}")


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; not possible (nor needed) on Windows.
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(
    path: str | os.PathLike[str],
    data: bytes | str,
    *,
    write: Callable[[BinaryIO, bytes], None] | None = None,
) -> None:
    """Writes ``data`` to ``path`` so that ``path`` is always either the old or the new file.

    The bytes go to a temporary file in the same directory, which is flushed and fsync'ed and
    then renamed over ``path`` with ``os.replace`` (atomic); the directory is fsync'ed so the
    rename survives a power cut. On any error the temporary file is removed and ``path`` is
    untouched; a process killed mid-write leaves only a temporary file, which the next write of
    ``path`` removes. A file that already exists keeps its permission bits; a new one gets the
    usual ``0o666`` minus the umask.

    Args:
        path: destination file; its directory must exist.
        data: the bytes to write (``str`` is encoded as UTF-8).
        write: ``write(file, data)`` writes the payload into the open temporary file
            (default: ``file.write(data)``); a hook for fault-injection tests.
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    fd, temporary = _open_temporary(path)
    try:
        with os.fdopen(fd, "wb") as file:
            (write or _write_payload)(file, payload)
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(temporary, stat.S_IMODE(os.stat(path).st_mode))
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _fsync_directory(path.parent)
    _remove_stale_temporaries(path)


def check_writable_folder(
    path: str | os.PathLike[str], name: str, error: type[ValueError] = ValueError
) -> Path:
    """Creates the folder ``path`` if needed and checks that a file can be written in it.

    Raises:
        ValueError: (or ``error``, a subclass) with a one-line reason naming ``name``, if it is
            a file or cannot be created or written.
    """
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise error(f"{name} {str(folder)!r} exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check-"):
            pass
    except OSError as failure:
        reason = failure.strerror or type(failure).__name__
        raise error(f"{name} {str(folder)!r} is not writable: {reason}") from None
    return folder
