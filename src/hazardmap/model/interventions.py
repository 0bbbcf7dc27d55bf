"""Interventions: returns avoided per village, ranked by effectiveness, chosen on a budget."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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


def rank_pairs(
    avoided: np.ndarray, cost: np.ndarray, village_order: np.ndarray, intervention_order: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The (village, intervention) pairs with returns avoided > 0, best effectiveness
    (returns avoided per million CNY) first; ties go to more returns avoided, then to the
    village code and the intervention name (``village_order``, ``intervention_order``:
    each one's place in that order). ``avoided`` and ``cost`` are (villages,
    interventions). Returns the pairs' village and intervention indices, in rank order."""
    village, item = np.nonzero(avoided > 0)
    gained = avoided[village, item]
    effectiveness = gained / (cost[village, item] / 1e6)
    order = np.lexsort((intervention_order[item], village_order[village], -gained, -effectiveness))
    return village[order], item[order]


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
    households = villages["n_households"].to_numpy()
    avoided = avoided_by_village[[item.name for item in interventions]].to_numpy(dtype=float)
    avoided = avoided.reshape(len(villages), len(interventions))
    cost = np.outer(households, [item.cost_per_household for item in interventions])
    codes = villages["village_code"].to_numpy()
    village, item = rank_pairs(
        avoided, cost, _places(codes), _places([i.name for i in interventions])
    )
    hazard = np.array([i.hazard for i in interventions], dtype=object)
    names = np.array([i.name for i in interventions], dtype=object)
    gained = avoided[village, item]
    spent = cost[village, item].astype(float)
    table = pd.DataFrame(
        {
            "rank": np.arange(1, len(village) + 1, dtype=np.int64),
            "village_code": codes[village],
            "name": villages["name"].to_numpy()[village],
            "intervention": names[item],
            "hazard": hazard[item],
            "households": households[village].astype(np.int64),
            "returns_avoided": gained,
            "cost_cny": spent,
            "effectiveness": gained / (spent / 1e6),
        }
    )
    table["chosen"] = choose_within_budget(table, budget)
    return table[PRIORITY_COLUMNS]


def _places(values: Sequence[str] | np.ndarray) -> np.ndarray:
    """Each value's place in the sorted order of the values."""
    return np.unique(np.asarray(values, dtype=str), return_inverse=True)[1].ravel()


def choose_within_budget(ranked: pd.DataFrame, budget: float | None) -> np.ndarray:
    """Greedy choice down the ranked list; all False without a budget."""
    return greedy_choice(
        ranked["village_code"].tolist(), ranked["hazard"].tolist(), ranked["cost_cny"], budget
    )


def greedy_choice(
    villages: Sequence[object],
    hazards: Sequence[object],
    costs: Iterable[float],
    budget: float | None,
) -> np.ndarray:
    """Down a ranked list of pairs: each taken while it fits in what is left of the
    budget and its village has no measure against its hazard yet; all False without a
    budget."""
    chosen = np.zeros(len(villages), dtype=bool)
    if budget is None:
        return chosen
    # counted in whole fen: floats drift (3000.70 - 1000.30 leaves 2000.3999999999999)
    remaining = round(float(budget) * 100)
    taken: set[tuple[object, object]] = set()
    for i, (village, hazard, cost) in enumerate(zip(villages, hazards, costs, strict=True)):
        cost_fen = round(float(cost) * 100)
        if cost_fen <= remaining and (village, hazard) not in taken:
            chosen[i] = True
            remaining -= cost_fen
            taken.add((village, hazard))
    return chosen
