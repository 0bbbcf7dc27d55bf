"""The one exception family of hazardmap.

Every error a user can cause derives from :class:`HazardmapError` and also from the builtin
that fits it, so callers may catch either family (``except ValueError`` still works).
Messages are one line: the file, the field or row, what was expected, and the fix.
"""

from __future__ import annotations


class HazardmapError(Exception):
    """Root of every error hazardmap raises on purpose.

    ``problems`` holds every problem found at once (each a one-line message); the error's
    text is the first one, with a count of the others.
    """

    def __init__(self, *problems: str) -> None:
        self.problems = list(problems)
        first = problems[0] if problems else ""
        more = len(problems) - 1
        suffix = (
            f" (and {more} more problem{'s' if more > 1 else ''}: hazardmap validate lists all)"
        )
        super().__init__(first + (suffix if more > 0 else ""))


class ConfigError(HazardmapError, ValueError):
    """The project file or a layer file is malformed or inconsistent."""


class InputError(HazardmapError, ValueError):
    """An input file (villages, households, raster) has content hazardmap cannot use."""


class InputFileNotFoundError(HazardmapError, FileNotFoundError):
    """A file named in the configuration does not exist."""


class CRSError(HazardmapError, ValueError):
    """A coordinate reference system is missing, unknown, or cannot be used."""


class OutputError(HazardmapError, OSError):
    """The outputs could not be written."""
