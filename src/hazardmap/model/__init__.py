"""The risk model of docs/model.md: pure functions of arrays, no files, no rasters."""

from hazardmap.model.hazard import Frequency, HazardParams
from hazardmap.model.households import HouseholdArrays
from hazardmap.model.risk import HazardOutcome, HouseholdRisk, assess_hazard, assess_households

__all__ = [
    "Frequency",
    "HazardOutcome",
    "HazardParams",
    "HouseholdArrays",
    "HouseholdRisk",
    "assess_hazard",
    "assess_households",
]
