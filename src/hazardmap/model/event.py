"""One event that has happened: who it most likely pushed below the line, and by how much
(MODEL.md, "One event"). Pure functions of aligned arrays.

For a household in the footprint at intensity e, the event's loss L^e comes from the
event's damage ratios over e (or the layer's constant ones) and its housing losses, as
step 3 of the annual model does; q^e is the probability of ending the year below the line
after it, and the event risk a = q^e - q0 the probability that this event pushed the
household there. need is the event-caused shortfall below the line at the household's
median income, in CNY for the whole household. Outside the footprint, a = need = 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from hazardmap.model.hazard import DamageSpec, Frequency, HazardParams
from hazardmap.model.households import HouseholdArrays
from hazardmap.model.risk import baseline_vulnerability, income_loss, poverty_probability


@dataclass(frozen=True)
class EventOutcome:
    """Per household: in the footprint, the intensity there, the loss (a share of annual
    income), q after the event, q0, the event risk, the need in CNY, and whether it is a
    lead for the township's cadres."""

    in_footprint: np.ndarray
    intensity: np.ndarray
    loss: np.ndarray
    q_event: np.ndarray
    q0: np.ndarray
    risk: np.ndarray
    need: np.ndarray
    lead: np.ndarray


def assess_event(
    households: HouseholdArrays,
    members: np.ndarray,
    in_footprint: np.ndarray,
    intensity: np.ndarray,
    *,
    damage: Mapping[str, DamageSpec],
    housing: Mapping[str, float],
    line: float,
    sigma: float,
    cover: float,
    lead_threshold: float,
) -> EventOutcome:
    """The event's outcome for every household (``intensity`` NaN where the footprint
    gives none: constant ratios need none)."""
    inside = np.asarray(in_footprint, dtype=bool)
    hazard = HazardParams(
        name="event", frequency=Frequency(type="probability"), damage=damage, housing=housing
    )
    x = np.where(inside, np.nan_to_num(np.asarray(intensity, dtype=np.float64), nan=0.0), 0.0)
    loss = np.where(inside, income_loss(x, households, hazard, cover), 0.0)
    income = households.income
    q0 = baseline_vulnerability(income, line, sigma)
    q_event = np.where(inside, poverty_probability(income, loss, line, sigma), q0)
    risk = np.where(inside, q_event - q0, 0.0)
    remaining = income * (1.0 - loss)
    shortfall = np.maximum(0.0, line - remaining) - np.maximum(0.0, line - income)
    need = np.where(inside, shortfall * np.asarray(members, dtype=np.float64), 0.0)
    lead = inside & (risk >= lead_threshold)
    return EventOutcome(
        inside, np.where(inside, intensity, np.nan), loss, q_event, q0, risk, need, lead
    )
