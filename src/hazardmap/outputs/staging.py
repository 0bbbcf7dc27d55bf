"""Write a folder of outputs completely, beside its target, then move it into place.

A run that fails, is interrupted (Ctrl-C) or is killed while writing leaves the previous
outputs whole: the new files go into a hidden staging folder beside the target, which
replaces the target only once every file is written. The replacement is two renames (the
old folder aside, the new one in). One run at a time writes a target: each holds an OS lock
on ``.<name>.lock`` beside it, which the OS releases when the run dies. So whatever
``.<name>.new-*`` / ``.<name>.old-*`` folder the lock holder finds was left by a dead run:
:func:`recover` puts the old folder back and removes the rest.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import stat
import threading
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

from filelock import FileLock, Timeout

from hazardmap.errors import HazardmapError, OutputError
from hazardmap.outputs.target import (
    MARKER,
    check_replaceable,
    folder_entries,
    marker_content,
)

_LOCKS: dict[str, FileLock] = {}
_LOCKS_GUARD = threading.Lock()


def lock_file(target: Path) -> Path:
    """The lock file of ``target``: ``.<name>.lock`` beside it."""
    return target.parent / f".{target.name}.lock"


def _write_error(target: Path, exc: OSError) -> OutputError:
    reason = exc.strerror or str(exc) or type(exc).__name__
    return OutputError(
        f"{target}: cannot write the outputs ({reason}); the previous outputs are unchanged; "
        "free some disk space or check the folder's permissions"
    )


def _shared_lock(path: Path) -> FileLock:
    """One FileLock per lock file in this process, so a thread may nest ``output_lock``."""
    key = str(path)
    with _LOCKS_GUARD:
        if key not in _LOCKS:
            _LOCKS[key] = FileLock(key, timeout=0)
        return _LOCKS[key]


@contextlib.contextmanager
def output_lock(target: Path) -> Iterator[Path]:
    """Hold the OS lock of ``target`` (yielding the lock file), or fail at once.

    The lock is re-entrant within a thread; another process or thread that holds it makes
    this raise :class:`OutputError`. The zero-byte lock file stays behind on release.
    """
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        path = lock_file(target.parent.resolve() / target.name)
        lock = _shared_lock(path)
        lock.acquire(timeout=0)
    except Timeout:
        raise OutputError(
            f"{target}: another hazardmap run is writing there (lock {path}); "
            "wait for it to finish or choose another folder"
        ) from None
    except OSError as exc:
        raise _write_error(target, exc) from exc
    try:
        yield path
    finally:
        lock.release()


def _leftover_pattern(target: Path) -> re.Pattern[str]:
    return re.compile(rf"\.{re.escape(target.name)}\.(?P<kind>new|old)-\d+-[A-Za-z0-9_]+")


def interrupted(target: Path) -> list[Path]:
    """The staging and set-aside folders of interrupted runs beside ``target``, untouched.

    For reporting (`validate`); :func:`recover` acts on them while holding the lock.
    """
    pattern = _leftover_pattern(target)
    try:
        entries = list(target.parent.iterdir())
    except OSError:  # a missing parent: nothing was left there
        return []
    return sorted(entry for entry in entries if pattern.fullmatch(entry.name))


def recover(target: Path) -> None:
    """Undo what dead runs left beside ``target``; call it while holding :func:`output_lock`.

    If ``target`` is missing and a set-aside (``.old-``) folder holds it, move it back; then
    remove every leftover.
    """
    leftovers = interrupted(target)
    pattern = _leftover_pattern(target)
    set_aside = [
        path / target.name
        for path in leftovers
        if (found := pattern.fullmatch(path.name)) and found["kind"] == "old"
    ]
    kept = [path for path in set_aside if path.exists()]
    if kept and not (target.exists() or target.is_symlink()):
        newest = max(kept, key=lambda path: path.lstat().st_mtime)
        try:
            os.replace(newest, target)
        except OSError as exc:
            raise OutputError(
                f"{target}: cannot restore the outputs an interrupted run set aside in "
                f"{newest.parent} ({exc.strerror or exc}); move {newest} back to {target}"
            ) from None
    for path in leftovers:
        _remove(path)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _written_by() -> str:
    try:
        version = metadata.version("hazardmap")
    except metadata.PackageNotFoundError:
        version = "(version unknown)"
    return f"hazardmap {version}"


def _write_marker(staging: Path) -> None:
    """Write :data:`MARKER` last, listing every entry of ``staging``: a later run may replace
    the folder only while it holds nothing else."""
    content = marker_content(_written_by(), folder_entries(staging))
    (staging / MARKER).write_text(content, encoding="utf-8")


@contextlib.contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """Yield a fresh folder beside ``target``; on success it replaces ``target``.

    Takes :func:`output_lock` (a no-op if this thread holds it already) and runs
    :func:`recover` first. On any exception before the new folder is in place the staging
    folder is removed and the previous outputs stay whole; an ``OSError`` (full disk,
    permissions) becomes :class:`OutputError`. Once it is in place, the run has succeeded:
    nothing raised while the old folder is removed (even Ctrl-C) is reported.

    The new folder gets the mode of ``target`` if it exists, else the mode ``mkdir`` gives
    (0o777 minus the umask), never ``tempfile.mkdtemp``'s private 0o700.
    """
    with output_lock(target):
        recover(target)
        try:
            mode = stat.S_IMODE(target.stat().st_mode) if target.is_dir() else None
            staging = _make_folder(target, "new", 0o700 if mode is not None else 0o777)
        except OSError as exc:
            raise _write_error(target, exc) from exc
        try:
            yield staging
            _write_marker(staging)
            if mode is not None:  # last: the target's mode may not let us write
                os.chmod(staging, mode)
            check_replaceable(target)  # again: a file may have been added since the run began
            _swap(staging, target)
        except HazardmapError:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise _write_error(target, exc) from exc
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


def _prefix(target: Path, kind: str) -> str:
    return f".{target.name}.{kind}-{os.getpid()}-"


def _make_folder(target: Path, kind: str, mode: int) -> Path:
    """A new folder ``.<name>.<kind>-<pid>-<random>`` beside ``target``, made by ``mkdir``
    with ``mode`` (less the umask, as any ``mkdir``)."""
    for _ in range(100):
        path = target.parent / f"{_prefix(target, kind)}{secrets.token_hex(6)}"
        try:
            os.mkdir(path, mode)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(errno.EEXIST, "no free name for a staging folder", str(target.parent))


def _swap(staging: Path, target: Path) -> None:
    """Move ``staging`` to ``target`` by two renames, putting the old folder back on failure.

    Whatever is raised once ``staging`` is in place (checked by its name being gone, so an
    interrupt just after the rename counts too) is ignored: the run has completed, and what
    is left of the old folder is removed by the next run's :func:`recover`."""
    if not (target.exists() or target.is_symlink()):
        try:
            os.replace(staging, target)
        except BaseException:
            if os.path.lexists(staging):
                raise
        return
    retired = _make_folder(target, "old", 0o700)
    aside = retired / target.name
    try:
        os.replace(target, aside)
        os.replace(staging, target)
    except BaseException:
        if os.path.lexists(staging):  # the new folder is not in place: put the old one back
            if os.path.lexists(aside) and not os.path.lexists(target):
                os.replace(aside, target)  # if this fails too, recover() restores it
            shutil.rmtree(retired, ignore_errors=True)
            raise
    with contextlib.suppress(BaseException):  # even Ctrl-C: the outputs are in place
        shutil.rmtree(retired, ignore_errors=True)
