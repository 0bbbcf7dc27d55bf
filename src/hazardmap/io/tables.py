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

import numpy as np
import pandas as pd

from hazardmap.errors import InputError, InputFileNotFoundError
from hazardmap.problems import names_summary, shorten


@dataclass(frozen=True)
class Table:
    """Text columns (blank lines left out), and each row's line in the file."""

    frame: pd.DataFrame
    lines: np.ndarray


ENCODINGS = ("utf-8-sig", "gb18030")
"""Tried in order: UTF-8 (with or without BOM), then GB18030, the superset of GBK and
GB2312 that Chinese spreadsheet exports use. UTF-8 decoding is strict, so text that is
not UTF-8 is never misread as such."""

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0"


def _read_workbook(path: Path) -> pd.DataFrame:
    """The first sheet of an .xlsx workbook as text columns."""
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic == _OLE2_MAGIC:
        raise InputError(
            f"{path}: a password-protected workbook (or an old .xls saved as .xlsx); "
            "remove the password in Excel (File > Info > Protect Workbook) or save it as .xlsx"
        )
    if magic != _ZIP_MAGIC:
        raise InputError(
            f"{path}: not an .xlsx workbook (the file is truncated or another format); "
            "save the table again as .xlsx or CSV"
        )
    try:
        frame = pd.read_excel(path, dtype=str, keep_default_na=False)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as exc:
        raise InputError(
            f"{path}: cannot read the workbook ({type(exc).__name__}: {shorten(str(exc), 80)}); "
            "it may be truncated or damaged: save it again as .xlsx or CSV"
        ) from None
    _refuse_repeated_columns(path, frame)
    return frame


def sheet_names(path: Path) -> list[str]:
    """The sheets of a workbook ([] when it cannot be opened)."""
    try:
        with pd.ExcelFile(path) as book:
            return [str(name) for name in book.sheet_names]
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError, ImportError):
        return []


def read_table(path: Path, *, role: str = "households") -> Table:
    """The table as text columns, with each row's line in the file."""
    if not path.exists():
        raise InputFileNotFoundError(f"{path}: {role} file not found; check [{role}] path")
    if not path.is_file():
        raise InputError(f"{path}: the {role} file is a folder or a device; give a file")
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise InputError(
            f"{path}: old Excel 97-2003 workbooks (.xls) are not read; "
            "save the table as .xlsx or CSV (UTF-8 or GBK)"
        )
    if suffix in EXCEL_SUFFIXES:
        return _without_blank_rows(_read_workbook(path), None)
    raw = path.read_bytes()
    try:
        for encoding in ENCODINGS:
            try:
                frame = pd.read_csv(
                    path,
                    dtype=str,
                    keep_default_na=False,
                    encoding=encoding,
                    skip_blank_lines=False,
                )
            except UnicodeDecodeError:
                continue
            break
        else:
            raise InputError(
                f"{path}: the text is neither UTF-8 nor GB18030/GBK; save the table as UTF-8 CSV"
            )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(
            f"{path}: cannot read the table ({shorten(message, 120)}); check the file"
        ) from None
    _refuse_repeated_columns(path, frame)
    return _without_blank_rows(frame, raw)


_REPEATED = re.compile(r"^(?P<name>.+)\.(?P<n>[1-9]\d*)$")
"""pandas names the second column called 'x' 'x.1', the third 'x.2', ..."""


def _refuse_repeated_columns(path: Path, frame: pd.DataFrame) -> None:
    """A header naming a column twice: pandas would silently keep the first one."""
    names = [str(c) for c in frame.columns]
    repeated = sorted(
        {m["name"] for c in names if (m := _REPEATED.match(c)) and m["name"] in names}
    )
    if repeated:
        raise InputError(
            f"{path}: the header names column(s) {names_summary(repeated)} more than once; "
            "rename or remove the extra columns, so that it is clear which one is meant"
        )


def _without_blank_rows(frame: pd.DataFrame, raw: bytes | None) -> Table:
    """Blank rows left out; each remaining row with its line in the file (the header is
    line 1). ``raw`` is a CSV's bytes, to tell cells spanning lines; None for a workbook,
    whose rows are the file's rows."""
    extra = np.zeros(len(frame), dtype=np.int64)
    if raw is not None:
        physical = raw.count(b"\n") + (0 if raw.endswith(b"\n") else 1)
        if physical != len(frame) + 1:  # some cell spans several lines
            for column in frame.columns:
                extra += frame[column].str.count("\n").to_numpy(dtype=np.int64)
    lines = 2 + np.arange(len(frame)) + np.concatenate([[0], np.cumsum(extra)[:-1]])
    blank = (frame == "").all(axis=1).to_numpy() if len(frame.columns) else np.zeros(0, bool)
    if blank.any():
        frame = frame[~blank].reset_index(drop=True)
        lines = lines[~blank]
    return Table(frame, lines.astype(np.int64))
