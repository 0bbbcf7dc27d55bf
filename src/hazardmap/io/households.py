"""Household tables: read, map the columns to the standard fields, check every value.

Any problem stops the run with one line naming the file, the column, the first offending
lines (as counted in the file, header = line 1), what was expected and the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from hazardmap.errors import InputError, InputFileNotFoundError
from hazardmap.io.problems import rows_summary
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


ENCODINGS = ("utf-8-sig", "gb18030")
"""Tried in order: UTF-8 (with or without BOM), then GB18030, the superset of GBK and
GB2312 that Chinese spreadsheet exports use. UTF-8 decoding is strict, so text that is
not UTF-8 is never misread as such."""


def _read_table(path: Path) -> tuple[pd.DataFrame, str]:
    """The table as text columns, and the encoding it was read with ('xlsx' for Excel)."""
    if not path.exists():
        raise InputFileNotFoundError(f"{path}: households file not found; check [households] path")
    try:
        if path.suffix.lower() == ".xlsx":
            return pd.read_excel(path, dtype=str, keep_default_na=False), "xlsx"
        for encoding in ENCODINGS:
            try:
                return pd.read_csv(
                    path, dtype=str, keep_default_na=False, encoding=encoding
                ), encoding
            except UnicodeDecodeError:
                continue
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: cannot read the table ({message}); check the file") from None
    raise InputError(
        f"{path}: the text is neither UTF-8 nor GB18030/GBK; save the table as UTF-8 CSV"
    )


class _Checker:
    """Column-by-column parsing that collects one line per problem, so that every bad
    column is reported at once (``done`` raises them together)."""

    def __init__(self, path: Path, frame: pd.DataFrame, columns: Mapping[str, str]) -> None:
        self.path = path
        self.frame = frame
        self.columns = columns
        self.lines = np.arange(len(frame)) + 2
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
        values = pd.to_numeric(self.raw(field), errors="coerce").to_numpy(dtype=np.float64)
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
        if unique:
            dup = raw.duplicated(keep=False).to_numpy()
            self.fail(field, dup, "unique values", "give each household its own id")
        return raw.to_numpy(dtype=object)

    def coordinate(self, column: str | None) -> np.ndarray:
        if column is None or column not in self.frame.columns:
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


def read_households(
    path: Path,
    *,
    fields: Mapping[str, str] | None = None,
    lon_field: str = "lon",
    lat_field: str = "lat",
) -> pd.DataFrame:
    """Households with the standard columns, typed, plus ``x``/``y`` (NaN where missing).

    ``fields`` maps a standard field to the input column that holds it; unmapped fields
    are expected under their standard names.
    """
    frame, _ = _read_table(path)
    columns = {field: (fields or {}).get(field, field) for field in HOUSEHOLD_FIELDS}
    missing = [column for column in columns.values() if column not in frame.columns]
    if missing:
        raise InputError(
            f"{path}: column(s) {missing} not found (the file has {list(frame.columns)}); "
            "rename them, or map them under [households.fields] in the project file"
        )
    if len(frame) == 0:
        raise InputError(f"{path}: no households in the file; add at least one row")
    check = _Checker(path, frame, columns)
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
    columns_checked = {
        "household_id": check.text("household_id", unique=True),
        "village_code": check.text("village_code"),
        "income_pc": check.number("income_pc", low=0.0, strict_low=True),
        "category": check.choice("category", CATEGORY_ALIASES),
        "housing": check.choice("housing", HOUSING_ALIASES),
        "x": check.coordinate(lon_field),
        "y": check.coordinate(lat_field),
    }
    check.done()  # every problem of every column at once
    return pd.DataFrame(
        {
            "household_id": columns_checked["household_id"],
            "village_code": columns_checked["village_code"],
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
