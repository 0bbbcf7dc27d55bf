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

import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

from filelock import FileLock, Timeout

from hazardmap.errors import HazardmapError, OutputError
from hazardmap.outputs.target import MARKER

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


@contextmanager
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


def _marker_note() -> str:
    try:
        version = metadata.version("hazardmap")
    except metadata.PackageNotFoundError:
        version = "(version unknown)"
    return f"written by hazardmap {version}; this folder is replaced by the next run\n"


@contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """Yield a fresh folder beside ``target``; on success it replaces ``target``.

    Takes :func:`output_lock` (a no-op if this thread holds it already) and runs
    :func:`recover` first. On any exception the staging folder is removed and the previous
    outputs stay whole; an ``OSError`` (full disk, permissions) becomes :class:`OutputError`.
    """
    with output_lock(target):
        recover(target)
        try:
            staging = Path(tempfile.mkdtemp(prefix=_prefix(target, "new"), dir=target.parent))
        except OSError as exc:
            raise _write_error(target, exc) from exc
        try:
            yield staging
            (staging / MARKER).write_text(_marker_note(), encoding="utf-8")
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


def _swap(staging: Path, target: Path) -> None:
    """Move ``staging`` to ``target`` by two renames, putting the old folder back on failure."""
    if not (target.exists() or target.is_symlink()):
        os.replace(staging, target)
        return
    retired = Path(tempfile.mkdtemp(prefix=_prefix(target, "old"), dir=target.parent))
    try:
        os.replace(target, retired / target.name)
    except BaseException:
        shutil.rmtree(retired, ignore_errors=True)
        raise
    try:
        os.replace(staging, target)
    except BaseException:
        os.replace(retired / target.name, target)  # if this fails too, recover() restores it
        shutil.rmtree(retired, ignore_errors=True)
        raise
    shutil.rmtree(retired, ignore_errors=True)
