"""A layer file (``layers/<name>.toml``): where x comes from and how it becomes risk."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

from hazardmap.config.fields import (
    Bound,
    Count,
    CurveInput,
    NonNegative,
    Positive,
    Probability,
    Real,
    StrictModel,
    check_curve,
    falls,
    only_known,
)
from hazardmap.model.hazard import DamageSpec, Frequency, FrequencyType, HazardParams
from hazardmap.model.reduction import Reduction
from hazardmap.vocabulary import (
    HOUSING_TYPES,
    INCOME_COMPONENTS,
)


class FrequencyConfig(StrictModel):
    type: FrequencyType
    points: CurveInput | None = None
    damaging_fraction: Probability | None = None

    @model_validator(mode="after")
    def _fits_type(self) -> FrequencyConfig:
        if self.type in ("table", "classes"):
            if self.points is None:
                pairs = "[[x, p], ...]" if self.type == "table" else "[[class, p], ...]"
                raise ValueError(f"type = '{self.type}' needs points = {pairs}")
            if not self.points:
                raise ValueError(f"type = '{self.type}' needs at least one point")
            if self.type == "table" or len(self.points) > 1:
                check_curve(self.points, "frequency points")
            if not all(0.0 <= p <= 1.0 for _, p in self.points):
                raise ValueError("frequency points must have probabilities in [0, 1]")
        elif self.points is not None:
            raise ValueError(f"points only apply to type = 'table' or 'classes', not '{self.type}'")
        if self.type == "rate" and self.damaging_fraction is None:
            raise ValueError("type = 'rate' needs damaging_fraction (share of events that damage)")
        if self.type != "rate" and self.damaging_fraction is not None:
            raise ValueError(f"damaging_fraction only applies to type = 'rate', not '{self.type}'")
        return self


Month = Annotated[Count, Field(ge=1, le=12)]


class ReduceSection(StrictModel):
    """How a cube becomes one value per cell (docs/model.md, "Hazard sources")."""

    months: tuple[Month, ...] | None = None
    years: tuple[Count, Count] | None = None
    within_year: Literal["mean", "min", "max", "sum"]
    across_years: str

    @model_validator(mode="after")
    def _consistent(self) -> ReduceSection:
        if self.months is not None and not self.months:
            raise ValueError("months = [] keeps no month; list the months to keep, or remove it")
        if self.months is not None and len(set(self.months)) != len(self.months):
            raise ValueError(f"months {list(self.months)} names a month twice")
        if self.years is not None and self.years[0] > self.years[1]:
            raise ValueError(f"years {list(self.years)}: the first year comes after the last")
        self.reduction().across()  # a ValueError naming what across_years should be
        return self

    def reduction(self) -> Reduction:
        return Reduction(
            within_year=self.within_year,
            across_years=self.across_years,
            months=self.months,
            years=self.years,
        )


ClassTable = dict[str, Real]
"""A class label (as text) -> x."""


class SitesSection(StrictModel):
    """Hazard sites (地质灾害隐患点): points with a grade or value and a threat radius,
    from a CSV with longitude and latitude or a vector file. ``source = "sites"`` takes
    these keys at the top of the layer file; any other source in a ``[sites]`` table."""

    path: Path
    layer: str | None = None
    field: str
    classes: ClassTable | None = None
    radius_m: Positive | None = None
    radius_field: str | None = None
    households_field: str | None = None
    id_field: str | None = None
    lon_field: str = "lon"
    lat_field: str = "lat"
    crs: str | None = None

    @model_validator(mode="after")
    def _one_radius(self) -> SitesSection:
        if (self.radius_m is None) == (self.radius_field is None):
            raise ValueError(
                "hazard sites need a threat radius: radius_m (metres, the same for every "
                "site) or radius_field (the field holding each site's radius), not both"
            )
        return self


_SITE_KEYS = ("radius_m", "radius_field", "households_field", "id_field", "lon_field", "lat_field")
KEY_SOURCES: dict[str, frozenset[str]] = {
    **dict.fromkeys(("layer", "field", "classes", "outside"), frozenset({"zones", "sites"})),
    **dict.fromkeys(_SITE_KEYS, frozenset({"sites"})),
    **dict.fromkeys(("variable", "reduce"), frozenset({"cube"})),
    "band": frozenset({"raster"}),
    **dict.fromkeys(("crs_override", "valid_range"), frozenset({"raster", "cube"})),
}
"""The keys that belong to some sources only: any other source refuses them."""


class CorrelationSection(StrictModel):
    """How a hazard's events strike together in simulated years: a county-wide share of
    the variation (rho_c), a share shared by each square cell of cell_km (rho_l), the rest
    each household's own (docs/model.md, "Simulated years")."""

    county: Probability = 0.0
    local: Probability = 0.0
    cell_km: Positive = 10.0

    @model_validator(mode="after")
    def _at_most_one(self) -> CorrelationSection:
        if self.county + self.local > 1.0 + 1e-12:
            raise ValueError(
                f"county + local = {self.county + self.local:g} exceeds 1: they are shares "
                "of one variation; lower one of them"
            )
        return self


class LayerFile(StrictModel):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    title: str
    title_zh: str | None = None
    source: Literal["raster", "cube", "zones", "sites"] = "raster"
    path: Path
    variable: str | None = None
    reduce: ReduceSection | None = None
    layer: str | None = None
    field: str | None = None
    classes: ClassTable | None = None
    outside: Real | None = None
    radius_m: Positive | None = None
    radius_field: str | None = None
    households_field: str | None = None
    id_field: str | None = None
    lon_field: str | None = None
    lat_field: str | None = None
    sites: SitesSection | None = None
    correlation: CorrelationSection | None = None
    units: str | None = None
    sampling: Literal["nearest", "bilinear"] = "nearest"
    crs: str | None = None
    crs_override: StrictBool = False
    band: Annotated[Count, Field(ge=1)] | None = None
    nodata: Real | None = None
    valid_range: tuple[Bound, Bound] | None = None
    levels: tuple[Real, Real, Real]
    frequency: FrequencyConfig
    damage: dict[str, Real | CurveInput] = Field(default_factory=dict)
    housing: dict[str, NonNegative] = Field(default_factory=dict)

    @field_validator("valid_range")
    @classmethod
    def _range_ordered(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not value[0] <= value[1]:  # False for nan too
            raise ValueError(
                f"valid_range must be [low, high] with low <= high (-inf and inf for no bound), "
                f"got {list(value)}; correct it"
            )
        return value

    @field_validator("levels")
    @classmethod
    def _levels_increase(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        if not value[0] < value[1] < value[2]:
            raise ValueError(f"the three level breaks must increase, got {list(value)}")
        return value

    @field_validator("damage", mode="before")
    @classmethod
    def _damage_components(cls, value: Any) -> Any:
        if isinstance(value, dict):
            only_known(value, INCOME_COMPONENTS, "income component")
        return value

    @field_validator("damage")
    @classmethod
    def _damage_ratios(cls, value: dict[str, DamageSpec]) -> dict[str, DamageSpec]:
        for component, spec in value.items():
            if isinstance(spec, tuple):
                check_curve(spec, f"damage.{component}")
                ratios = [r for _, r in spec]
            else:
                ratios = [spec]
            if not all(0.0 <= r <= 1.0 for r in ratios):
                raise ValueError(f"damage.{component} ratios must lie in [0, 1], got {ratios}")
        return value

    @field_validator("housing")
    @classmethod
    def _housing_ok(cls, value: dict[str, float]) -> dict[str, float]:
        only_known(value, HOUSING_TYPES, "housing type")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> LayerFile:
        if self.valid_range is not None:
            low, high = self.valid_range
            if not any(low < b <= high for b in self.levels):
                raise ValueError(
                    f"levels {list(self.levels)} lie entirely outside valid_range "
                    f"{list(self.valid_range)}, so every village would get the same level; "
                    "give levels within the raster's values"
                )
        if self.crs_override and self.crs is None:
            raise ValueError("crs_override = true needs crs, the CRS that replaces the file's")
        self._keys_fit_source()
        if self.source == "cube" and (self.variable is None or self.reduce is None):
            raise ValueError(
                "source = 'cube' needs variable (the NetCDF variable) and a [reduce] "
                "table (within_year, across_years; optional months, years)"
            )
        if self.source in ("zones", "sites") and self.field is None:
            raise ValueError(
                f"source = '{self.source}' needs field, the field holding each "
                f"{self.source[:-1]}'s class or value"
            )
        if self.source == "sites":
            if self.outside is None:
                raise ValueError(
                    "source = 'sites' needs outside, the x of a household beyond every "
                    "site's radius (e.g. outside = 0.0, or the lowest class)"
                )
            self.site_keys()  # one radius, given once
            if self.sites is not None:
                raise ValueError(
                    "a [sites] table adds sites to another source; a layer of "
                    "source = 'sites' gives its sites at the top of the file"
                )
        if self.source in ("zones", "sites") and self.nodata is not None:
            self._nodata_is_no_class()
        if self.source in ("zones", "sites") and self.sampling == "bilinear":
            raise ValueError(
                f"sampling = 'bilinear' is for rasters; {self.source} have no cells to blend"
            )
        if self.frequency.type == "classes" and self.frequency.points:
            lowest, highest = self.frequency.points[0][0], self.frequency.points[-1][0]
            if not any(lowest < b <= highest for b in self.levels):
                raise ValueError(
                    f"levels {list(self.levels)} lie outside the classes {lowest:g} to "
                    f"{highest:g}, so every village would get the same level; give levels "
                    "among the classes, e.g. the three highest classes"
                )
        if self.frequency.type == "classes":
            self._values_are_classes()
        if self.frequency.type == "classes" and self.sampling == "bilinear":
            raise ValueError(
                "sampling = 'bilinear' would blend classes into values that are none; a "
                "class layer samples the nearest cell: remove the key or set 'nearest'"
            )
        return self

    def _keys_fit_source(self) -> None:
        """Keys that belong to another source are an error, not silently ignored."""
        given = {key for key in self.model_fields_set if getattr(self, key) is not None}
        stray = sorted(k for k in given & set(KEY_SOURCES) if self.source not in KEY_SOURCES[k])
        if not stray:
            return
        owners = sorted({repr(s) for key in stray for s in KEY_SOURCES[key]})
        hint = (
            " (a raster layer names a NetCDF variable in its path: 'NETCDF:\"file.nc\":variable')"
            if self.source == "raster" and "variable" in stray
            else ""
        )
        raise ValueError(
            f"{', '.join(stray)}: key(s) of source = {' or '.join(owners)}, but this layer's "
            f"source is '{self.source}'; remove them or set source{hint}"
        )

    def _nodata_is_no_class(self) -> None:
        """nodata marks zones or sites without a value (a label such as 未调查 mapped to
        it): it must not be ``outside``, nor, on a class layer, one of its classes, whose
        zones would silently lose their value."""
        assert self.nodata is not None
        classes = (
            [x for x, _ in self.frequency.points or ()] if self.frequency.type == "classes" else []
        )
        taken = ["outside"] if self.outside == self.nodata else []
        taken += [f"the class {c:g}" for c in classes if abs(c - self.nodata) <= 1e-9]
        if taken:
            raise ValueError(
                f"nodata = {self.nodata:g} is also {' and '.join(taken)}: those {self.source} "
                "would have no value; nodata is for a value meaning 'not surveyed': give it "
                "one no class takes"
            )

    def _values_are_classes(self) -> None:
        """On a class layer, every x a table, `outside` or the sites give must be a class."""
        classes = [x for x, _ in self.frequency.points or ()]
        tables = {"classes": self.classes or {}, "[sites] classes": {}}
        if self.sites is not None and self.sites.classes is not None:
            tables["[sites] classes"] = self.sites.classes
        named = [
            (f"{key} '{label}'", x) for key, table in tables.items() for label, x in table.items()
        ]
        if self.outside is not None:
            named.append(("outside", self.outside))
        stray = [
            (what, x)
            for what, x in named
            if not any(abs(x - c) <= 1e-9 for c in classes) and x != self.nodata
        ]
        if stray:
            what, x = stray[0]
            raise ValueError(
                f"{what} = {x:g} is no class of [frequency] points {classes}; on a class "
                "layer every x must be one of the classes: map it to a class or add the class"
            )

    def site_keys(self) -> SitesSection | None:
        """The layer's hazard sites: its own (``source = "sites"``) or its ``[sites]``."""
        if self.source != "sites":
            return self.sites
        assert self.field is not None
        keys = {
            key: getattr(self, key)
            for key in SitesSection.model_fields
            if key not in ("path", "field") and getattr(self, key) is not None
        }
        return SitesSection(path=self.path, field=self.field, **keys)

    def hazard_params(self) -> HazardParams:
        """The model's view of this layer."""
        frequency = Frequency(
            type=self.frequency.type,
            points=self.frequency.points or (),
            damaging_fraction=self.frequency.damaging_fraction or 1.0,
        )
        return HazardParams(
            name=self.name, frequency=frequency, damage=self.damage, housing=self.housing
        )

    def curve_warnings(self) -> list[str]:
        """Curves that fall as x rises: allowed, but the model's monotonicity assumes they
        do not (a higher hazard never lowers the risk)."""
        found = []
        if self.frequency.points is not None and falls(self.frequency.points):
            found.append("[frequency] points: the probability falls as x rises")
        for component, spec in self.damage.items():
            if isinstance(spec, tuple) and falls(spec):
                found.append(f"[damage] {component}: the damage ratio falls as x rises")
        return found
