"""Write a folder of outputs completely, beside its target, then move it into place.

A run that fails, is interrupted (Ctrl-C) or is killed while writing leaves the previous
outputs whole: the new files go into a hidden staging folder beside the target, which
replaces the target only once every file is written. The replacement is two renames (the
old folder aside, the new one in); a run killed between them is repaired by the next run,
which puts the old folder back before anything else. Staging folders that a killed run
left behind are removed by the next run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hazardmap.errors import OutputError


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _leftovers(target: Path, kind: str) -> list[tuple[Path, int]]:
    """Hidden folders of earlier runs beside ``target``, with the pid that made them."""
    found = []
    for path in target.parent.glob(f".{target.name}.{kind}-*"):
        try:
            pid = int(path.name.split("-")[1])
        except (IndexError, ValueError):
            continue
        found.append((path, pid))
    return found


def recover(target: Path) -> None:
    """Undo what a killed run left: restore a folder moved aside, drop dead staging."""
    for path, pid in _leftovers(target, "old"):
        if _pid_alive(pid) and pid != os.getpid():
            continue
        kept = path / target.name
        if not target.exists() and kept.exists():
            os.replace(kept, target)
        shutil.rmtree(path, ignore_errors=True)
    for path, pid in _leftovers(target, "new"):
        if not _pid_alive(pid) or pid == os.getpid():
            shutil.rmtree(path, ignore_errors=True)


@contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """Yield a fresh folder beside ``target``; on success it replaces ``target``."""
    parent = target.parent
    prefix = f".{target.name}.{{kind}}-{os.getpid()}-"
    try:
        parent.mkdir(parents=True, exist_ok=True)
        recover(target)
        staging = Path(tempfile.mkdtemp(prefix=prefix.format(kind="new"), dir=parent))
    except OSError as exc:
        raise OutputError(f"{parent}: cannot create the output folder ({exc.strerror})") from None
    try:
        yield staging
        retired = None
        if target.exists():
            retired = Path(tempfile.mkdtemp(prefix=prefix.format(kind="old"), dir=parent))
            os.replace(target, retired / target.name)
        os.replace(staging, target)
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
