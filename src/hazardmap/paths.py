"""Absolute paths with every symlink followed, for any path a user can write.

``Path.resolve`` raises RuntimeError on a symlink loop; ``os.path.realpath`` stops there
and returns the path, which then simply does not exist, and the caller's "not found"
message names it.
"""

from __future__ import annotations

import os
from pathlib import Path


def real_path(path: str | os.PathLike[str]) -> Path:
    """``path`` made absolute, symlinks followed (a loop is left as it is)."""
    return Path(os.path.realpath(path))
