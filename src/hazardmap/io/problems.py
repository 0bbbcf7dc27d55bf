"""Turning a set of bad rows into one line a user can act on."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MAX_EXAMPLES = 3


def rows_summary(
    lines: Sequence[int] | np.ndarray, values: Sequence[object] = (), *, unit: str = "line"
) -> str:
    """'line 5 ('abc'), line 9 ('') and 12 more' for the first few offending lines."""
    lines = list(lines)
    shown = []
    for i, line in enumerate(lines[:MAX_EXAMPLES]):
        value = f" ({values[i]!r})" if i < len(values) else ""
        shown.append(f"{unit} {line}{value}")
    more = len(lines) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")
