"""The changes between two runs: villages whose risk class or a hazard level moved.

A village is listed when its risk class or any hazard level changed, or when it appears
or disappears, with the old and new values and the change in expected returns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def _tracked(hazards: tuple[str, ...]) -> list[str]:
    return ["risk_class", *(f"{h}_level" for h in hazards)]


def change_columns(hazards: tuple[str, ...]) -> list[str]:
    columns = ["village_code", "name", "status"]
    for column in [*_tracked(hazards), "expected_returns"]:
        columns += [f"old_{column}", f"new_{column}"]
    return [*columns, "change_expected_returns"]


def compare_runs(
    previous: pd.DataFrame, current: pd.DataFrame, hazards: tuple[str, ...]
) -> pd.DataFrame:
    """Villages whose class or levels changed between two village tables (one row each).

    A hazard the previous run did not have changes no village by itself: its new levels
    are listed for the villages listed for another reason."""
    tracked = _tracked(hazards)
    columns = change_columns(hazards)
    old = previous.set_index("village_code")
    new = current.set_index("village_code")
    rows = []
    for code in new.index.union(old.index, sort=False):
        in_old, in_new = code in old.index, code in new.index
        row: dict[str, Any] = {
            "village_code": code,
            "name": new.at[code, "name"] if in_new else old.at[code, "name"],
        }
        for column in [*tracked, "expected_returns"]:
            row[f"old_{column}"] = (
                old.at[code, column] if in_old and column in old.columns else np.nan
            )
            row[f"new_{column}"] = new.at[code, column] if in_new else np.nan
        if not in_old:
            row["status"] = "new"
        elif not in_new:
            row["status"] = "removed"
        elif any(row[f"old_{c}"] != row[f"new_{c}"] for c in tracked if c in old.columns):
            row["status"] = "changed"
        else:
            continue
        row["change_expected_returns"] = float(row["new_expected_returns"]) - float(
            row["old_expected_returns"]
        )
        rows.append(row)
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values(
        "change_expected_returns", key=lambda s: -s.abs(), na_position="last", kind="stable"
    )
