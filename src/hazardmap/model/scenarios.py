"""The model for one set of parameter values, on intensities already overlaid: per village
the expected returns and, per intervention, the returns avoided, the cost and the greedy
choice within the budget. The run's priorities and every sample of ``uncertainty`` are
computed by these functions, so a sample at the configured values is the run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from hazardmap.model.hazard import HazardParams
from hazardmap.model.households import HouseholdArrays
from hazardmap.model.interventions import Intervention, greedy_choice, rank_pairs, returns_avoided
from hazardmap.model.risk import HouseholdRisk, assess_households


@dataclass(frozen=True)
class Exposure:
    """What stays the same from one set of parameter values to the next: the households,
    each hazard's intensity at them, their villages, and each village code's place in
    code order (for ties)."""

    households: HouseholdArrays
    intensities: Mapping[str, np.ndarray]
    village: np.ndarray
    village_order: np.ndarray

    @property
    def n_villages(self) -> int:
        return len(self.village_order)

    def by_village(self, values: np.ndarray) -> np.ndarray:
        """Per village the sum of a per-household value (missing values count nothing)."""
        return np.bincount(
            self.village, weights=np.nan_to_num(values, nan=0.0), minlength=self.n_villages
        )

    def households_per_village(self) -> np.ndarray:
        return np.bincount(self.village, minlength=self.n_villages)


@dataclass(frozen=True)
class Parameters:
    """One set of the model's parameter values."""

    hazards: tuple[HazardParams, ...]
    interventions: tuple[Intervention, ...]
    line: float
    sigma: float
    cover: float
    budget: float | None

    def poverty_terms(self) -> dict[str, float]:
        return {"line": self.line, "sigma": self.sigma, "cover": self.cover}


@dataclass(frozen=True)
class Evaluation:
    """What one set of parameter values gives: per household the risk, per village the
    expected returns and whether any household there has a value, and per (village,
    intervention) the returns avoided, the cost and whether the budget's greedy choice
    takes it."""

    risk: HouseholdRisk
    village_returns: np.ndarray
    village_has_value: np.ndarray
    avoided: np.ndarray
    cost: np.ndarray
    chosen: np.ndarray


def avoided_by_village(
    exposure: Exposure, parameters: Parameters, risk: HouseholdRisk
) -> np.ndarray:
    """(villages, interventions): each intervention's returns avoided in each village."""
    columns = [
        exposure.by_village(
            returns_avoided(
                item,
                exposure.households,
                parameters.hazards,
                exposure.intensities,
                risk,
                **parameters.poverty_terms(),
            )
        )
        for item in parameters.interventions
    ]
    return np.column_stack(columns) if columns else np.zeros((exposure.n_villages, 0))


def intervention_costs(exposure: Exposure, interventions: Sequence[Intervention]) -> np.ndarray:
    """(villages, interventions): cost per household times the village's households."""
    return np.outer(
        exposure.households_per_village(), [item.cost_per_household for item in interventions]
    ).astype(np.float64)


def choose(
    exposure: Exposure,
    interventions: Sequence[Intervention],
    avoided: np.ndarray,
    cost: np.ndarray,
    budget: float | None,
) -> np.ndarray:
    """(villages, interventions): the pairs the greedy choice within the budget takes,
    down the ranked list (all False without a budget)."""
    order = np.unique([item.name for item in interventions], return_inverse=True)[1].ravel()
    village, item = rank_pairs(avoided, cost, exposure.village_order, order)
    hazards = [interventions[k].hazard for k in item]
    taken = greedy_choice(village.tolist(), hazards, cost[village, item].tolist(), budget)
    chosen = np.zeros(avoided.shape, dtype=bool)
    chosen[village[taken], item[taken]] = True
    return chosen


def evaluate(exposure: Exposure, parameters: Parameters) -> Evaluation:
    """The household model, the villages' expected returns and the interventions, for
    one set of parameter values."""
    risk = assess_households(
        exposure.households,
        parameters.hazards,
        exposure.intensities,
        **parameters.poverty_terms(),
    )
    avoided = avoided_by_village(exposure, parameters, risk)
    cost = intervention_costs(exposure, parameters.interventions)
    return Evaluation(
        risk=risk,
        village_returns=exposure.by_village(risk.risk),
        village_has_value=exposure.by_village(np.isfinite(risk.risk).astype(float)) > 0,
        avoided=avoided,
        cost=cost,
        chosen=choose(exposure, parameters.interventions, avoided, cost, parameters.budget),
    )
