"""Steps 2 to 7 of the model: probability, loss, poverty probability, return risk, classes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from hazardmap.model.hazard import HazardParams
from hazardmap.model.households import HouseholdArrays
from hazardmap.vocabulary import INCOME_COMPONENTS, INSURABLE_COMPONENTS


def income_loss(
    x: np.ndarray, households: HouseholdArrays, hazard: HazardParams, cover: float
) -> np.ndarray:
    """L: loss as a share of annual income, clamped to [0, 1]; NaN where x is NaN.

    L = sum_c s_c * d_c(x) * (1 - cover * insured * [c insurable]) + H(housing)
    (summed over the components the layer damages: the others add nothing).
    """
    x = np.asarray(x, dtype=np.float64)
    insured = households.insured | hazard.insure_all
    kept = 1.0 - cover * insured  # of an insurable loss, what the household bears
    income_part = np.zeros(x.shape)
    for j, component in enumerate(INCOME_COMPONENTS):
        ratio = hazard.damage_ratio(component, x)
        if ratio is not None:
            loss = households.shares[:, j] * ratio
            income_part += loss * kept if component in INSURABLE_COMPONENTS else loss
    loss = np.clip(income_part + hazard.housing_losses()[households.housing], 0.0, 1.0)
    return np.where(np.isnan(x), np.nan, loss)


def poverty_probability(
    income: np.ndarray, loss: np.ndarray, line: float, sigma: float
) -> np.ndarray:
    """q = Phi((ln z - ln(y (1 - L))) / sigma); 1 when nothing is left; NaN stays NaN."""
    remaining = income * (1.0 - loss)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = ndtr((np.log(line) - np.log(remaining)) / sigma)
    return np.where(remaining <= 0.0, 1.0, q)


def baseline_vulnerability(income: np.ndarray, line: float, sigma: float) -> np.ndarray:
    """q0: the probability of ending the year below the line with no shock."""
    return poverty_probability(income, np.zeros_like(income), line, sigma)


def combine(risks: Sequence[np.ndarray]) -> np.ndarray:
    """R = 1 - prod(1 - r) over independent hazards; NaN if any hazard is missing."""
    if not risks:
        raise ValueError("combine needs at least one hazard")
    survival = np.ones_like(risks[0])
    for r in risks:
        survival = survival * (1.0 - r)
    return 1.0 - survival


def classify(values: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """1 low, 2 moderate, 3 high, 4 very high by three increasing thresholds; 0 for NaN."""
    values = np.asarray(values, dtype=np.float64)
    classes = np.searchsorted(np.asarray(thresholds, dtype=np.float64), values, side="right") + 1
    return np.where(np.isnan(values), 0, classes).astype(np.int8)


@dataclass(frozen=True)
class HazardOutcome:
    """Per household, for one hazard: intensity, event probability, loss, return risk."""

    value: np.ndarray
    probability: np.ndarray
    loss: np.ndarray
    risk: np.ndarray


@dataclass(frozen=True)
class HouseholdRisk:
    """Per household: baseline vulnerability, each hazard's outcome, combined risk."""

    q0: np.ndarray
    hazards: dict[str, HazardOutcome]
    risk: np.ndarray


def assess_hazard(
    x: np.ndarray,
    households: HouseholdArrays,
    hazard: HazardParams,
    *,
    line: float,
    sigma: float,
    cover: float,
    q0: np.ndarray | None = None,
) -> HazardOutcome:
    """r = p(x) * (q(x) - q0) for every household."""
    if q0 is None:
        q0 = baseline_vulnerability(households.income, line, sigma)
    p = hazard.probability(x)
    loss = income_loss(x, households, hazard, cover)
    q = poverty_probability(households.income, loss, line, sigma)
    return HazardOutcome(
        value=np.asarray(x, dtype=np.float64), probability=p, loss=loss, risk=p * (q - q0)
    )


def assess_households(
    households: HouseholdArrays,
    hazards: Sequence[HazardParams],
    intensities: Mapping[str, np.ndarray],
    *,
    line: float,
    sigma: float,
    cover: float,
) -> HouseholdRisk:
    """The whole household model for every hazard, and the combined risk."""
    q0 = baseline_vulnerability(households.income, line, sigma)
    outcomes = {
        h.name: assess_hazard(
            intensities[h.name], households, h, line=line, sigma=sigma, cover=cover, q0=q0
        )
        for h in hazards
    }
    combined = combine([o.risk for o in outcomes.values()])
    return HouseholdRisk(q0=q0, hazards=outcomes, risk=combined)
