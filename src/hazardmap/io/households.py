"""Household tables: read, map the columns to the standard fields, check every value.

Any problem stops the run with one line naming the file, the column, the first offending
lines (as counted in the file, header = line 1), what was expected and the fix. Values
that are possible but suspicious (income shares that leave most income unexplained) are
warnings.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from hazardmap.errors import InputError
from hazardmap.io.tables import EXCEL_SUFFIXES, Table, read_table, sheet_names
from hazardmap.io.text import control_characters, personal_numbers
from hazardmap.problems import Problems, names_summary, rows_summary
from hazardmap.vocabulary import (
    CATEGORY_ALIASES,
    HOUSEHOLD_FIELDS,
    HOUSING_TYPES,
    INCOME_COMPONENTS,
)

HOUSING_ALIASES: dict[str, str] = {
    **{h: h for h in HOUSING_TYPES},
    "土坯房": "earth",
    "土木": "earth",
    "砖木": "brick_wood",
    "砖混": "brick_concrete",
    "框架": "frame",
}
TRUE_WORDS = frozenset({"true", "1", "yes", "y", "是"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "否", ""})
SHARE_TOLERANCE = 1e-6
MAX_MEMBERS = 100  # more is a typing error, not a household
LOW_SHARE_SUM = 0.5
"""Income shares summing below this leave most of the income unexplained (no loss)."""
LOW_SHARE_TOLERATED = 0.05
"""Share of households allowed below LOW_SHARE_SUM before it is a warning."""


class _Checker:
    """Column-by-column parsing that collects one line per problem, so that every bad
    column is reported at once (``done`` raises them together)."""

    def __init__(self, path: Path, table: Table, columns: Mapping[str, str]) -> None:
        self.path = path
        self.frame = table.frame
        self.columns = columns
        self.lines = table.lines
        self.problems: list[str] = []

    def done(self) -> None:
        if self.problems:
            raise InputError(*self.problems)

    def raw(self, field: str) -> pd.Series:
        return self.frame[self.columns[field]].astype(str).str.strip()

    def fail(self, field: str, bad: np.ndarray, expected: str, fix: str) -> None:
        if bad.any():
            values = self.raw(field)[bad].tolist()
            self.problems.append(
                f"{self.path}: column '{self.columns[field]}': expected {expected} at "
                f"{rows_summary(self.lines[bad], values)}; {fix}"
            )

    def number(
        self, field: str, *, low: float, high: float = np.inf, strict_low: bool = False
    ) -> np.ndarray:
        column = self.frame[self.columns[field]]  # to_numeric ignores surrounding spaces
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
        too_low = values <= low if strict_low else values < low
        bad = ~np.isfinite(values) | too_low | (values > high)
        bound = f"> {low:g}" if strict_low else f">= {low:g}"
        limit = f" and <= {high:g}" if np.isfinite(high) else ""
        self.fail(field, bad, f"a number {bound}{limit}", "correct those values")
        return values

    def choice(self, field: str, aliases: Mapping[str, str], *, lower: bool = True) -> np.ndarray:
        raw = self.raw(field)
        keys = raw.str.lower() if lower else raw
        mapped = keys.map(lambda key: aliases.get(key))
        bad = mapped.isna().to_numpy()
        allowed = sorted({k for k in aliases if k})
        self.fail(field, bad, f"one of {allowed}", "use one of those values")
        return mapped.to_numpy(dtype=object)

    def text(self, field: str, *, unique: bool = False) -> np.ndarray:
        raw = self.raw(field)
        self.fail(field, (raw == "").to_numpy(), "a value", "fill in the empty cells")
        self.fail(
            field,
            control_characters(self.frame[self.columns[field]]),
            "printable text (no control characters such as NUL or line breaks)",
            "remove those characters",
        )
        if unique:
            dup = raw.duplicated(keep=False).to_numpy()
            self.fail(field, dup, "unique values", "give each household its own id")
        return raw.to_numpy(dtype=object)

    def coordinate(self, column: str | None) -> np.ndarray:
        if column is None:
            return np.full(len(self.frame), np.nan)
        raw = self.frame[column].astype(str).str.strip()
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
        bad = (raw != "").to_numpy() & ~np.isfinite(values)
        if bad.any():
            self.problems.append(
                f"{self.path}: column '{column}': expected a number or an empty cell at "
                f"{rows_summary(self.lines[bad], raw[bad].tolist())}; correct those coordinates"
            )
        return values


def _missing_columns(path: Path, frame: pd.DataFrame, missing: list[str]) -> InputError:
    found = f"the file has {names_summary(list(frame.columns))}"
    header = "".join(str(c) for c in frame.columns)
    separator = next((s for s in (";", "\t", "|") if s in header), None)
    if len(frame.columns) == 1 and separator is not None:
        return InputError(
            f"{path}: the header is one column ({found}): the file seems separated by "
            f"{separator!r}, not commas; save it as comma-separated CSV"
        )
    if path.suffix.lower() in EXCEL_SUFFIXES:
        sheets = sheet_names(path)
        if len(sheets) > 1:
            return InputError(
                f"{path}: column(s) {names_summary(missing)} not found on the first sheet "
                f"'{sheets[0]}' ({found}); the workbook's sheets are {names_summary(sheets)}: "
                "move the household table to the first sheet"
            )
    return InputError(
        f"{path}: column(s) {names_summary(missing)} not found ({found}); "
        "rename them, or map them under [households.fields] in the project file"
    )


def _coordinate_columns(
    path: Path,
    frame: pd.DataFrame,
    lon_field: str,
    lat_field: str,
    required: bool,
) -> tuple[str | None, str | None]:
    """The coordinate columns to read, or (None, None) for a file without coordinates.

    Columns the project file names must exist; the default names may both be absent."""
    present = [c in frame.columns for c in (lon_field, lat_field)]
    if all(present):
        return lon_field, lat_field
    if not any(present) and not required:
        return None, None
    absent = [c for c, here in zip((lon_field, lat_field), present, strict=True) if not here]
    raise InputError(
        f"{path}: coordinate column(s) {names_summary(absent)} not found (the file has "
        f"{names_summary(list(frame.columns))}); set [households] lon_field and lat_field "
        "to the file's coordinate columns, or remove them if the file has none"
    )


def _share_warnings(path: Path, share_sum: np.ndarray, lines: np.ndarray) -> list[str]:
    """Shares that explain little of the income: their income is never lost to a hazard."""
    warnings = []
    zero = np.isfinite(share_sum) & (share_sum <= 0.0)
    if zero.any():
        warnings.append(
            f"{path}: {int(zero.sum()):,} households have every income share 0, so no hazard "
            f"can take any of their income ({rows_summary(lines[zero])}); fill in the "
            "share_* columns"
        )
    low = np.isfinite(share_sum) & (share_sum < LOW_SHARE_SUM) & ~zero
    if low.mean() > LOW_SHARE_TOLERATED:
        warnings.append(
            f"{path}: {int(low.sum()):,} households ({low.mean():.0%}) have income shares "
            f"summing below {LOW_SHARE_SUM:g} ({rows_summary(lines[low])}); the rest of "
            "their income is treated as safe from every hazard: check the share_* columns"
        )
    return warnings


def read_households(
    path: Path,
    *,
    fields: Mapping[str, str] | None = None,
    lon_field: str = "lon",
    lat_field: str = "lat",
    coordinates_required: bool = False,
    problems: Problems | None = None,
) -> pd.DataFrame:
    """Households with the standard columns, typed, plus ``x``/``y`` (NaN where missing).

    ``fields`` maps a standard field to the input column that holds it; unmapped fields
    are expected under their standard names. Coordinate columns are optional unless
    ``coordinates_required`` (the project file names them).
    """
    table = read_table(path)
    frame = table.frame
    columns = {field: (fields or {}).get(field, field) for field in HOUSEHOLD_FIELDS}
    missing = [column for column in columns.values() if column not in frame.columns]
    if missing:
        raise _missing_columns(path, frame, missing)
    if len(frame) == 0:
        raise InputError(f"{path}: no households in the file; add at least one row")
    lon_column, lat_column = _coordinate_columns(
        path, frame, lon_field, lat_field, coordinates_required
    )
    check = _Checker(path, table, columns)
    shares = {
        f"share_{c}": check.number(f"share_{c}", low=0.0, high=1.0) for c in INCOME_COMPONENTS
    }
    share_sum = np.sum(list(shares.values()), axis=0)
    bad_sum = share_sum > 1.0 + SHARE_TOLERANCE
    if bad_sum.any():
        sums = [round(float(s), 4) for s in share_sum[bad_sum]]
        check.problems.append(
            f"{path}: income shares add up to more than 1 at "
            f"{rows_summary(check.lines[bad_sum], sums)}; "
            "the share_* columns are fractions of income and must sum to at most 1"
        )
    members = check.number("members", low=1.0, high=MAX_MEMBERS)
    fractional = np.isfinite(members) & (members != np.round(members))
    check.fail("members", fractional, "a whole number", "correct those values")
    insured_raw = check.raw("insured").str.lower()
    insured_bad = ~insured_raw.isin(TRUE_WORDS | FALSE_WORDS).to_numpy()
    check.fail("insured", insured_bad, "true or false (1/0, 是/否)", "correct those values")
    household_id = check.text("household_id", unique=True)
    village_code = check.text("village_code")
    personal = personal_numbers(pd.Series(household_id), pd.Series(village_code))
    for kind in sorted(set(personal) - {""}):
        bad = personal == kind
        check.problems.append(
            f"{path}: column '{columns['household_id']}' holds {kind} at "
            f"{rows_summary(check.lines[bad])}; household ids reach households.csv and the "
            "map, so use the monitoring system's household code (户编号) instead"
        )
    columns_checked = {
        "income_pc": check.number("income_pc", low=0.0, strict_low=True),
        "category": check.choice("category", CATEGORY_ALIASES),
        "housing": check.choice("housing", HOUSING_ALIASES),
        "x": check.coordinate(lon_column),
        "y": check.coordinate(lat_column),
    }
    check.done()  # every problem of every column at once
    if problems is not None:
        problems.warn(*_share_warnings(path, share_sum, check.lines))
        unknown = (insured_raw == "").to_numpy()
        if unknown.any():
            problems.warn(
                f"{path}: column '{columns['insured']}' is empty for {int(unknown.sum()):,} "
                f"households ({rows_summary(check.lines[unknown])}); they are counted as not "
                "insured: fill in 是/否 (true/false) where it is known"
            )
    return pd.DataFrame(
        {
            "household_id": household_id,
            "village_code": village_code,
            "members": members.astype(np.int64),
            "income_pc": columns_checked["income_pc"],
            "category": columns_checked["category"],
            **shares,
            "housing": columns_checked["housing"],
            "insured": insured_raw.isin(TRUE_WORDS).to_numpy(),
            "x": columns_checked["x"],
            "y": columns_checked["y"],
        }
    )
