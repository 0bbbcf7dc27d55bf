"""The changes between two runs: villages, households and the inputs they were run on.

A village is listed when its risk class or any hazard level changed (status ``changed``),
when only its expected returns moved by at least ``min_returns`` (``returns_moved``), or
when it appears (``new``) or disappears (``removed``), with the old and new values and the
change in expected returns. A household is listed when its risk class changed, or when it
appears or disappears. Inputs are matched by role (the households, the villages, the raster
of a layer), not by path, so a raster moved to another folder is the same input.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

HOUSEHOLD_CHANGE_COLUMNS = (
    "household_id",
    "village_code",
    "status",
    "old_risk_class",
    "new_risk_class",
    "old_risk",
    "new_risk",
)
"""household_changes.csv's columns."""

HOUSEHOLD_COMPARED = ("household_id", "village_code", "risk_class", "risk")
"""The columns of a household table the comparison needs."""

RETURNS_TOLERANCE = 1e-9
"""A move of ``min_returns`` less this still counts: 0.3 - 0.2 is 0.0999... in floats."""


def _tracked(hazards: tuple[str, ...]) -> list[str]:
    return ["risk_class", *(f"{h}_level" for h in hazards)]


def change_columns(hazards: tuple[str, ...]) -> list[str]:
    columns = ["village_code", "name", "status"]
    for column in [*_tracked(hazards), "expected_returns"]:
        columns += [f"old_{column}", f"new_{column}"]
    return [*columns, "change_expected_returns"]


def _whole(values: pd.Series) -> pd.Series:
    """Classes and levels as whole numbers, blank where missing (not 2.0 beside NaN)."""
    numbers = pd.to_numeric(values, errors="coerce")
    whole = numbers.notna() & (numbers == np.round(numbers))
    if bool((whole | numbers.isna()).all()):
        return numbers.astype("Int64")
    return numbers


def compare_runs(
    previous: pd.DataFrame,
    current: pd.DataFrame,
    hazards: tuple[str, ...],
    min_returns: float | None = None,
) -> pd.DataFrame:
    """Villages whose class or levels changed between two village tables, or (with
    ``min_returns``) whose expected returns moved by at least that much; one row each.

    A hazard the previous run did not have changes no village by itself: its new levels
    are listed for the villages listed for another reason. Rows are sorted by the size of
    the change in expected returns, largest first; new and removed villages last."""
    tracked = _tracked(hazards)
    old = previous.drop_duplicates("village_code").set_index("village_code")
    new = current.set_index("village_code")
    codes = new.index.union(old.index, sort=False)
    in_old = codes.isin(old.index)
    in_new = codes.isin(new.index)
    table = pd.DataFrame({"village_code": codes.to_numpy()})
    names = new["name"].reindex(codes)
    table["name"] = names.where(in_new, old["name"].reindex(codes)).to_numpy()
    for column in [*tracked, "expected_returns"]:
        table[f"old_{column}"] = (
            old[column].reindex(codes).to_numpy() if column in old.columns else np.nan
        )
        table[f"new_{column}"] = new[column].reindex(codes).to_numpy()
    both = in_old & in_new
    moved = np.zeros(len(codes), dtype=bool)
    for column in (c for c in tracked if c in old.columns):
        moved |= (table[f"old_{column}"] != table[f"new_{column}"]).to_numpy()
    delta = pd.to_numeric(table["new_expected_returns"], errors="coerce") - pd.to_numeric(
        table["old_expected_returns"], errors="coerce"
    )
    returns = np.zeros(len(codes), dtype=bool)
    if min_returns is not None:
        size = delta.abs().to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            returns = (size > 0) & (size >= min_returns - RETURNS_TOLERANCE)
    status = np.select(
        [~in_old, ~in_new, both & moved, both & returns],
        ["new", "removed", "changed", "returns_moved"],
        default="",
    )
    table.insert(2, "status", status)
    table["change_expected_returns"] = delta.to_numpy(dtype=float, na_value=np.nan)
    table = table[status != ""].reset_index(drop=True)
    for column in tracked:
        for side in ("old", "new"):
            table[f"{side}_{column}"] = _whole(table[f"{side}_{column}"])
    table = table[change_columns(hazards)]
    return table.sort_values(
        "change_expected_returns", key=lambda s: -s.abs(), na_position="last", kind="stable"
    )


def compare_households(previous: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """Households whose risk class changed between two household tables (matched by
    ``household_id``), and those in one table only (``new``, ``removed``); sorted by
    village code and household id. Where a household moved village, its new one."""
    old = previous.loc[previous["household_id"].notna(), list(HOUSEHOLD_COMPARED)]
    old = old.drop_duplicates("household_id")
    new = current.loc[:, list(HOUSEHOLD_COMPARED)]
    old = old.assign(household_id=old["household_id"].astype(str))
    new = new.assign(household_id=new["household_id"].astype(str))
    merged = new.merge(
        old, on="household_id", how="outer", suffixes=("_new", "_old"), indicator=True
    )
    side = merged["_merge"].to_numpy()
    in_new, in_old = side != "right_only", side != "left_only"
    old_class = pd.to_numeric(merged["risk_class_old"], errors="coerce")
    new_class = pd.to_numeric(merged["risk_class_new"], errors="coerce")
    changed = in_new & in_old & (old_class != new_class).to_numpy()
    status = np.select([~in_old, ~in_new, changed], ["new", "removed", "changed"], default="")
    codes = merged["village_code_new"].where(in_new, merged["village_code_old"])
    table = pd.DataFrame(
        {
            "household_id": merged["household_id"].to_numpy(dtype=object),
            "village_code": codes.to_numpy(dtype=object),
            "status": status,
            "old_risk_class": old_class.to_numpy(),
            "new_risk_class": new_class.to_numpy(),
            "old_risk": pd.to_numeric(merged["risk_old"], errors="coerce").to_numpy(),
            "new_risk": pd.to_numeric(merged["risk_new"], errors="coerce").to_numpy(),
        }
    )
    table = table[status != ""]
    for column in ("old_risk_class", "new_risk_class"):
        table[column] = _whole(table[column])
    return table.sort_values(["village_code", "household_id"], kind="stable").reset_index(drop=True)


def _keyed(entries: Iterable[Mapping[str, Any]]) -> dict[str, str | None]:
    """SHA-256 by role; a role's further files (a Shapefile's .dbf) by role and suffix."""
    keyed: dict[str, str | None] = {}
    for entry in entries:
        role = str(entry.get("role", ""))
        key = role
        if role in keyed:
            path = PurePosixPath(str(entry.get("path", "")))
            key = f"{role} {path.suffix or path.name}"
        sha = entry.get("sha256")
        keyed[key] = sha if isinstance(sha, str) else None
    return keyed


def differing_inputs(
    previous: Sequence[Mapping[str, Any]], current: Sequence[Mapping[str, Any]]
) -> list[tuple[str, str | None, str | None]]:
    """(role, old SHA-256, new SHA-256) of each input whose content differs between two
    manifests' ``inputs``, matched by role; None on the side without that role."""
    old, new = _keyed(previous), _keyed(current)
    return [
        (role, old.get(role), new.get(role))
        for role in [*new, *(r for r in old if r not in new)]
        if old.get(role) != new.get(role)
    ]
