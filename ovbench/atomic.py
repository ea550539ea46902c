"""Files appear whole or not at all: write to a temporary name in the same folder, then rename.

Temporary names carry the writer's host and process id (``.NAME.HOST-PID.XXXX.part``), so the next
writer of ``NAME`` can tell a file left by a killed process from one a live writer is still filling,
and sweeps the former.

Every file ovbench writes goes through :func:`atomic_path`, so it is also where a command's inputs are
guarded: inside :func:`inputs_protected`, no write replaces an input file (the same file, however it is
named: symlinks and hard links included) or an existing file in an input folder; and where an operating
system error (a folder in the way, a read-only or full disk) becomes one :class:`OvbenchError` naming
the path, with the earlier file untouched and no temporary file left.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import socket
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from ovbench.errors import OvbenchError, WriteError


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once at import: os.umask can only be read by setting it, which would race with writer threads.
_UMASK = _read_umask()
_MODE = 0o666 & ~_UMASK  # every file ovbench writes: results, checkpoints, figures alike
_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "host"


_PROTECTED_FILES: dict[tuple[int, int], str] = {}  # (device, inode) -> what it is, for the message
_PROTECTED_DIRS: list[tuple[Path, str]] = []


@contextlib.contextmanager
def inputs_protected(inputs: Iterable[tuple[str | os.PathLike | None, str]]) -> Iterator[None]:
    """Inside, writing over any of ``inputs`` ((path, what it is) pairs; folders cover the existing files
    under them; None and missing paths are skipped) is one :class:`OvbenchError` naming both."""
    files, dirs = dict(_PROTECTED_FILES), list(_PROTECTED_DIRS)
    for path, what in inputs:
        if path is None:
            continue
        try:
            st = os.stat(path)
        except OSError:
            continue
        if os.path.isdir(path):
            _PROTECTED_DIRS.append((Path(path).resolve(), f"a file of the {what} {path}"))
        else:
            _PROTECTED_FILES[st.st_dev, st.st_ino] = f"the {what} {path}"
    try:
        yield
    finally:
        _PROTECTED_FILES.clear()
        _PROTECTED_FILES.update(files)
        _PROTECTED_DIRS[:] = dirs


def refuse_replacing_an_input(path: Path) -> None:
    try:
        st = os.stat(path)
    except OSError:
        return  # nothing there to lose
    what = _PROTECTED_FILES.get((st.st_dev, st.st_ino))
    if what is None and _PROTECTED_DIRS:
        real = path.resolve()
        what = next((w for folder, w in _PROTECTED_DIRS if real.is_relative_to(folder)), None)
    if what is not None:
        raise OvbenchError(f"{path}: writing it would replace {what}, an input of this command; choose another path")


_HINTS = {
    errno.ENOSPC: "the disk is full; free space or write elsewhere",
    errno.EDQUOT: "the disk quota is exceeded; free space or write elsewhere",
    errno.EROFS: "the file system is read-only; write elsewhere",
    errno.EACCES: "no permission to write there; write elsewhere",
    errno.EPERM: "no permission to write there; write elsewhere",
    errno.EISDIR: "it is a folder; name a file",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
}


def cannot_write(path: str | os.PathLike, exc: OSError) -> WriteError:
    """One clear error for an OS error met while writing ``path``."""
    if isinstance(exc, WriteError):
        return exc
    if exc.errno == errno.EEXIST:  # from making the folders: one of them is a file
        return WriteError(f"{path}: cannot write (a part of the path is a file, not a folder)")
    hint = _HINTS.get(exc.errno, "")
    return WriteError(f"{path}: cannot write ({exc.strerror or exc}){'; ' + hint if hint else ''}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, fsync: bool = False, replace: bool = True) -> Iterator[Path]:
    """Yields a temporary path next to ``path``; on success it becomes ``path`` in one step.

    ``replace=False`` publishes only if ``path`` does not exist at that moment (a hard link, which
    fails atomically), raising :class:`FileExistsError` otherwise: the existence check and the write
    are one step, so of two writers racing for a new name exactly one wins. On any exception
    (Ctrl-C included) the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    if _PROTECTED_FILES or _PROTECTED_DIRS:
        refuse_replacing_an_input(path)
    if path.is_dir():
        raise cannot_write(path, IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR)))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _sweep_stale(path)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{_HOST}-{os.getpid()}.", suffix=".part")
        os.close(fd)
    except OSError as exc:
        raise cannot_write(path, exc) from None
    try:
        yield Path(tmp)
        os.chmod(tmp, _MODE)  # after writing: some writers (safetensors) recreate the file as 0600
        if fsync:
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            _publish_new(tmp, path)
    except FileExistsError:
        raise  # replace=False lost the race: the caller says what to do
    except OSError as exc:  # from the writer's body too: a full disk fails the write, not the rename
        raise cannot_write(path, exc) from None
    finally:
        with contextlib.suppress(OSError):
            if os.path.exists(tmp):
                os.unlink(tmp)


def _publish_new(tmp: str, path: Path) -> None:
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError:  # a filesystem without hard links: reserve the name exclusively, then fill it
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, _MODE))
        os.replace(tmp, path)


def _sweep_stale(path: Path) -> None:
    """Removes temporary files of ``path`` whose writer, a process on this host, no longer exists."""
    pattern = re.compile(rf"\.{re.escape(path.name)}\.{re.escape(_HOST)}-(\d+)\.[^.]+\.part")
    try:
        names = os.listdir(path.parent)
    except OSError:
        return
    for name in names:
        match = pattern.fullmatch(name)
        if match is None or _alive(int(match[1])):
            continue
        with contextlib.suppress(OSError):
            os.unlink(path.parent / name)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # another thread of this process may be writing it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def write_text(path: str | os.PathLike, text: str, *, replace: bool = True) -> Path:
    with atomic_path(path, fsync=True, replace=replace) as tmp:
        tmp.write_text(text)
    return Path(path)
