"""The tables of a run: villages (GeoPackage and CSV), households, priorities, changes.

Every CSV is made safe to open in a spreadsheet (``spreadsheet.neutralise_formulas``).
"""

from __future__ import annotations

import errno
from pathlib import Path

import geopandas as gpd
import pandas as pd

from hazardmap.model.changes import change_columns
from hazardmap.spreadsheet import neutralise_formulas

VILLAGES_LAYER = "villages"


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


def write_changes(changes: pd.DataFrame | None, hazards: tuple[str, ...], folder: Path) -> None:
    """changes.csv; only its header when there was no previous run to compare with."""
    table = pd.DataFrame(columns=change_columns(hazards)) if changes is None else changes
    write_csv(table, folder / "changes.csv")
