"""Village aggregates of household risk, and hazard levels from coverage-weighted shares."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def hazard_level(
    share_at_or_above: np.ndarray, has_data: np.ndarray, min_share: float
) -> np.ndarray:
    """Level 1..4: the highest k whose cells (level k or above) cover at least ``min_share``
    of the village's valid area; 0 where the village has no data.

    ``share_at_or_above`` is (villages, 3): the covered share at or above each level break.
    """
    reached = np.asarray(share_at_or_above) >= min_share
    level = np.ones(reached.shape[0], dtype=np.int8)
    for k in range(reached.shape[1]):  # the highest break reached wins
        level = np.where(reached[:, k], k + 2, level)
    return np.where(has_data, level, 0).astype(np.int8)


def aggregate_households(
    village_codes: Sequence[str],
    household_village: np.ndarray,
    members: np.ndarray,
    risk: np.ndarray,
    risk_class: np.ndarray,
    hazard_risks: dict[str, np.ndarray],
) -> pd.DataFrame:
    """Household aggregates per village, in the order of ``village_codes``.

    Households with a missing hazard (NaN risk) are counted in n_households and
    population, left out of the risk sums and means, and counted in n_no_data.
    """
    index = pd.Index(list(village_codes), name="village_code")
    frame = pd.DataFrame(
        {
            "village_code": household_village,
            "members": members,
            "risk": risk,
            "high": risk_class >= 3,
            "no_data": np.isnan(risk),
            **{f"{h}_expected_returns": r for h, r in hazard_risks.items()},
        }
    )
    grouped = frame.groupby("village_code", sort=False)
    out = pd.DataFrame(index=index)
    out["n_households"] = grouped.size().reindex(index, fill_value=0).astype(np.int64)
    out["population"] = grouped["members"].sum().reindex(index, fill_value=0).astype(np.int64)
    out["risk_mean"] = grouped["risk"].mean().reindex(index)
    out["expected_returns"] = grouped["risk"].sum().reindex(index, fill_value=0.0)
    out["n_high_risk"] = grouped["high"].sum().reindex(index, fill_value=0).astype(np.int64)
    out["n_no_data"] = grouped["no_data"].sum().reindex(index, fill_value=0).astype(np.int64)
    hazard_columns = [f"{h}_expected_returns" for h in hazard_risks]
    for column in hazard_columns:
        out[column] = grouped[column].sum().reindex(index, fill_value=0.0)
    out["dominant_hazard"] = dominant_hazard(out[hazard_columns].to_numpy(), list(hazard_risks))
    return out.reset_index()


def dominant_hazard(expected: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """The hazard with the largest expected returns per row; '' where all are zero."""
    if expected.shape[1] == 0:
        return np.full(expected.shape[0], "", dtype=object)
    best = np.argmax(expected, axis=1)
    labels = np.asarray(names, dtype=object)[best]
    return np.where(expected.max(axis=1) > 0, labels, "")


def village_class(shares: np.ndarray, classes: np.ndarray, min_area_share: float) -> np.ndarray:
    """A class layer's value for households placed by their village: the highest class
    whose cells (of that class or above) cover at least ``min_area_share`` of the
    village's area with data, as for the levels; NaN for a village without data. Never a
    mean of classes, which would be no class at all."""
    shares = np.nan_to_num(np.asarray(shares, dtype=np.float64))
    at_or_above = np.cumsum(shares[:, ::-1], axis=1)[:, ::-1]
    reaches = at_or_above >= min_area_share
    highest = len(classes) - 1 - np.argmax(reaches[:, ::-1], axis=1)
    value = np.asarray(classes, dtype=np.float64)[highest]
    return np.where(reaches.any(axis=1), value, np.nan)
