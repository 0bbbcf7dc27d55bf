"""The tables of a run: villages (GeoPackage and CSV), households, priorities.

Users open these tables in spreadsheets, which run a cell starting with ``=``, ``+``, ``-``
or ``@`` as a formula; names and ids come from the inputs, so every text cell written is
neutralised first (OWASP's rule: a leading single quote), and removed again where
hazardmap reads its own tables back.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

VILLAGES_LAYER = "villages"

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


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """``frame`` as CSV (UTF-8 with BOM, which Excel needs to read Chinese), made safe to
    open in a spreadsheet. Lines end in CRLF (RFC 4180): the csv writer then quotes every
    cell holding a CR as well as an LF, which a reader would otherwise take for a row's end."""
    neutralise_formulas(frame).to_csv(
        path, index=False, encoding="utf-8-sig", lineterminator="\r\n"
    )


def write_xlsx(frame: pd.DataFrame, path: Path, sheet: str | None = None) -> None:
    """``frame`` as an Excel workbook (a header row, then the values) in which every text
    cell is a string cell: openpyxl would store text starting with ``=`` as a formula."""
    from openpyxl import Workbook  # type: ignore[import-untyped]

    workbook = Workbook()
    worksheet = workbook.active
    assert worksheet is not None  # a new workbook always has one sheet
    if sheet is not None:
        worksheet.title = sheet
    rows = [list(frame.columns), *frame.itertuples(index=False, name=None)]
    for row_number, row in enumerate(rows, start=1):
        for column_number, value in enumerate(row, start=1):
            cell = worksheet.cell(row=row_number, column=column_number)
            if isinstance(value, str):
                cell.value = value
                cell.data_type = "s"
            else:
                cell.value = None if pd.api.types.is_scalar(value) and pd.isna(value) else value
    workbook.save(path)


def write_villages(villages: gpd.GeoDataFrame, folder: Path) -> None:
    """villages.gpkg (layer 'villages', EPSG:4326) and villages.csv (UTF-8 with BOM)."""
    path = folder / "villages.gpkg"
    try:
        villages.to_file(path, layer=VILLAGES_LAYER, driver="GPKG")
    except OSError:
        raise
    except Exception as exc:  # GDAL's write errors (a full disk, say) are not OSErrors
        raise OSError(errno.EIO, f"writing {path.name} failed: {exc}") from None
    write_csv(pd.DataFrame(villages.drop(columns="geometry")), folder / "villages.csv")


def write_households(households: pd.DataFrame, folder: Path) -> None:
    write_csv(households, folder / "households.csv")


def write_priorities(priorities: pd.DataFrame, folder: Path) -> None:
    write_csv(priorities, folder / "priorities.csv")
