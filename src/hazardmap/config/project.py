"""The sections of the project file (``hazardmap.toml``) other than ``[households]``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

from hazardmap.config.fields import (
    Count,
    NonNegative,
    Positive,
    Probability,
    Real,
    StrictModel,
    only_known,
)
from hazardmap.config.households import HouseholdsSection
from hazardmap.config.uncertainty import UncertaintySection
from hazardmap.model.interventions import Intervention
from hazardmap.vocabulary import (
    INCOME_COMPONENTS,
)


class ProjectSection(StrictModel):
    name: str
    monitoring_line: Positive
    income_sigma: Positive = 0.35
    insurance_cover: Probability = 0.4

    def poverty_terms(self) -> dict[str, float]:
        """The model's keyword arguments for the line, the spread of income and insurance."""
        return {
            "line": self.monitoring_line,
            "sigma": self.income_sigma,
            "cover": self.insurance_cover,
        }


class VillagesSection(StrictModel):
    path: Path
    id_field: str = "village_code"
    name_field: str = "name"
    township_field: str | None = None
    crs: str | None = None
    layer: str | None = None
    code_digits: Annotated[Count, Field(ge=1)] | None = None
    """Cut longer village codes to this many digits (19-digit land-survey codes to 12)."""


class LayersSection(StrictModel):
    dir: Path = Path("layers")


class RiskSection(StrictModel):
    classes: tuple[Probability, Probability, Probability] = (0.02, 0.05, 0.10)
    min_area_share: Annotated[Real, Field(gt=0.0, le=1.0)] = 0.10

    @field_validator("classes")
    @classmethod
    def _increasing(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        if not value[0] < value[1] < value[2]:
            raise ValueError(f"the three class thresholds must increase, got {list(value)}")
        return value


class ChangesSection(StrictModel):
    baseline: Path | None = None
    """The output folder compared with (default: the previous run in the target folder)."""
    min_returns: NonNegative = 0.1
    """A village is also listed when its expected returns move at least this much."""


class SimulationSection(StrictModel):
    """Simulated years (docs/model.md, "Simulated years"): when present, run simulates."""

    years: Annotated[Count, Field(ge=100, le=10_000_000)] = 10_000
    seed: Annotated[Count, Field(ge=0)] = 1
    compound: Literal["sum", "separate"] = "sum"


class OutputsSection(StrictModel):
    dir: Path = Path("outputs/latest")


class MapSection(StrictModel):
    households: bool = True
    backdrop: Path | None = None


class PlanningSection(StrictModel):
    budget_cny: NonNegative | None = None


class InterventionConfig(StrictModel):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]+$")]
    title: str | None = None
    hazard: str
    probability_factor: NonNegative | None = None
    damage_factor: dict[str, NonNegative] | None = None
    insure: StrictBool = False
    cost_per_household: Positive

    @field_validator("damage_factor")
    @classmethod
    def _known_components(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is not None:
            only_known(value, INCOME_COMPONENTS, "income component")
        return value

    def intervention(self) -> Intervention:
        """The model's view of this intervention."""
        return Intervention(
            name=self.name,
            hazard=self.hazard,
            cost_per_household=self.cost_per_household,
            probability_factor=self.probability_factor,
            damage_factor=self.damage_factor,
            insure=self.insure,
        )

    @model_validator(mode="after")
    def _changes_something(self) -> InterventionConfig:
        if self.probability_factor is None and not self.damage_factor and not self.insure:
            raise ValueError(
                f"intervention '{self.name}' changes nothing; set probability_factor, "
                "damage_factor or insure = true"
            )
        return self


class ProjectFile(StrictModel):
    project: ProjectSection
    villages: VillagesSection
    households: HouseholdsSection
    layers: LayersSection = LayersSection()
    risk: RiskSection = RiskSection()
    outputs: OutputsSection = OutputsSection()
    map: MapSection = MapSection()
    planning: PlanningSection = PlanningSection()
    changes: ChangesSection = ChangesSection()
    simulation: SimulationSection | None = None
    uncertainty: UncertaintySection | None = None
    interventions: list[InterventionConfig] = Field(default_factory=list)
