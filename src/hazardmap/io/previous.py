"""The outputs of an earlier run, read back for the comparison with this one."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hazardmap.spreadsheet import restore_formulas


def read_previous(folder: Path) -> pd.DataFrame | None:
    """The village table of the run that wrote ``folder``, if there is one to read."""
    path = folder / "villages.csv"
    if not path.is_file():
        return None
    try:
        table = pd.read_csv(path, dtype={"village_code": str}, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError):
        return None  # not ours, or damaged by hand: there is nothing to compare with
    return restore_formulas(table)  # the codes and names as they were, not as written
