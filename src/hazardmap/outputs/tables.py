"""The tables of a run: villages (GeoPackage and CSV), households, priorities, and the
changes since an earlier run (villages and households).

Every CSV is made safe to open in a spreadsheet (``spreadsheet.neutralise_formulas``).
"""

from __future__ import annotations

import errno
import re
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from hazardmap.spreadsheet import neutralise_formulas

VILLAGES_LAYER = "villages"


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """``frame`` as CSV (UTF-8 with BOM, which Excel needs to read Chinese), made safe to
    open in a spreadsheet. Lines end in CRLF (RFC 4180): the csv writer then quotes every
    cell holding a CR as well as an LF, which a reader would otherwise take for a row's end.

    The bytes are pandas' ``to_csv`` bytes; columns of numbers and text are formatted here a
    column at a time (several times faster), any other column type by pandas."""
    safe = neutralise_formulas(frame)
    text = csv_text(safe)
    if text is None:
        safe.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    else:
        path.write_bytes(text.encode("utf-8-sig"))


_QUOTED = re.compile(r'[,"\r\n]')
"""A cell holding one of these is quoted (the csv module's QUOTE_MINIMAL, CRLF lines)."""


def _quote(cells: list[str]) -> list[str]:
    """Text cells as the csv writer writes them: in quotes (and quotes doubled) when they
    hold a comma, a quote or a line break."""
    if not _QUOTED.search("".join(cells)):
        return cells
    return ['"' + c.replace('"', '""') + '"' if _QUOTED.search(c) else c for c in cells]


def _cells(column: pd.Series) -> list[str] | None:
    """A column's cells as ``to_csv`` writes them (missing values empty): float64 as their
    shortest repr, integers and booleans as Python writes them, text quoted where needed;
    None for any other column (pandas formats it)."""
    dtype, values = column.dtype, column.to_numpy()
    if not isinstance(dtype, np.dtype) and not pd.api.types.is_string_dtype(dtype):
        return None  # extension types: nullable numbers, categoricals, dates ...
    if dtype == np.float64:
        cells = list(map(float.__repr__, values.tolist()))
        for position in np.flatnonzero(np.isnan(values)).tolist():
            cells[position] = ""
        return cells
    if dtype.kind in "iub":
        return list(map(str, values.tolist()))
    if dtype.kind == "f" or pd.api.types.infer_dtype(values, skipna=True) not in (
        "string",
        "empty",
    ):
        return None  # float32 has its own shortest repr; mixed objects are left to pandas
    missing = pd.isna(values)
    if missing.any():
        values = np.where(missing, "", values)
    return _quote(values.tolist())


def csv_text(frame: pd.DataFrame) -> str | None:
    """``frame`` (without its index) as the text ``to_csv(index=False, lineterminator=
    "\r\n")`` writes, or None when a column is of a type only pandas formats."""
    names = list(frame.columns)
    if len(names) < 2 or not all(isinstance(name, str) for name in names):
        return None  # one column writes an empty cell as '""'; pandas knows how
    columns = [_cells(frame.iloc[:, position]) for position in range(len(names))]
    if any(cells is None for cells in columns):
        return None
    header = ",".join(_quote(names)) + "\r\n"
    if not len(frame):
        return header
    return header + "\r\n".join(map(",".join, zip(*columns, strict=True))) + "\r\n"


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


def write_years(years: pd.DataFrame, exceedance: pd.DataFrame, folder: Path) -> None:
    """years.parquet (one row per simulated year) and exceedance.csv."""
    years.to_parquet(folder / "years.parquet", index=False)
    write_csv(exceedance, folder / "exceedance.csv")


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


def write_changes(changes: pd.DataFrame | None, header: Sequence[str], folder: Path) -> None:
    """changes.csv; only its ``header`` when there was no earlier run to compare with."""
    table = pd.DataFrame(columns=list(header)) if changes is None else changes
    write_csv(table, folder / "changes.csv")


def write_household_changes(
    changes: pd.DataFrame | None, header: Sequence[str], folder: Path
) -> None:
    """household_changes.csv; only its ``header`` when there was no earlier run, or no
    household table of it, to compare with."""
    table = pd.DataFrame(columns=list(header)) if changes is None else changes
    write_csv(table, folder / "household_changes.csv")
