"""Spreadsheet formula injection: the guard on text cells, and its removal.

Users open the CSV outputs in spreadsheets, which run a cell starting with ``=``, ``+``,
``-`` or ``@`` as a formula; names and ids come from the inputs, so every text cell written
is neutralised first (OWASP's rule: a leading single quote), and the guard is removed again
where hazardmap reads its own tables back.
"""

from __future__ import annotations

from typing import Any

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


def _guard(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return FORMULA_GUARD + value
    return value


def _unguard(value: object) -> object:
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_GUARD)
        and value[1:].startswith(FORMULA_TRIGGERS)
    ):
        return value[1:]
    return value


def _map_text_cells(frame: pd.DataFrame, change: Any) -> pd.DataFrame:
    """A copy of ``frame`` with ``change`` applied to every cell of its text columns."""
    changed = frame.copy()
    for position, dtype in enumerate(frame.dtypes):
        if not _may_hold_text(dtype):
            continue
        column = frame.iloc[:, position]
        # a categorical's new values need new categories; an object column must stay one
        # (pandas would infer str and turn None into NaN)
        kept = object if isinstance(dtype, pd.CategoricalDtype) else dtype
        cells = pd.Series([change(value) for value in column], index=column.index, dtype=kept)
        changed.isetitem(position, cells)  # type: ignore[arg-type]  # the stubs omit Series
    return changed


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` where no text cell can be run as a spreadsheet formula: text
    starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading ``'``.
    Only text cells are touched (in object, string or categorical columns), so numbers
    stay numbers."""
    return _map_text_cells(frame, _guard)


def restore_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """``neutralise_formulas`` undone, for tables hazardmap reads back: the leading ``'``
    is removed from text cells where a trigger character follows it. (Text that started
    with such a quote before it was written loses it too: a guard cannot be told from it.)"""
    return _map_text_cells(frame, _unguard)
