"""Interventions: returns avoided per village, ranked by effectiveness, chosen on a budget."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hazardmap.model.hazard import HazardParams
from hazardmap.model.households import HouseholdArrays
from hazardmap.model.risk import HouseholdRisk, assess_hazard, combine

PRIORITY_COLUMNS = [
    "rank",
    "village_code",
    "name",
    "intervention",
    "hazard",
    "households",
    "returns_avoided",
    "cost_cny",
    "effectiveness",
    "chosen",
]


@dataclass(frozen=True)
class Intervention:
    """A change to one hazard's parameters for every household of a village."""

    name: str
    hazard: str
    cost_per_household: float
    probability_factor: float | None = None
    damage_factor: Mapping[str, float] | None = None
    insure: bool = False


def returns_avoided(
    intervention: Intervention,
    households: HouseholdArrays,
    hazards: Sequence[HazardParams],
    intensities: Mapping[str, np.ndarray],
    baseline: HouseholdRisk,
    *,
    line: float,
    sigma: float,
    cover: float,
) -> np.ndarray:
    """Per household: R without the intervention minus R with it (NaN where R is NaN)."""
    target = next(h for h in hazards if h.name == intervention.hazard)
    changed = target.with_intervention(
        probability_factor=intervention.probability_factor,
        damage_factor=intervention.damage_factor,
        insure=intervention.insure,
    )
    outcome = assess_hazard(
        intensities[target.name],
        households,
        changed,
        line=line,
        sigma=sigma,
        cover=cover,
        q0=baseline.q0,
    )
    risks = [
        outcome.risk if name == target.name else result.risk
        for name, result in baseline.hazards.items()
    ]
    avoided: np.ndarray = baseline.risk - combine(risks)
    return avoided


def rank_interventions(
    avoided_by_village: pd.DataFrame,
    interventions: Sequence[Intervention],
    villages: pd.DataFrame,
    budget: float | None,
) -> pd.DataFrame:
    """Every (village, intervention) pair with returns avoided > 0, best effectiveness first.

    ``avoided_by_village`` has one column per intervention name, indexed like ``villages``
    (which holds village_code, name and n_households). With a budget, pairs are chosen
    greedily by effectiveness while they fit; a village gets at most one intervention per
    hazard, because returns avoided were measured one intervention at a time.
    """
    rows = []
    for item in interventions:
        avoided = avoided_by_village[item.name].to_numpy()
        cost = item.cost_per_household * villages["n_households"].to_numpy()
        for i in np.flatnonzero(avoided > 0):
            rows.append(
                {
                    "village_code": villages["village_code"].iloc[i],
                    "name": villages["name"].iloc[i],
                    "intervention": item.name,
                    "hazard": item.hazard,
                    "households": int(villages["n_households"].iloc[i]),
                    "returns_avoided": float(avoided[i]),
                    "cost_cny": float(cost[i]),
                    "effectiveness": float(avoided[i] / (cost[i] / 1e6)),
                }
            )
    table = pd.DataFrame(rows, columns=[c for c in PRIORITY_COLUMNS if c not in ("rank", "chosen")])
    table = table.sort_values(
        ["effectiveness", "returns_avoided", "village_code", "intervention"],
        ascending=[False, False, True, True],
        kind="stable",
    ).reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1, dtype=np.int64))
    table["chosen"] = choose_within_budget(table, budget)
    return table[PRIORITY_COLUMNS]


def choose_within_budget(ranked: pd.DataFrame, budget: float | None) -> np.ndarray:
    """Greedy choice down the ranked list; all False without a budget."""
    chosen = np.zeros(len(ranked), dtype=bool)
    if budget is None:
        return chosen
    # counted in whole fen: floats drift (3000.70 - 1000.30 leaves 2000.3999999999999)
    remaining = round(float(budget) * 100)
    taken: set[tuple[str, str]] = set()
    for i, (village, hazard, cost) in enumerate(
        zip(ranked["village_code"], ranked["hazard"], ranked["cost_cny"], strict=True)
    ):
        cost_fen = round(float(cost) * 100)
        if cost_fen <= remaining and (village, hazard) not in taken:
            chosen[i] = True
            remaining -= cost_fen
            taken.add((village, hazard))
    return chosen
