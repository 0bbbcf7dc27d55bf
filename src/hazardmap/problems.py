"""Problems found in the inputs: collected, each once, and turned into lines a user can act on.

Readers and checks raise a :class:`~hazardmap.errors.HazardmapError` for a problem that stops
their step, and report warnings to a :class:`Problems` collector. ``run`` and ``validate``
share one collector: ``validate`` lists everything it holds; ``run`` stops with the first
error (and a count of the others) before anything is computed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

import numpy as np

from hazardmap.errors import HazardmapError, InputError

T = TypeVar("T")

MAX_EXAMPLES = 3
MAX_VALUE_CHARS = 40
"""Echoed values are cut to this many characters: a message must stay one readable line
(one bad cell held 100 KB)."""
MAX_NAMES = 12
"""Lists of names (columns, sheets, variables) show this many, then a count."""


def shorten(value: object, limit: int = MAX_VALUE_CHARS) -> str:
    """``repr`` of a value, cut to ``limit`` characters with an ellipsis and its full length."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… ({len(str(value)):,} characters)"


def names_summary(names: Sequence[object], limit: int = MAX_NAMES) -> str:
    """'['a', 'b', ...] and 40 more' for a long list of names, each cut to a readable length."""
    shown = ", ".join(shorten(str(n)) for n in list(names)[:limit])
    more = len(names) - min(len(names), limit)
    return f"[{shown}]" + (f" and {more} more" if more > 0 else "")


def _plain(value: object) -> object:
    """A numpy scalar as the Python number it holds (its repr is for programmers)."""
    return value.item() if isinstance(value, np.generic) else value


def rows_summary(
    lines: Sequence[int] | np.ndarray, values: Sequence[object] = (), *, unit: str = "line"
) -> str:
    """'line 5 ('abc'), line 9 ('') and 12 more' for the first few offending lines."""
    lines = list(lines)
    shown = []
    for i, line in enumerate(lines[:MAX_EXAMPLES]):
        value = f" ({shorten(_plain(values[i]))})" if i < len(values) else ""
        shown.append(f"{unit} {line}{value}")
    more = len(lines) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


class Problems:
    """Errors (a run would stop) and warnings, in the order found, each recorded once."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self._first_error: type[HazardmapError] | None = None

    def warn(self, *messages: str) -> None:
        for message in messages:
            if message not in self.warnings:
                self.warnings.append(message)

    def record(self, error: HazardmapError) -> None:
        """Keep every problem an error holds (and its class, to raise it again)."""
        self._first_error = self._first_error or type(error)
        for message in error.problems or [str(error)]:
            if message not in self.errors:
                self.errors.append(message)

    @contextmanager
    def collecting(self) -> Iterator[None]:
        """Record a HazardmapError raised inside the block instead of letting it through."""
        try:
            yield
        except HazardmapError as error:
            self.record(error)

    def attempt(self, step: Callable[[], T]) -> T | None:
        """``step()``, or None when it raised a HazardmapError (which is recorded)."""
        try:
            return step()
        except HazardmapError as error:
            self.record(error)
            return None

    def raise_errors(self) -> None:
        """Raise every error at once (the message is the first, with a count of the rest)."""
        if self.errors:
            raise (self._first_error or InputError)(*self.errors)
