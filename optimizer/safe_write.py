"""Writing files so that a crash, a full disk or a killed process leaves either the old file
or the new one, never half of one: write beside the target, flush to disk, then move the
new file over the old in one step (``os.replace``)."""
from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path


def _fsync(path: Path) -> None:
    with open(path, "rb+") as f:
        f.flush()
        os.fsync(f.fileno())


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX only; other systems cannot open a folder)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # PermissionError would mean another user's live process: let it stand
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        pass
    return True


def _sweep(path: Path) -> None:
    """Remove what a writer of ``path`` killed mid-write left behind (SIGKILL runs no cleanup):
    temporary files of ``path`` whose process is gone."""
    prefix, suffix = f".{path.name}.", f".tmp{path.suffix}"
    for left in path.parent.glob(f"{glob.escape(prefix)}*{glob.escape(suffix)}"):
        pid = left.name[len(prefix):-len(suffix)].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            left.unlink(missing_ok=True)


@contextlib.contextmanager
def replacing(path: Path | str) -> Iterator[Path]:
    """Give a temporary path beside ``path`` to write to; when the block ends, flush it to
    disk and move it over ``path`` in one step.

    Parameters
    ----------
    path : Path or str
        The file to create or replace. An existing file keeps its permissions.

    Yields
    ------
    Path
        A new file name in the same folder, ending in the same suffix (so writers that
        pick a format by suffix still work).

    Notes
    -----
    If the block raises (or the flush fails), ``path`` is left as it was and the temporary
    file is removed. A temporary file a killed writer left beside ``path`` is removed by
    the next write of ``path``.
    """
    path = Path(path)
    _sweep(path)
    temp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp{path.suffix}")
    try:
        yield temp
        _fsync(temp)
        if path.exists():
            shutil.copymode(path, temp)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    _fsync_folder(path.parent)
