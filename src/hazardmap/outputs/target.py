"""May a run replace this output folder? A guard that refuses before anything is written.

A run replaces its output folder whole, so a mistyped ``--out`` (``data/raw``, ``.``, a file)
would delete what is there. :func:`check_target` refuses any folder that holds, or lies inside,
the project's inputs, any file, and any non-empty folder hazardmap did not write. hazardmap
recognises its own folders by content (the :data:`MARKER` file, or an early release's
``manifest.json``), never by name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from hazardmap.errors import OutputError

MARKER = ".hazardmap-output"
"""The file every output folder hazardmap writes holds."""

_SUGGESTION = "e.g. outputs/latest"
_DESKTOP_JUNK = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})


def is_hazardmap_output(folder: Path) -> bool:
    """Whether ``folder`` holds :data:`MARKER`, or a first-release ``manifest.json``."""
    if (folder / MARKER).is_file():
        return True
    return _manifest_version(folder / "manifest.json") is not None


def _manifest_version(manifest: Path) -> str | None:
    """The ``versions.hazardmap`` of a manifest.json, if it is one hazardmap wrote."""
    try:
        content = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    versions = content.get("versions") if isinstance(content, dict) else None
    version = versions.get("hazardmap") if isinstance(versions, dict) else None
    return version if isinstance(version, str) and version.strip() else None


def check_target(target: Path, *, protected: Iterable[Path]) -> None:
    """Raise :class:`OutputError` unless a run may replace ``target`` whole.

    ``protected`` are the project's own files and folders (project file, layer files, the
    layers folder, input files). Nothing is created or touched.
    """
    resolved = target.resolve()
    guarded = list(dict.fromkeys(path.resolve() for path in protected))
    if resolved.exists() and not resolved.is_dir():
        raise OutputError(f"{target}: the output folder is a file; give a folder")
    _refuse_inputs(target, resolved, guarded)
    if not resolved.exists():
        _refuse_blocked_parent(target, resolved)
        return
    entries = [entry for entry in _listing(target, resolved) if entry.name not in _DESKTOP_JUNK]
    if entries and not is_hazardmap_output(resolved):
        manifest = resolved / "manifest.json"
        why = "its manifest.json is not hazardmap's" if manifest.exists() else "no manifest.json"
        raise OutputError(
            f"{target}: this folder holds files hazardmap did not write ({why}); "
            "choose a new or empty folder, or one an earlier run wrote"
        )


def _refuse_inputs(target: Path, resolved: Path, guarded: list[Path]) -> None:
    """Refuse a target that is, holds, or lies inside one of the project's inputs."""
    if resolved in guarded:
        raise OutputError(
            f"{target}: this output folder is one of the project's inputs; hazardmap replaces "
            f"its output folder whole, so choose another folder, {_SUGGESTION}"
        )
    held = [path for path in guarded if resolved in path.parents]
    if held:
        names = [path.name for path in held]
        listed = ", ".join(names[:2]) + (f" and {len(names) - 2} more" if len(names) > 2 else "")
        raise OutputError(
            f"{target}: this output folder holds the project's inputs ({listed}); hazardmap "
            f"replaces its output folder whole, so choose another folder, {_SUGGESTION}"
        )
    for path in guarded:
        if path in resolved.parents and path.is_dir():
            raise OutputError(
                f"{target}: this output folder lies inside the project's inputs ({path}); "
                f"hazardmap replaces its output folder whole, so choose a folder outside it, "
                f"{_SUGGESTION}"
            )


def _refuse_blocked_parent(target: Path, resolved: Path) -> None:
    """Refuse a missing target whose nearest existing ancestor is a file."""
    for ancestor in resolved.parents:
        if ancestor.exists():
            if not ancestor.is_dir():
                raise OutputError(
                    f"{target}: {ancestor} is a file, so the output folder cannot be made "
                    "there; give a folder"
                )
            return


def _listing(target: Path, resolved: Path) -> list[Path]:
    try:
        return list(resolved.iterdir())
    except OSError as exc:
        raise OutputError(
            f"{target}: cannot read the output folder ({exc.strerror or exc}); "
            "check the folder's permissions"
        ) from None
