"""The outputs of an earlier run, read back for the comparison with this one."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hazardmap.problems import Problems, names_summary
from hazardmap.spreadsheet import restore_formulas

COMPARED = ("village_code", "name", "risk_class", "expected_returns")
"""The columns the comparison needs (hazard levels are compared where both runs have them)."""


def read_previous(folder: Path, problems: Problems | None = None) -> pd.DataFrame | None:
    """The village table of the run that wrote ``folder``, if there is one to read. One
    that cannot be used (edited by hand, saved again by a spreadsheet) is a warning: the
    comparison then has nothing to compare with."""
    path = folder / "villages.csv"
    if not path.is_file():
        return None
    try:
        table = pd.read_csv(path, dtype={"village_code": str}, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError):
        reason = "it is not the UTF-8 CSV hazardmap wrote"
    else:
        missing = [c for c in COMPARED if c not in table.columns]
        if not missing:
            return restore_formulas(table)  # the codes and names as they were written
        reason = f"it lacks the column(s) {names_summary(missing)}"
    if problems is not None:
        problems.warn(
            f"{path}: the previous run's village table cannot be compared with ({reason}; "
            "edited or saved again by a spreadsheet?), so changes.csv lists no changes this "
            "time; keep hazardmap's outputs as they were written"
        )
    return None
