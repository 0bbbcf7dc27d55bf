"""A new county's project folder: the project file, one layer file per hazard and a note on
what goes into data/raw, every key described.

The texts live in ``scaffold_templates/`` beside this module, so that they read as the
files a user gets; only the project's name is filled in. Nothing that exists is ever
overwritten: a folder holding any of the files is refused before anything is written.
"""

from __future__ import annotations

import os
import re
import shlex
from importlib.resources import files
from pathlib import Path

from hazardmap.errors import ConfigError, OutputError

PROJECT_FILE = "hazardmap.toml"
TEMPLATE_FILES: tuple[str, ...] = (
    PROJECT_FILE,
    "layers/landslide.toml",
    "layers/drought.toml",
    "layers/hail.toml",
    "events/hail-example.toml",
    "data/raw/README.md",
)
"""The files ``init_project`` writes, relative to the folder (and to ``scaffold_templates``)."""

NAME_PLACEHOLDER = '"__PROJECT_NAME__"'
"""The project file template's [project] name value, replaced by the name as a TOML string."""

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}
"""TOML's short escapes; other control characters are written as \\uXXXX."""


def template_text(relative: str) -> str:
    """The text of one template file, ``relative`` as in :data:`TEMPLATE_FILES`."""
    resource = files("hazardmap").joinpath("scaffold_templates", *relative.split("/"))
    return resource.read_text(encoding="utf-8")


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string: quotes, backslashes and control characters escaped,
    so that any name gives a valid file."""

    def escape(char: str) -> str:
        if char in _ESCAPES:
            return _ESCAPES[char]
        if ord(char) < 0x20 or ord(char) == 0x7F:
            return f"\\u{ord(char):04X}"
        return char

    return '"' + "".join(escape(char) for char in text) + '"'


def _project_text(name: str) -> str:
    if not name.strip():
        raise ConfigError("the project name is empty; give the county's name, e.g. --name 静宁县")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(
            f"the project name {name!r} holds bytes that are not UTF-8 text; give the name in UTF-8"
        ) from None
    template = template_text(PROJECT_FILE)
    assert template.count(NAME_PLACEHOLDER) == 1, "the project template names the county once"
    return template.replace(NAME_PLACEHOLDER, toml_string(name))


def _check_folder(folder: Path) -> None:
    """Refuse a folder that is a file, or that holds any file init would write."""
    if os.path.lexists(folder) and not folder.is_dir():
        raise OutputError(
            f"{folder}: is a file (or a broken link), not a folder; give init a new folder "
            "or an existing one"
        )
    if os.path.lexists(folder / PROJECT_FILE):
        raise OutputError(
            f"{folder}: already holds a project file ({PROJECT_FILE}); edit that one, or give "
            "init a new folder"
        )
    present = list(dict.fromkeys(p for r in TEMPLATE_FILES if (p := _in_the_way(folder, r))))
    if present:
        raise OutputError(
            f"{folder}: already holds {', '.join(present)}; init never overwrites anything: "
            "move those away, or give init a new folder"
        )


def _in_the_way(folder: Path, relative: str) -> str | None:
    """What stands where ``relative`` goes: the file itself, or a file (or a broken link)
    where one of its folders goes; None when the way is free."""
    parts = relative.split("/")
    for end in range(1, len(parts) + 1):
        path = folder.joinpath(*parts[:end])
        if os.path.lexists(path) and (end == len(parts) or not path.is_dir()):
            return "/".join(parts[:end])
    return None


def _write(folder: Path, texts: dict[str, str]) -> list[Path]:
    """Write every file, each created anew (never through an existing one); on failure,
    remove what was written so that the folder is as it was."""
    created: list[Path] = []
    try:
        for relative, text in texts.items():
            path = folder.joinpath(*relative.split("/"))
            missing = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
            for parent in reversed(missing):
                parent.mkdir()
                created.append(parent)
            with path.open("xb") as file:
                created.append(path)
                file.write(text.encode("utf-8"))
    except BaseException as exc:  # all or nothing, interrupted too
        _remove(created)
        if isinstance(exc, OSError):
            raise _cannot_write(folder, exc) from None
        raise
    return [folder.joinpath(*relative.split("/")) for relative in texts]


def _remove(created: list[Path]) -> None:
    """Undo a write that failed part-way: the files and folders it created, last first."""
    for path in reversed(created):
        try:
            if path.is_dir():
                path.rmdir()
            else:
                path.unlink()
        except OSError:
            pass


def _cannot_write(folder: Path, exc: OSError) -> OutputError:
    where = exc.filename or folder
    return OutputError(
        f"{where}: cannot write the new project ({exc.strerror or exc}); check that the "
        "folder can be written and that no file stands where a folder goes"
    )


def init_project(folder: Path, name: str | None = None) -> list[Path]:
    """Write a new county's project folder into ``folder`` (created if need be): the project
    file, the landslide, drought and hail layer files, an example event file and
    data/raw/README.md. ``name``
    defaults to the folder's name. Returns the files written.

    Raises OutputError, writing nothing, when ``folder`` is a file or already holds any of
    these files; ConfigError when the name cannot be written."""
    folder = Path(folder)
    absolute = Path(os.path.abspath(folder))
    if absolute == Path(absolute.anchor):
        raise OutputError(
            f"{folder}: the root of the file system is no project folder; give a folder of "
            "its own, e.g. hazardmap init zhuanglang"
        )
    if name is None:
        name = absolute.name
    texts = {relative: template_text(relative) for relative in TEMPLATE_FILES}
    texts[PROJECT_FILE] = _project_text(name)
    try:
        _check_folder(folder)
    except OutputError:
        raise
    except OSError as exc:  # a folder that cannot even be looked into
        raise _cannot_write(folder, exc) from None
    return _write(folder, texts)


def _shell_word(path: Path) -> str:
    """``path`` as one word of a shell command: quoted only when it has to be (a Chinese
    folder name needs no quotes)."""
    text = str(path)
    return shlex.quote(text) if re.search(r"[^\w@%+=:,./-]", text) else text


def next_step(folder: Path) -> str:
    """What to do after init: the data files, then validate."""
    raw = _shell_word(folder / "data" / "raw")
    project = _shell_word(folder / PROJECT_FILE)
    return f"next: put your files in {raw}, then: hazardmap validate --config {project}"
