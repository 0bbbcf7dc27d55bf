"""Spreadsheet formula injection: the guard on text cells, and its removal.

Users open the CSV outputs in spreadsheets, which run a cell starting with ``=``, ``+``,
``-`` or ``@`` as a formula; names and ids come from the inputs, so every text cell written
is neutralised first (OWASP's rule: a leading single quote), and the guard is removed again
where hazardmap reads its own tables back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting with one of these may be run as a formula by a spreadsheet."""

FORMULA_GUARD = "'"


def _may_hold_text(dtype: Any) -> bool:
    """Object, string and categorical columns may hold text; numeric ones never do."""
    return (
        pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
    )


def _starts_with(column: pd.Series, prefixes: str | tuple[str, ...]) -> np.ndarray:
    """Which cells of ``column`` are text starting with one of ``prefixes`` (pandas' string
    methods: no loop in Python over the cells; a cell that is not text never does)."""
    try:
        starts = column.str.startswith(prefixes, na=False)
    except (AttributeError, TypeError):  # no text in the column, or bytes: cell by cell
        cells = (isinstance(value, str) and value.startswith(prefixes) for value in column)
        return np.fromiter(cells, dtype=bool, count=len(column))
    return starts.to_numpy(dtype=bool, na_value=False)


def _replaced(column: pd.Series, positions: np.ndarray, cells: pd.Series) -> pd.Series:
    """``column`` with the cells at ``positions`` replaced by ``cells``, in its dtype."""
    values = column.to_numpy(dtype=object, copy=True)
    values[positions] = cells.to_numpy(dtype=object)
    return pd.Series(values, index=column.index, dtype=column.dtype, name=column.name)


def _guarded(column: pd.Series) -> pd.Series | None:
    """``column`` with the guard before every text cell that starts with a trigger; None
    when no cell does."""
    triggered = _starts_with(column, FORMULA_TRIGGERS)
    if not triggered.any():
        return None
    return _replaced(column, np.flatnonzero(triggered), FORMULA_GUARD + column[triggered])


def _unguarded(column: pd.Series) -> pd.Series | None:
    """``column`` without the guard where a trigger follows it; None when no cell has one."""
    quoted = _starts_with(column, FORMULA_GUARD)
    if not quoted.any():
        return None
    rest = column[quoted].str.slice(1)
    guarded = _starts_with(rest, FORMULA_TRIGGERS)
    if not guarded.any():
        return None
    return _replaced(column, np.flatnonzero(quoted)[guarded], rest[guarded])


def _map_text_columns(
    frame: pd.DataFrame, change: Callable[[pd.Series], pd.Series | None]
) -> pd.DataFrame:
    """A copy of ``frame`` with ``change`` applied to each of its text columns (``change``
    returns None to leave a column as it is)."""
    changed = frame.copy()
    for position, dtype in enumerate(frame.dtypes):
        if not _may_hold_text(dtype):
            continue
        column = frame.iloc[:, position]
        # a categorical's new values need new categories: its values are changed as objects
        if isinstance(dtype, pd.CategoricalDtype):
            column = column.astype(object)
        cells = change(column)
        if cells is not None:
            changed.isetitem(position, cells)  # type: ignore[arg-type]  # the stubs omit Series
    return changed


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` where no text cell can be run as a spreadsheet formula: text
    starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading ``'``.
    Only text cells are touched (in object, string or categorical columns), so numbers
    stay numbers."""
    return _map_text_columns(frame, _guarded)


def restore_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """``neutralise_formulas`` undone, for tables hazardmap reads back: the leading ``'``
    is removed from text cells where a trigger character follows it. (Text that started
    with such a quote before it was written loses it too: a guard cannot be told from it.)"""
    return _map_text_columns(frame, _unguarded)
