"""``[households]``: where the household table is, which column holds each field, the file's
own labels, and income given as amounts."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

from hazardmap.config.fields import Count, NonNegative, Probability, StrictModel, only_known
from hazardmap.vocabulary import (
    BUSINESS_PARTS,
    CATEGORIES,
    HOUSEHOLD_FIELDS,
    HOUSING_TYPES,
    INCOME_FIELDS,
    INCOME_SHARE_FIELDS,
)

Category = Literal["none", "unstable", "marginal", "hardship"]
Housing = Literal["earth", "brick_wood", "brick_concrete", "frame", "cave"]
assert set(Category.__args__) == set(CATEGORIES)  # type: ignore[attr-defined]
assert set(Housing.__args__) == set(HOUSING_TYPES)  # type: ignore[attr-defined]
SPLIT_TOLERANCE = 1e-6


def check_split(split: Mapping[str, float], where: str) -> None:
    """A business split: shares of business income that sum to 1."""
    total = math.fsum(split.values())
    if abs(total - 1.0) > SPLIT_TOLERANCE:
        raise ValueError(f"{where} sums to {total:g}; its shares must sum to 1")


def _repeated(columns: list[str]) -> list[str]:
    """The columns named more than once, sorted."""
    return sorted({c for c in columns if columns.count(c) > 1})


DERIVED_FIELDS = frozenset({"income_pc", *INCOME_SHARE_FIELDS})
"""Household fields that [households.income] derives from the amounts instead of reading."""


class HouseholdValues(StrictModel):
    """The file's own labels for the fixed vocabularies, beside the built-in ones."""

    category: dict[str, Category] = Field(default_factory=dict)
    housing: dict[str, Housing] = Field(default_factory=dict)
    insured: dict[str, StrictBool] = Field(default_factory=dict)


class IncomeSection(StrictModel):
    """Net income as amounts (the monitoring system's 工资性收入, 生产经营性收入, ...)."""

    wage: str | None = None
    business: str | None = None
    transfer: str | None = None
    property: str | None = None
    per: Literal["household", "person"] = "household"
    business_split: dict[str, Probability] | None = None
    business_split_path: Path | None = None

    @field_validator("business_split")
    @classmethod
    def _a_split(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is not None:
            only_known(value, BUSINESS_PARTS, "business part")
            check_split(value, "business_split")
        return value

    @model_validator(mode="after")
    def _complete(self) -> IncomeSection:
        if not self.columns():
            raise ValueError(
                "names no income column; set at least one of wage, business, transfer, "
                "property to the file's column"
            )
        has_split = self.business_split is not None or self.business_split_path is not None
        if self.business is not None and not has_split:
            raise ValueError(
                "business income needs business_split (the county's estimate of its crop, "
                "orchard, livestock and other parts, summing to 1) or business_split_path"
            )
        return self

    @model_validator(mode="after")
    def _distinct_columns(self) -> IncomeSection:
        repeated = _repeated(list(self.columns().values()))
        if repeated:
            raise ValueError(
                f"names the column(s) {repeated} for more than one income source, which "
                "would count the same amount twice; give each source its own column"
            )
        return self

    def columns(self) -> dict[str, str]:
        """Each income amount the file holds: component -> column."""
        return {k: v for k in INCOME_FIELDS if (v := getattr(self, k)) is not None}


class HouseholdsSection(StrictModel):
    path: Path
    lon_field: str = "lon"
    lat_field: str = "lat"
    lonlat_field: str | None = None
    crs: str = "EPSG:4326"
    sheet: str | None = None
    header_row: Annotated[Count, Field(ge=1)] = 1
    county_tolerance_m: NonNegative = 1000.0
    village_tolerance_m: NonNegative = 500.0
    duplicate_threshold: Annotated[Count, Field(ge=2)] = 10
    fields: dict[str, str] = Field(default_factory=dict)
    values: HouseholdValues = HouseholdValues()
    income: IncomeSection | None = None

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        only_known(value, HOUSEHOLD_FIELDS, "household field")
        return value

    @model_validator(mode="after")
    def _one_way_to_coordinates(self) -> HouseholdsSection:
        if self.lonlat_field is not None and {"lon_field", "lat_field"} & self.model_fields_set:
            raise ValueError(
                "lonlat_field names one 'lon,lat' column, lon_field and lat_field two "
                "columns; keep only one of the two ways"
            )
        return self

    @model_validator(mode="after")
    def _one_way_to_income(self) -> HouseholdsSection:
        replaced = sorted(set(self.fields) & DERIVED_FIELDS) if self.income is not None else []
        if replaced:
            raise ValueError(
                f"[households.fields] maps {replaced}, which [households.income] replaces "
                "(they are derived from the amounts); remove those mappings"
            )
        return self

    @model_validator(mode="after")
    def _a_column_per_field(self) -> HouseholdsSection:
        named = [*self.fields.values(), *([self.lonlat_field] if self.lonlat_field else [])]
        if self.income is not None:
            named += self.income.columns().values()
        repeated = _repeated(named)
        if repeated:
            raise ValueError(
                f"the column(s) {repeated} are named for more than one field; each field "
                "needs its own column"
            )
        return self

    @property
    def coordinates_required(self) -> bool:
        """The project file names the coordinate columns, so the file must have them."""
        return bool({"lon_field", "lat_field", "lonlat_field"} & self.model_fields_set)
