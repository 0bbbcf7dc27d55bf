"""Tables as users keep them: CSV (UTF-8 or GB18030/GBK) or .xlsx, read as text.

Every problem of the file itself (not a table, an unknown encoding, a protected workbook,
a header that names a column twice) is one line. Each row keeps the line (or, in a
workbook, the row) it has in the file, so that messages point at what the user sees even
when blank lines or cells spanning several lines come before it.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pandas as pd
import python_calamine

from hazardmap.errors import InputError, InputFileNotFoundError
from hazardmap.problems import names_summary, rows_summary, shorten


@dataclass(frozen=True)
class Table:
    """Text columns (blank lines left out), and each row's line in the file."""

    frame: pd.DataFrame
    lines: np.ndarray


ENCODINGS = ("utf-8-sig", "gb18030")
"""Tried in order: UTF-8 (with or without BOM), then GB18030, the superset of GBK and
GB2312 that Chinese spreadsheet exports use. UTF-8 decoding is strict, so text that is
not UTF-8 is never misread as such."""

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0"
_WORKBOOK_ERRORS = (
    zipfile.BadZipFile,
    KeyError,
    ValueError,
    OSError,
    EOFError,
    IndexError,
    python_calamine.CalamineError,
)


@dataclass(frozen=True)
class TableLayout:
    """Where the table sits in its file: the sheet of a workbook (None: the first visible
    one) and the line (or workbook row) holding the column names, counted from 1.
    ``section`` is the project file's section whose keys set them, for the fixes that
    messages give (None: a table whose layout no key sets)."""

    sheet: str | None = None
    header_row: int = 1
    section: str | None = "[households]"

    def fix(self, key: str, to: str) -> str:
        """How to set ``key`` to ``to``, or, for a table no key lays out, what it needs."""
        if self.section is None:
            return "give a table whose first line holds the column names"
        return f"set {self.section} {key} to {to}"


EXACT_DIGITS = 1e15
"""A number with more than 15 significant digits: Excel itself keeps only 15, and a float
about 16, so a longer code or id stored as a number has lost its last digits."""


def _workbook_kind(path: Path) -> str:
    """'xlsx', 'xls' or 'html' from the file's first bytes; a one-line error otherwise."""
    with path.open("rb") as fh:
        start = fh.read(512)
    if start.startswith(_ZIP_MAGIC):
        return "xlsx"
    if start.startswith(_OLE2_MAGIC):
        return "xls"
    text = start.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<", b"<?xml")) and (b"<html" in text or b"<table" in text):
        raise InputError(
            f"{path}: a web page (HTML table) saved with an Excel suffix, as some web systems "
            "export; open it in Excel and save it as .xlsx or CSV"
        )
    raise InputError(
        f"{path}: not an Excel workbook (the file is truncated or another format); "
        "save the table again as .xlsx or CSV"
    )


def _read_workbook(path: Path, layout: TableLayout) -> pd.DataFrame:
    """One sheet of an .xlsx or .xls workbook as text columns, read with calamine (formula
    cells give the value Excel last computed; formulas are never evaluated)."""
    kind = _workbook_kind(path)
    if kind == "xls" and path.suffix.lower() != ".xls":
        raise InputError(
            f"{path}: a password-protected workbook (or an old .xls saved as .xlsx); "
            "remove the password in Excel (File > Info > Protect Workbook) or save it as .xlsx"
        )
    try:
        with pd.ExcelFile(path, engine="calamine") as book:
            sheets = [str(name) for name in book.sheet_names]
            visible = [
                str(meta.name)
                for meta in book.book.sheets_metadata
                if meta.visible == python_calamine.SheetVisibleEnum.Visible
            ]
            if layout.sheet is not None and layout.sheet not in sheets:
                raise InputError(
                    f"{path}: no sheet '{layout.sheet}' in the workbook (its sheets are "
                    f"{names_summary(sheets)}); {layout.fix('sheet', 'one of them')}"
                )
            read = layout.sheet if layout.sheet is not None else (visible or sheets)[0]
            cells = pd.read_excel(
                book, sheet_name=read, header=None, dtype=object, keep_default_na=False
            )
    except InputError:
        raise
    except _WORKBOOK_ERRORS as exc:
        protected = " or password-protected" if kind == "xls" else ""
        raise InputError(
            f"{path}: cannot read the workbook ({type(exc).__name__}: {shorten(str(exc), 80)}); "
            f"it may be truncated, damaged{protected}: save it again as .xlsx or CSV"
        ) from None
    if layout.sheet is None and len(sheets) > 1 and layout.header_row > len(cells):
        raise InputError(
            f"{path}: the first sheet '{read}' has only {len(cells)} row(s), fewer than "
            f"header_row = {layout.header_row}; the workbook's sheets are "
            f"{names_summary(sheets)}: {layout.fix('sheet', 'the one holding the table')}"
        )
    if len(cells) == 0:
        raise InputError(f"{path}: the sheet '{read}' is empty; give the sheet holding the table")
    _refuse_long_numbers(path, read, cells)
    frame = cells.astype(str)
    if kind == "xlsx":
        uncalculated = uncalculated_formulas(path, read)
        if uncalculated:
            raise InputError(
                f"{path}: sheet '{read}': cell(s) {names_summary(uncalculated)} hold formulas "
                "that were never calculated (the file was written by a program, not saved "
                "by Excel), so their values are unknown; open the workbook in Excel or "
                "WPS, let it calculate, save it, and run again"
            )
    return _with_header(path, frame, layout, "row")


def _refuse_long_numbers(path: Path, sheet: str, cells: pd.DataFrame) -> None:
    """Numeric cells of more than 15 digits: a household id or a village code that Excel
    (or whatever wrote the file) stored as a number has lost its last digits."""
    for column in cells.columns:
        values = cells[column]
        if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty", "boolean"):
            continue  # text cells only (most columns): nothing to look at one by one
        long = values.map(
            lambda v: (
                isinstance(v, int | float) and not isinstance(v, bool) and abs(v) >= EXACT_DIGITS
            )
        ).to_numpy(dtype=bool)
        if long.any():
            rows = np.flatnonzero(long) + 1
            raise InputError(
                f"{path}: sheet '{sheet}', column {_column_letter(int(column))}: numbers of "
                f"more than 15 digits at {rows_summary(rows, values[long].tolist(), unit='row')}"
                "; a number keeps only 15-16 digits, so such codes or ids have lost their last "
                "digits: store the column as text in the export (or in Excel: format the "
                "column as Text and type the codes again)"
            )


def _column_letter(index: int) -> str:
    """Excel's name of the column at 0-based ``index``: A, B, ..., Z, AA, ..."""
    name = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        name = chr(ord("A") + remainder) + name
    return name


_FORMULA = re.compile(rb"<f[ >/]")
_UNCALCULATED = re.compile(
    rb'<c r="([A-Z]+[0-9]+)"[^>]*>(?:<f[^>]*/>|<f[^>]*>[^<]*</f>)(?:<v\s*/>|<v></v>)?</c>'
)
_RELATIONSHIP = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def uncalculated_formulas(path: Path, sheet: str) -> list[str]:
    """The cells of an .xlsx sheet that hold a formula without a stored result (a file a
    program wrote without calculating it): read, they would look empty. [] when the
    sheet cannot be found in the package (calamine read it; this is only a check)."""
    try:
        with zipfile.ZipFile(path) as package:
            part = _sheet_part(package, sheet)
            if part is None:
                return []
            xml = package.read(part)
    except (zipfile.BadZipFile, KeyError, OSError, ElementTree.ParseError):
        return []
    if not _FORMULA.search(xml):  # the usual case: no formula at all, decided at C speed
        return []
    return [m.decode("ascii") for m in _UNCALCULATED.findall(xml)]


def _sheet_part(package: zipfile.ZipFile, sheet: str) -> str | None:
    """The package part (e.g. xl/worksheets/sheet2.xml) of the sheet named ``sheet``."""
    book = ElementTree.fromstring(package.read("xl/workbook.xml"))
    ids = [
        s.get(_RELATIONSHIP)
        for s in book.iter()
        if s.tag.endswith("}sheet") and s.get("name") == sheet
    ]
    if not ids:
        return None
    rels = ElementTree.fromstring(package.read("xl/_rels/workbook.xml.rels"))
    for rel in rels:
        if rel.get("Id") == ids[0]:
            target = rel.get("Target") or ""
            return target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return None


def _with_header(path: Path, grid: pd.DataFrame, layout: TableLayout, unit: str) -> pd.DataFrame:
    """The rows below the header of a header-less grid, named by the header's cells. The
    grid starts at the file's first line (a workbook) or at the header (a CSV, read from
    there: ``unit`` 'line')."""
    header_row = layout.header_row if unit == "row" else 1
    if header_row > len(grid):
        raise InputError(
            f"{path}: header_row = {header_row}, but the table has only {len(grid)} "
            f"{unit}(s); {layout.fix('header_row', f'the {unit} holding the column names')}"
        )
    names = [str(name).strip() for name in grid.iloc[header_row - 1]]
    frame = grid.iloc[header_row:].reset_index(drop=True)
    frame.columns = _unique_names(names)
    _refuse_repeated_columns(path, names)
    return frame


def _unique_names(names: list[str]) -> list[str]:
    """Column names as pandas gives them: blanks 'Unnamed: i', repeats 'x.1', 'x.2'."""
    seen: dict[str, int] = {}
    unique = []
    for i, name in enumerate(names):
        name = name or f"Unnamed: {i}"
        count = seen.get(name, 0)
        seen[name] = count + 1
        unique.append(name if count == 0 else f"{name}.{count}")
    return unique


def sheet_names(path: Path) -> list[str]:
    """The sheets of a workbook ([] when it cannot be opened)."""
    try:
        with pd.ExcelFile(path, engine="calamine") as book:
            return [str(name) for name in book.sheet_names]
    except (*_WORKBOOK_ERRORS, ImportError):
        return []


def read_table(
    path: Path,
    *,
    role: str = "households",
    layout: TableLayout | None = None,
    key: str | None = None,
) -> Table:
    """The table as text columns, with each row's line in the file. ``role`` names the
    file in messages, ``key`` the project file's key that gives its path."""
    layout = layout or TableLayout()
    if not path.exists():
        raise InputFileNotFoundError(
            f"{path}: {role} file not found; check {key or f'[{role}] path'}"
        )
    if not path.is_file():
        raise InputError(f"{path}: the {role} file is a folder or a device; give a file")
    if path.suffix.lower() in EXCEL_SUFFIXES:
        return _without_blank_rows(_read_workbook(path, layout), None, layout.header_row)
    if layout.sheet is not None:
        raise InputError(
            f"{path}: {layout.section} sheet = '{layout.sheet}' is for workbooks (.xlsx, "
            ".xls), and this is a text table; remove the sheet key"
        )
    raw = path.read_bytes()
    try:
        for encoding in ENCODINGS:
            try:
                grid = pd.read_csv(
                    path,
                    dtype=str,
                    keep_default_na=False,
                    encoding=encoding,
                    skip_blank_lines=False,
                    header=None,
                    skiprows=layout.header_row - 1,
                )
            except UnicodeDecodeError:
                continue
            break
        else:
            raise InputError(
                f"{path}: the text is neither UTF-8 nor GB18030/GBK; save the table as UTF-8 CSV"
            )
    except pd.errors.EmptyDataError:
        if layout.header_row > 1:
            raise InputError(
                f"{path}: header_row = {layout.header_row}, but the file has fewer lines; "
                f"{layout.fix('header_row', 'the line holding the column names')}"
            ) from None
        raise InputError(
            f"{path}: cannot read the table (the file is empty); check the file"
        ) from None
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        title = re.search(r"Expected 1 fields in line (\d+)", message)
        to_header = layout.fix("header_row", "the line with the column names")
        fix = f"if the lines above it hold a title, {to_header}" if title else "check the file"
        raise InputError(
            f"{path}: cannot read the table ({shorten(message, 120)}); {fix}"
        ) from None
    frame = _with_header(path, grid, layout, "line")
    return _without_blank_rows(frame, raw, layout.header_row)


def one_column_separator(columns: list[str]) -> str | None:
    """The separator a one-column header holds (';', a tab, '|'): the file was saved with
    another separator than commas. None otherwise."""
    header = "".join(str(c) for c in columns)
    if len(columns) != 1:
        return None
    return next((s for s in (";", "\t", "|") if s in header), None)


def _refuse_repeated_columns(path: Path, names: list[str]) -> None:
    """A header naming a column twice: which one is meant would be a guess."""
    counts: dict[str, int] = {}
    for name in names:
        if name:
            counts[name] = counts.get(name, 0) + 1
    repeated = sorted(name for name, count in counts.items() if count > 1)
    if repeated:
        raise InputError(
            f"{path}: the header names column(s) {names_summary(repeated)} more than once; "
            "rename or remove the extra columns, so that it is clear which one is meant"
        )


def _without_blank_rows(frame: pd.DataFrame, raw: bytes | None, header_row: int) -> Table:
    """Blank rows left out; each remaining row with its line in the file (the header is
    line ``header_row``). ``raw`` is a CSV's bytes, to tell cells spanning lines; None for
    a workbook, whose rows are the file's rows."""
    extra = np.zeros(len(frame), dtype=np.int64)
    if raw is not None:
        physical = raw.count(b"\n") + (0 if raw.endswith(b"\n") else 1)
        if physical != len(frame) + header_row:  # some cell spans several lines
            for column in frame.columns:
                extra += frame[column].str.count("\n").to_numpy(dtype=np.int64)
    lines = header_row + 1 + np.arange(len(frame)) + np.concatenate([[0], np.cumsum(extra)[:-1]])
    blank = (frame == "").all(axis=1).to_numpy() if len(frame.columns) else np.zeros(0, bool)
    if blank.any():
        frame = frame[~blank].reset_index(drop=True)
        lines = lines[~blank]
    return Table(frame, lines.astype(np.int64))
