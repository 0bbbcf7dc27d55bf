"""May a run replace this output folder? A guard that refuses before anything is written.

A run replaces its output folder whole, so a mistyped ``--out`` (``data/raw``, ``.``, a file)
would delete what is there. :func:`check_target` refuses any folder that holds, or lies inside,
the project's inputs, any file, and any folder holding an entry hazardmap did not write.
hazardmap recognises what it wrote by content, never by the folder's name: the :data:`MARKER`
file a run writes last lists every entry of the folder; a folder of the first release (no
marker, a ``manifest.json`` with ``versions.hazardmap``) may hold only that release's outputs.
"""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from hazardmap.errors import OutputError

MARKER = ".hazardmap-output"
"""The file every output folder hazardmap writes holds: JSON, ``written_by`` and ``files``
(every entry the run wrote, as paths relative to the folder, ``/``-separated)."""

SUGGESTIONS = {
    "run": "e.g. outputs/latest",
    "event": "e.g. outputs/events/<name>",
    "uncertainty": "e.g. outputs/uncertainty",
}
"""A folder each command's outputs may go to, for the messages that refuse one."""
_DESKTOP_JUNK = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
FIRST_RELEASE_OUTPUTS = (
    "map.html",
    "report.html",
    "villages.gpkg",
    "villages.csv",
    "households.csv",
    "priorities.csv",
    "changes.csv",
    "household_changes.csv",
    "manifest.json",
    "map_*.png",
    "chart_*.png",
)
"""What a folder the first release wrote (no :data:`MARKER`) may hold; with
household_changes.csv, which later runs write, so that a folder whose marker was damaged
(it counts as none) is still recognised."""
_SHOWN = 3  # foreign entries named in a refusal


def marker_content(written_by: str, files: Iterable[str]) -> str:
    """The text of :data:`MARKER` for a folder holding ``files`` (besides the marker)."""
    content = {
        "written_by": written_by,
        "files": sorted(files),
        "note": "this folder is replaced by the next run",
    }
    return json.dumps(content, ensure_ascii=False, indent=1) + "\n"


def folder_entries(folder: Path) -> list[str]:
    """Every entry under ``folder`` except :data:`MARKER`, at any depth, symlinks not
    followed, as ``/``-separated relative paths: what :data:`MARKER` lists."""
    found: list[str] = []
    pending = [(folder, "")]
    while pending:
        current, prefix = pending.pop()
        with os.scandir(current) as scan:
            for entry in scan:
                name = prefix + entry.name
                if name == MARKER:
                    continue
                found.append(name)
                if entry.is_dir(follow_symlinks=False):
                    pending.append((Path(entry.path), name + "/"))
    return sorted(found)


def written_files(folder: Path) -> frozenset[str] | None:
    """The entries :data:`MARKER` in ``folder`` lists, or None when it is missing, damaged or
    not hazardmap's."""
    try:
        content = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(content, dict):
        return None
    written_by, files = content.get("written_by"), content.get("files")
    if not (isinstance(written_by, str) and written_by.startswith("hazardmap")):
        return None
    if not (isinstance(files, list) and all(isinstance(name, str) for name in files)):
        return None
    return frozenset(files)


def is_hazardmap_output(folder: Path) -> bool:
    """Whether ``folder`` holds a valid :data:`MARKER`, or a first-release ``manifest.json``.

    Says who wrote the folder, not whether a run may replace it: see :func:`check_target`."""
    if written_files(folder) is not None:
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


def check_target(target: Path, *, protected: Iterable[Path], command: str = "run") -> None:
    """Raise :class:`OutputError` unless ``command`` (run or event) may replace ``target``
    whole.

    ``protected`` are the project's own files and folders (project file, layer files, the
    layers folder, input files). A run may replace a folder that is new, empty (desktop
    junk aside), or whose every entry hazardmap wrote for the same command (an event never
    replaces a run's outputs, nor a run an event's). Nothing is created or touched.
    """
    try:
        _check_target(target, list(protected), command)
    except OutputError:
        raise
    except OSError as exc:  # a name too long, a folder that cannot be looked into
        raise OutputError(
            f"{str(target)[:120]}: cannot use this output folder ({exc.strerror or exc}); "
            "give a shorter or another path"
        ) from None


def _check_target(target: Path, protected: list[Path], command: str) -> None:
    resolved = target.resolve()
    guarded = list(dict.fromkeys(path.resolve() for path in protected))
    if resolved.exists() and not resolved.is_dir():
        raise OutputError(f"{target}: the output folder is a file; give a folder")
    _refuse_inputs(target, resolved, guarded, SUGGESTIONS[command])
    if not resolved.exists():
        _refuse_blocked_parent(target, resolved)
        return
    _refuse_other_command(target, resolved, command)
    check_replaceable(target)


def _refuse_other_command(target: Path, resolved: Path, command: str) -> None:
    """An event's folder holds its manifest's ``event``, an uncertainty analysis's its
    ``uncertainty``; a run's neither."""
    try:
        content = json.loads((resolved / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return
    if not isinstance(content, dict) or _manifest_version(resolved / "manifest.json") is None:
        return
    written_by = next((kind for kind in ("event", "uncertainty") if kind in content), "run")
    if written_by != command:
        default = " (by default events/<name> beside the [outputs] folder)"
        raise OutputError(
            f"{target}: this folder holds the outputs of hazardmap {written_by}, which "
            f"hazardmap {command} must not replace; give the {command} a folder of its own"
            + (default if command == "event" else "")
        )


def check_replaceable(target: Path) -> None:
    """Raise :class:`OutputError` if the folder ``target`` holds an entry hazardmap did not
    write (desktop junk aside): :func:`check_target`'s last step, which a run repeats just
    before it replaces the folder, for files added while it computed."""
    resolved = target.resolve()
    if not resolved.is_dir():
        return
    foreign, why = _foreign_entries(target, resolved)
    if foreign:
        shown = ", ".join(foreign[:_SHOWN]) + (" and more" if len(foreign) > _SHOWN else "")
        raise OutputError(
            f"{target}: this folder holds files hazardmap did not write ({shown}{why}); "
            "a run replaces its output folder whole, so move them out or choose another folder"
        )


def _foreign_entries(target: Path, resolved: Path) -> tuple[list[str], str]:
    """The first few entries of ``resolved`` hazardmap did not write (a folder ends in ``/``
    and is not looked into), and why none of them is hazardmap's when that is the reason."""
    listed = written_files(resolved)
    why = ""
    ours: Callable[[str], bool]
    if listed is not None:
        ours = listed.__contains__
    elif _manifest_version(resolved / "manifest.json") is not None:
        # the first release wrote no marker (a damaged one counts as none): its names only
        ours = _first_release_output
    else:
        why = "; hazardmap left no marker or manifest.json here"
        ours = _nothing
    try:
        return _walk(resolved, "", ours, []), why
    except OSError as exc:
        raise OutputError(
            f"{target}: cannot read the output folder ({exc.strerror or exc}); "
            "check the folder's permissions"
        ) from None


def _walk(folder: Path, prefix: str, ours: Callable[[str], bool], foreign: list[str]) -> list[str]:
    """Add to ``foreign`` the entries under ``folder`` that are not ``ours``, until there are
    more than :data:`_SHOWN`; looks only into folders that are ``ours``."""
    with os.scandir(folder) as scan:
        entries = sorted(scan, key=lambda entry: entry.name)
    for entry in entries:
        if len(foreign) > _SHOWN:
            break
        name = prefix + entry.name
        if name == MARKER or entry.name in _DESKTOP_JUNK:
            continue
        is_folder = entry.is_dir(follow_symlinks=False)
        if not ours(name):
            foreign.append(name + "/" if is_folder else name)
        elif is_folder:
            _walk(Path(entry.path), name + "/", ours, foreign)
    return foreign


def _first_release_output(name: str) -> bool:
    return "/" not in name and any(fnmatch.fnmatchcase(name, p) for p in FIRST_RELEASE_OUTPUTS)


def _nothing(name: str) -> bool:
    return False


def _refuse_inputs(target: Path, resolved: Path, guarded: list[Path], suggestion: str) -> None:
    """Refuse a target that is, holds, or lies inside one of the project's inputs."""
    if resolved in guarded:
        raise OutputError(
            f"{target}: this output folder is one of the project's inputs; hazardmap replaces "
            f"its output folder whole, so choose another folder, {suggestion}"
        )
    held = [path for path in guarded if resolved in path.parents]
    if held:
        names = [path.name for path in held]
        listed = ", ".join(names[:2]) + (f" and {len(names) - 2} more" if len(names) > 2 else "")
        raise OutputError(
            f"{target}: this output folder holds the project's inputs ({listed}); hazardmap "
            f"replaces its output folder whole, so choose another folder, {suggestion}"
        )
    for path in guarded:
        if path in resolved.parents and path.is_dir():
            raise OutputError(
                f"{target}: this output folder lies inside the project's inputs ({path}); "
                f"hazardmap replaces its output folder whole, so choose a folder outside it, "
                f"{suggestion}"
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
