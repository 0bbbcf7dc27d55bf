"""Household tables: read, map the columns to the standard fields, check every value.

Any problem stops the run with one line naming the file, the column, the first offending
lines (as counted in the file), what was expected and the fix. Values that are possible
but suspicious (income shares that leave most income unexplained) are warnings.

The file may be the monitoring system's export as it comes: a title above the header
(``header_row``), the table on another sheet (``sheet``), its own labels (built in, or
``[households.values]``), income as amounts (``[households.income]``), and coordinates in
one "lon,lat" column (``lonlat_field``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hazardmap.config import DERIVED_FIELDS, HouseholdsSection, IncomeSection
from hazardmap.errors import InputError
from hazardmap.io.income import derive_income, household_splits
from hazardmap.io.labels import fold, vocabulary
from hazardmap.io.tables import (
    EXCEL_SUFFIXES,
    Table,
    TableLayout,
    one_column_separator,
    read_table,
    sheet_names,
)
from hazardmap.io.text import control_characters, personal_numbers
from hazardmap.problems import Problems, names_summary, rows_summary
from hazardmap.vocabulary import (
    CATEGORIES,
    HOUSEHOLD_FIELDS,
    HOUSING_TYPES,
    INCOME_SHARE_FIELDS,
)

SHARE_TOLERANCE = 1e-6
MAX_MEMBERS = 100  # more is a typing error, not a household
LOW_SHARE_SUM = 0.5
"""Income shares summing below this leave most of the income unexplained (no loss)."""
LOW_SHARE_TOLERATED = 0.05
"""Share of households allowed below LOW_SHARE_SUM before it is a warning."""
LONLAT_SEPARATOR = r"\s*[,，;；]\s*|\s+"
"""What parts the numbers of '105.886224,35.418055', as map pickers give them: a comma
(full-width too), a semicolon, or spaces. The order is checked later (swapped pairs are
found and swapped back)."""


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
        expected = "a number" if np.isneginf(low) else f"a number {bound}{limit}"
        self.fail(field, bad, expected, "correct those values")
        return values

    def label(self, field: str, labels: Mapping[str, Any], known: tuple[str, ...]) -> np.ndarray:
        """Each cell's value in the vocabulary, through the labels it may be given as."""
        raw = self.raw(field)
        codes, uniques = pd.factorize(raw)  # a handful of labels, however many rows
        values = np.array([labels.get(fold(label)) for label in uniques], dtype=object)
        mapped = values[codes]
        bad = np.array([value is None for value in values], dtype=bool)[codes]
        if bad.any():
            label = raw[bad].iloc[0]
            label = label if len(label) <= 40 else label[:40] + "..."
            # a TOML string; a label holding line or control characters fully escaped
            example = json.dumps(label, ensure_ascii=not label.isprintable())
            value = f'"{known[-1]}"' if known else "true"
            expected = f"one of {list(known)}" if known else "true or false (1/0, 是/否)"
            self.fail(
                field,
                bad,
                f"{expected} or a label hazardmap knows (docs/configuration.md)",
                f"map the file's own labels under [households.values], e.g. "
                f"{field} = {{ {example} = {value} }}",
            )
        return mapped

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

    def coordinate_pair(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """Longitude and latitude from one 'lon,lat' column (NaN where it is empty)."""
        raw = self.frame[column].astype(str).str.strip()
        parts = raw.str.replace(LONLAT_SEPARATOR, ",", regex=True).str.split(",", n=1, expand=True)
        parts = parts.reindex(columns=[0, 1], fill_value="")
        lon = pd.to_numeric(parts[0], errors="coerce").to_numpy(dtype=np.float64)
        lat = pd.to_numeric(parts[1], errors="coerce").to_numpy(dtype=np.float64)
        bad = (raw != "").to_numpy() & ~(np.isfinite(lon) & np.isfinite(lat))
        if bad.any():
            self.problems.append(
                f"{self.path}: column '{column}': expected two numbers 'lon,lat' (e.g. "
                f"105.886224,35.418055) or an empty cell at "
                f"{rows_summary(self.lines[bad], raw[bad].tolist())}; correct those cells"
            )
        return lon, lat

    def amount(self, field: str, *, negative: bool) -> tuple[np.ndarray, np.ndarray]:
        """An income amount in CNY (a net business loss may be negative); an empty cell
        is 0. Also the mask of empty cells."""
        raw = self.raw(field)
        empty = (raw == "").to_numpy()
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, copy=True)
        values[empty] = 0.0
        bad = ~np.isfinite(values) | (False if negative else values < 0)
        expected = "an amount in CNY" if negative else "an amount in CNY, 0 or more"
        self.fail(field, bad, expected, "correct those values")
        return values, empty


def _header_line(table: Table, wanted: list[str], header_row: int) -> int | None:
    """The line among the first ones (the table's header, at ``header_row``, and the rows
    below it) that holds most of the wanted column names."""
    wanted_set = set(wanted)
    enough = max(2, len(wanted_set) // 2)
    if len({str(c).strip() for c in table.frame.columns} & wanted_set) >= enough:
        return header_row
    for position in range(min(len(table.frame), 20)):
        cells = {str(c).strip() for c in table.frame.iloc[position]}
        if len(cells & wanted_set) >= enough:
            return int(table.lines[position])
    return None


def _from_first_line(path: Path, settings: HouseholdsSection, table: Table) -> Table:
    """The table read from its first line, to find a header above ``header_row`` (on the
    error path only); ``table`` itself when it already starts there or cannot be reread."""
    if settings.header_row == 1:
        return table
    try:
        return read_table(path, layout=TableLayout(settings.sheet, 1))
    except InputError:
        return table


def _missing_columns(
    path: Path, table: Table, missing: list[str], wanted: list[str], settings: HouseholdsSection
) -> InputError:
    frame = table.frame
    found = f"the file has {names_summary(list(frame.columns))}"
    separator = one_column_separator(list(frame.columns))
    if separator is not None:
        return InputError(
            f"{path}: the header is one column ({found}): the file seems separated by "
            f"{separator!r}, not commas; save it as comma-separated CSV"
        )
    whole = _from_first_line(path, settings, table)
    line = _header_line(whole, wanted, 1 if whole is not table else settings.header_row)
    if line is not None and line != settings.header_row:
        return InputError(
            f"{path}: column(s) {names_summary(missing)} not found on line "
            f"{settings.header_row} ({found}), but line {line} holds the column names; set "
            f"[households] header_row = {line}"
        )
    if path.suffix.lower() in EXCEL_SUFFIXES:
        sheets = sheet_names(path)
        if len(sheets) > 1:
            return InputError(
                f"{path}: column(s) {names_summary(missing)} not found on the sheet read "
                f"({found}); the workbook's sheets are {names_summary(sheets)}: set "
                "[households] sheet to the one holding the household table"
            )
    return InputError(
        f"{path}: column(s) {names_summary(missing)} not found ({found}); "
        "rename them, or map them under [households.fields] in the project file"
    )


def _coordinate_columns(path: Path, frame: pd.DataFrame, settings: HouseholdsSection) -> list[str]:
    """The coordinate columns to read: [lon, lat], [lonlat], or [] for a file without
    coordinates. Columns the project file names must exist; the default names may both
    be absent."""
    if settings.lonlat_field is not None:
        wanted = [settings.lonlat_field]
    else:
        wanted = [settings.lon_field, settings.lat_field]
    present = [c in frame.columns for c in wanted]
    if all(present):
        return wanted
    if not any(present) and not settings.coordinates_required:
        return []
    absent = [c for c, here in zip(wanted, present, strict=True) if not here]
    keys = "lonlat_field" if settings.lonlat_field is not None else "lon_field and lat_field"
    raise InputError(
        f"{path}: coordinate column(s) {names_summary(absent)} not found (the file has "
        f"{names_summary(list(frame.columns))}); set [households] {keys} to the file's "
        "coordinate columns, or remove them if the file has none"
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


def _shares(check: _Checker) -> dict[str, np.ndarray]:
    """The share_* columns as the file gives them, each in [0, 1], summing to at most 1."""
    shares = {f: check.number(f, low=0.0, high=1.0) for f in INCOME_SHARE_FIELDS}
    share_sum = np.sum(list(shares.values()), axis=0)
    bad_sum = share_sum > 1.0 + SHARE_TOLERANCE
    if bad_sum.any():
        sums = [round(float(s), 4) for s in share_sum[bad_sum]]
        check.problems.append(
            f"{check.path}: income shares add up to more than 1 at "
            f"{rows_summary(check.lines[bad_sum], sums)}; "
            "the share_* columns are fractions of income and must sum to at most 1"
        )
    return shares


def _income_from_amounts(
    check: _Checker,
    income: IncomeSection,
    members: np.ndarray,
    village_code: np.ndarray,
    village_splits: pd.DataFrame | None,
    problems: Problems | None,
    check_splits: bool,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """income_pc and shares derived from the amounts ([households.income]); a positive
    business amount needs a split (unless ``check_splits`` is off: the split table could
    not be read, and says so itself)."""
    amounts: dict[str, np.ndarray] = {}
    empty = np.zeros(len(members), dtype=bool)
    for source in income.columns():
        amounts[source], blank = check.amount(f"income.{source}", negative=source == "business")
        empty |= blank
    total = np.sum(list(amounts.values()), axis=0)
    not_positive = np.isfinite(total) & (total <= 0)
    if not_positive.any():
        where = rows_summary(check.lines[not_positive], total[not_positive].tolist())
        check.problems.append(
            f"{check.path}: the income amounts ({', '.join(income.columns().values())}) add "
            f"up to 0 or less at {where}; a household's net income must be positive: "
            "correct the amounts"
        )
    splits, unsplit = household_splits(village_code, income.business_split, village_splits)
    needs_split = unsplit & (amounts.get("business", np.zeros(len(members))) > 0)
    if check_splits and needs_split.any():
        codes = sorted(set(village_code[needs_split]))
        check.problems.append(
            f"{check.path}: no business split for the village(s) {names_summary(codes)} "
            f"({rows_summary(check.lines[needs_split])}); add them to "
            "[households.income] business_split_path, or set business_split for the rest"
        )
    if problems is not None and empty.any():
        problems.warn(
            f"{check.path}: {int(empty.sum()):,} households have an empty income amount "
            f"({rows_summary(check.lines[empty])}); an empty amount is counted as 0"
        )
    splits = np.where(np.isnan(splits), 0.0, splits)
    return derive_income(amounts, members, income.per, splits)


def read_households(
    path: Path,
    settings: HouseholdsSection | None = None,
    *,
    village_splits: pd.DataFrame | None = None,
    check_splits: bool = True,
    problems: Problems | None = None,
) -> pd.DataFrame:
    """Households with the standard columns, typed, plus ``x``/``y`` (NaN where missing)
    and ``line``, each household's line in the file.

    ``settings`` ([households] of the project file) says where the table is, which column
    holds each field, the file's labels and how income is given; ``village_splits`` is the
    per-village business split of ``[households.income] business_split_path``;
    ``check_splits`` off reads the file even though that table could not be read (its
    own error says why), for the problems of the file itself.
    """
    settings = settings or HouseholdsSection(path=path)
    income = settings.income
    table = read_table(path, layout=TableLayout(settings.sheet, settings.header_row))
    frame = table.frame
    fields = [f for f in HOUSEHOLD_FIELDS if income is None or f not in DERIVED_FIELDS]
    columns = {field: settings.fields.get(field, field) for field in fields}
    if income is not None:
        columns |= {f"income.{k}": column for k, column in income.columns().items()}
    wanted = list(dict.fromkeys(columns.values()))
    missing = [column for column in wanted if column not in frame.columns]
    if missing:
        raise _missing_columns(path, table, missing, wanted, settings)
    if len(frame) == 0:
        raise InputError(f"{path}: no households in the file; add at least one row")
    coordinate_columns = _coordinate_columns(path, frame, settings)
    check = _Checker(path, table, columns)
    members = check.number("members", low=1.0, high=MAX_MEMBERS)
    fractional = np.isfinite(members) & (members != np.round(members))
    check.fail("members", fractional, "a whole number", "correct those values")
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
    if income is None:
        shares = _shares(check)
        income_pc = check.number("income_pc", low=0.0, strict_low=True)
    else:
        income_pc, shares = _income_from_amounts(
            check, income, members, village_code, village_splits, problems, check_splits
        )
    own = settings.values
    category = check.label("category", vocabulary("category", own.category), CATEGORIES)
    housing = check.label("housing", vocabulary("housing", own.housing), HOUSING_TYPES)
    insured_vocabulary = vocabulary("insured", own.insured)
    insured_labels = {"": False} | insured_vocabulary  # the project's own labels win
    unknown = (check.raw("insured") == "").to_numpy() & ("" not in insured_vocabulary)
    insured = check.label("insured", insured_labels, ())
    if len(coordinate_columns) == 1:
        x, y = check.coordinate_pair(coordinate_columns[0])
    else:
        x, y = (check.coordinate(c) for c in coordinate_columns or (None, None))
    check.done()  # every problem of every column at once
    if problems is not None:
        share_sum = np.sum(list(shares.values()), axis=0)
        problems.warn(*_share_warnings(path, share_sum, check.lines))
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
            "income_pc": income_pc,
            "category": category,
            **shares,
            "housing": housing,
            "insured": insured.astype(bool),
            "x": x,
            "y": y,
            "line": check.lines,
        }
    )
