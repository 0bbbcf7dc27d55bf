"""SHA-256 of input files, computed once per file version and process.

The manifest records every input's digest and the overlay cache keys on them; a file is
read for hashing once however many times its digest is asked for (until it changes).
"""

from __future__ import annotations

import hashlib
import os
import time
from functools import lru_cache
from pathlib import Path

RACY_NS = 2_000_000_000
"""A file changed less than this long ago is hashed afresh each time: file systems stamp
times with a coarse clock (to 2 s on some), so a change made within the same tick as the
one before would leave every time stamp as it was."""


def _hash(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@lru_cache(maxsize=256)
def _remembered(path: str, version: tuple[int, ...]) -> str:
    return _hash(path)


def file_version(stat: os.stat_result) -> tuple[int, ...]:
    """What tells one version of a file from another without reading it. Size and mtime
    alone stay the same when a file is rewritten and its mtime set back (cp -p, rsync,
    utime); the kernel sets ctime on every change and no call sets it back, and a file
    replaced by another (os.replace, a new copy) has another inode."""
    return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, stat.st_dev)


def file_digest(path: Path) -> str:
    """The file's SHA-256 (hex); for a folder (a Zarr store), the SHA-256 over each of its
    files' relative path and SHA-256, in path order."""
    if path.is_dir():
        digest = hashlib.sha256()
        for item in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(item.relative_to(path).as_posix().encode() + b"\0")
            digest.update(bytes.fromhex(file_digest(item)))
        return digest.hexdigest()
    stat = path.stat()
    if time.time_ns() - stat.st_ctime_ns < RACY_NS:
        return _hash(str(path))  # it may change again unseen: not remembered
    return _remembered(str(path.resolve()), file_version(stat))
