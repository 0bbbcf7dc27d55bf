"""The project file (``hazardmap.toml``) and the layer files (``layers/*.toml``).

Both are validated strictly: unknown keys are errors that name the key and the file, and
paths are resolved relative to the file that names them.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AllowInfNan,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from hazardmap.errors import ConfigError, InputFileNotFoundError
from hazardmap.gdal_names import split_netcdf_name
from hazardmap.model.hazard import Curve, DamageSpec, Frequency, FrequencyType, HazardParams
from hazardmap.model.interventions import Intervention
from hazardmap.model.reduction import Reduction
from hazardmap.paths import real_path
from hazardmap.problems import Problems, shorten
from hazardmap.vocabulary import (
    BUSINESS_PARTS,
    CATEGORIES,
    HOUSEHOLD_FIELDS,
    HOUSING_TYPES,
    INCOME_COMPONENTS,
    INCOME_FIELDS,
    INCOME_SHARE_FIELDS,
)

Real = Annotated[float, Strict()]
"""A number; never a boolean (pydantic would otherwise take ``true`` for 1.0)."""
Probability = Annotated[Real, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[Real, Field(ge=0.0)]
Positive = Annotated[Real, Field(gt=0.0)]
Bound = Annotated[Real, AllowInfNan(True)]
"""A range's end: -inf and inf mean unbounded."""
Count = Annotated[int, Strict()]


def _holds_a_boolean(value: Any) -> bool:
    return isinstance(value, bool) or (
        isinstance(value, list | tuple) and any(_holds_a_boolean(v) for v in value)
    )


def _numbers_only(value: Any) -> Any:
    """Reject booleans anywhere in a table of numbers: TOML's ``true`` is no number."""
    if _holds_a_boolean(value):
        raise ValueError(f"expected numbers, got {shorten(value)}; write numbers, not true/false")
    return value


CurveInput = Annotated[Curve, BeforeValidator(_numbers_only)]
"""A curve as a layer file gives it, [[x, value], ...]."""


class _Strict(BaseModel):
    # every float is finite unless its type says otherwise (Bound)
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _check_curve(points: Curve, what: str) -> Curve:
    if len(points) < 2:
        raise ValueError(f"{what} needs at least two [x, value] points")
    xs = [x for x, _ in points]
    if any(b <= a for a, b in pairwise(xs)):
        raise ValueError(f"{what} x values must increase strictly, got {xs}")
    if not all(math.isfinite(v) for p in points for v in p):
        raise ValueError(f"{what} must hold finite numbers")
    return points


def _falls(points: Curve) -> bool:
    return any(b < a for (_, a), (_, b) in pairwise(points))


def _only_known(keys: Iterable[str], allowed: Iterable[str], what: str) -> None:
    """Reject names outside the fixed vocabulary, listing what is allowed."""
    allowed = list(allowed)
    unknown = sorted(set(keys) - set(allowed))
    if unknown:
        raise ValueError(f"unknown {what}(s) {unknown}; expected some of {allowed}")


# ----------------------------------------------------------------------------- project file
class ProjectSection(_Strict):
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


class VillagesSection(_Strict):
    path: Path
    id_field: str = "village_code"
    name_field: str = "name"
    township_field: str | None = None
    crs: str | None = None
    layer: str | None = None
    code_digits: Annotated[Count, Field(ge=1)] | None = None
    """Cut longer village codes to this many digits (19-digit land-survey codes to 12)."""


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


DERIVED_FIELDS = frozenset({"income_pc", *INCOME_SHARE_FIELDS})
"""Household fields that [households.income] derives from the amounts instead of reading."""


class HouseholdValues(_Strict):
    """The file's own labels for the fixed vocabularies, beside the built-in ones."""

    category: dict[str, Category] = Field(default_factory=dict)
    housing: dict[str, Housing] = Field(default_factory=dict)
    insured: dict[str, StrictBool] = Field(default_factory=dict)


class IncomeSection(_Strict):
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
            _only_known(value, BUSINESS_PARTS, "business part")
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
        named = list(self.columns().values())
        repeated = sorted({c for c in named if named.count(c) > 1})
        if repeated:
            raise ValueError(
                f"names the column(s) {repeated} for more than one income source, which "
                "would count the same amount twice; give each source its own column"
            )
        return self

    def columns(self) -> dict[str, str]:
        """Each income amount the file holds: component -> column."""
        return {k: v for k in INCOME_FIELDS if (v := getattr(self, k)) is not None}


class HouseholdsSection(_Strict):
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
        _only_known(value, HOUSEHOLD_FIELDS, "household field")
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
        repeated = sorted({c for c in named if named.count(c) > 1})
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


class LayersSection(_Strict):
    dir: Path = Path("layers")


class RiskSection(_Strict):
    classes: tuple[Probability, Probability, Probability] = (0.02, 0.05, 0.10)
    min_area_share: Annotated[Real, Field(gt=0.0, le=1.0)] = 0.10

    @field_validator("classes")
    @classmethod
    def _increasing(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        if not value[0] < value[1] < value[2]:
            raise ValueError(f"the three class thresholds must increase, got {list(value)}")
        return value


class ChangesSection(_Strict):
    baseline: Path | None = None
    """The output folder compared with (default: the previous run in the target folder)."""
    min_returns: NonNegative = 0.1
    """A village is also listed when its expected returns move at least this much."""


class OutputsSection(_Strict):
    dir: Path = Path("outputs/latest")


class MapSection(_Strict):
    households: bool = True
    backdrop: Path | None = None


class PlanningSection(_Strict):
    budget_cny: NonNegative | None = None


class InterventionConfig(_Strict):
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
            _only_known(value, INCOME_COMPONENTS, "income component")
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


class ProjectFile(_Strict):
    project: ProjectSection
    villages: VillagesSection
    households: HouseholdsSection
    layers: LayersSection = LayersSection()
    risk: RiskSection = RiskSection()
    outputs: OutputsSection = OutputsSection()
    map: MapSection = MapSection()
    planning: PlanningSection = PlanningSection()
    changes: ChangesSection = ChangesSection()
    interventions: list[InterventionConfig] = Field(default_factory=list)


# ------------------------------------------------------------------------------ layer files
class FrequencyConfig(_Strict):
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
                _check_curve(self.points, "frequency points")
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


class ReduceSection(_Strict):
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


class LayerFile(_Strict):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    title: str
    title_zh: str | None = None
    source: Literal["raster", "cube"] = "raster"
    path: Path
    variable: str | None = None
    reduce: ReduceSection | None = None
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
            _only_known(value, INCOME_COMPONENTS, "income component")
        return value

    @field_validator("damage")
    @classmethod
    def _damage_ratios(cls, value: dict[str, DamageSpec]) -> dict[str, DamageSpec]:
        for component, spec in value.items():
            if isinstance(spec, tuple):
                _check_curve(spec, f"damage.{component}")
                ratios = [r for _, r in spec]
            else:
                ratios = [spec]
            if not all(0.0 <= r <= 1.0 for r in ratios):
                raise ValueError(f"damage.{component} ratios must lie in [0, 1], got {ratios}")
        return value

    @field_validator("housing")
    @classmethod
    def _housing_ok(cls, value: dict[str, float]) -> dict[str, float]:
        _only_known(value, HOUSING_TYPES, "housing type")
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
        if self.source == "cube":
            if self.variable is None or self.reduce is None:
                raise ValueError(
                    "source = 'cube' needs variable (the NetCDF variable) and a [reduce] "
                    "table (within_year, across_years; optional months, years)"
                )
            if self.band is not None:
                raise ValueError("band is for rasters; a cube's variable is chosen by variable")
        elif self.variable is not None or self.reduce is not None:
            raise ValueError(
                "variable and [reduce] are for source = 'cube'; a raster layer names a NetCDF "
                "variable in its path ('NETCDF:\"file.nc\":variable')"
            )
        if self.frequency.type == "classes" and self.frequency.points:
            lowest, highest = self.frequency.points[0][0], self.frequency.points[-1][0]
            if not any(lowest < b <= highest for b in self.levels):
                raise ValueError(
                    f"levels {list(self.levels)} lie outside the classes {lowest:g} to "
                    f"{highest:g}, so every village would get the same level; give levels "
                    "among the classes, e.g. the three highest classes"
                )
        if self.frequency.type == "classes" and self.sampling == "bilinear":
            raise ValueError(
                "sampling = 'bilinear' would blend classes into values that are none; a "
                "class layer samples the nearest cell: remove the key or set 'nearest'"
            )
        return self

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
        if self.frequency.points is not None and _falls(self.frequency.points):
            found.append("[frequency] points: the probability falls as x rises")
        for component, spec in self.damage.items():
            if isinstance(spec, tuple) and _falls(spec):
                found.append(f"[damage] {component}: the damage ratio falls as x rises")
        return found


# ------------------------------------------------------------------------- loaded objects
@dataclass(frozen=True)
class LayerConfig:
    """One hazard layer, with its raster path resolved."""

    file: Path
    spec: LayerFile

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def raster_path(self) -> Path:
        """The raster file (for a NETCDF:"file.nc":variable path, the NetCDF file)."""
        named = split_netcdf_name(str(self.spec.path))
        path = Path(named[0]) if named else self.spec.path
        return real_path(self.file.parent / path)

    @property
    def raster_variable(self) -> str | None:
        """The NetCDF variable a NETCDF:"file.nc":variable path names, else None."""
        named = split_netcdf_name(str(self.spec.path))
        return named[1] if named else None

    def source_options(self) -> dict[str, Any]:
        """How the raster is read: the keyword arguments of ``raster.open_source``."""
        return {
            "declared_crs": self.spec.crs,
            "crs_override": self.spec.crs_override,
            "band": self.spec.band,
            "nodata": self.spec.nodata,
            "variable": self.raster_variable,
        }

    def warnings(self) -> list[str]:
        return [f"{self.file}: {warning}" for warning in self.spec.curve_warnings()]


_SIDECARS = (".shx", ".dbf", ".prj", ".cpg")
"""The files that make one Shapefile with its .shp."""


def with_sidecars(path: Path) -> list[Path]:
    """A vector file and, for a Shapefile, the files beside it that belong to it."""
    if path.suffix.lower() != ".shp":
        return [path]
    return [path, *(p for s in _SIDECARS if (p := path.with_suffix(s)).exists())]


@dataclass(frozen=True)
class Config:
    """A validated project: the project file, its layers, and where everything lives."""

    file: Path
    settings: ProjectFile
    """The project file's sections (``settings.project.name``, ``settings.risk``, ...)."""
    layers: tuple[LayerConfig, ...]
    warnings: tuple[str, ...] = ()
    """Settings that are allowed but probably not meant (e.g. a falling damage curve)."""

    @property
    def root(self) -> Path:
        return self.file.parent

    def resolve(self, path: Path) -> Path:
        """A path of the project file, made absolute relative to the project file."""
        return real_path(self.root / path)

    @property
    def villages_path(self) -> Path:
        return self.resolve(self.settings.villages.path)

    @property
    def households_path(self) -> Path:
        return self.resolve(self.settings.households.path)

    @property
    def business_split_path(self) -> Path | None:
        """``[households.income] business_split_path``, resolved (None without one)."""
        income = self.settings.households.income
        if income is None or income.business_split_path is None:
            return None
        return self.resolve(income.business_split_path)

    @property
    def backdrop_path(self) -> Path | None:
        backdrop = self.settings.map.backdrop
        return None if backdrop is None else self.resolve(backdrop)

    @property
    def outputs_dir(self) -> Path:
        return self.resolve(self.settings.outputs.dir)

    @property
    def baseline_path(self) -> Path | None:
        """``[changes] baseline``: the output folder a run is compared with (None: the
        previous run in the output folder)."""
        baseline = self.settings.changes.baseline
        return None if baseline is None else self.resolve(baseline)

    @property
    def layers_dir(self) -> Path:
        return self.resolve(self.settings.layers.dir)

    @property
    def hazard_names(self) -> tuple[str, ...]:
        return tuple(layer.name for layer in self.layers)

    def layer(self, name: str) -> LayerConfig:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    def input_paths(self) -> list[Path]:
        """Every file and folder the project reads: an output folder must never hold one."""
        paths = [self.file, self.layers_dir, *(layer.file for layer in self.layers)]
        paths += with_sidecars(self.villages_path)
        paths += [self.households_path, *(layer.raster_path for layer in self.layers)]
        paths += [p for p in (self.business_split_path, self.backdrop_path) if p is not None]
        return paths


def _read_toml(path: Path, role: str = "project file") -> dict[str, Any]:
    if not path.exists():
        fix = "give the project file with --config or create it" if role == "project file" else ""
        raise InputFileNotFoundError(f"{path}: {role} not found; {fix or 'check the path'}")
    if not path.is_file():
        raise ConfigError(f"{path}: the {role} is a folder or a device, not a file; give a file")
    try:
        text = path.read_bytes().removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save the file as UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}; fix the syntax there") from None


_UNION_MEMBER_TAGS = frozenset({"float", "int", "str", "bool"})
_GENERIC_MEMBER_TAGS = ("list[", "tuple[", "dict[", "function-")


def _is_member_tag(part: object) -> bool:
    """pydantic's name for a member of a union in an error's location (e.g. 'float')."""
    text = str(part)
    return text in _UNION_MEMBER_TAGS or text.startswith(_GENERIC_MEMBER_TAGS)


def _key_path(error: Mapping[str, Any]) -> tuple[str, ...]:
    """The error's location without pydantic's union-member tags."""
    return tuple(str(part) for part in error["loc"] if not _is_member_tag(part))


_PATTERNS = {
    r"^[A-Za-z0-9_\-]+$": "use letters, digits, '_' and '-' only",
    r"^[a-z][a-z0-9_]*$": "use lower-case letters, digits and '_', starting with a letter",
}
"""What a name's pattern asks for, in words."""


def _fix(error: Mapping[str, Any]) -> str:
    """What to do about one of pydantic's own errors."""
    ctx = {k: f"{v:g}" if isinstance(v, float) else v for k, v in (error.get("ctx") or {}).items()}
    kind = str(error["type"])
    fixes = {
        "greater_than": lambda: f"set a number greater than {ctx.get('gt')}",
        "greater_than_equal": lambda: f"set a number of at least {ctx.get('ge')}",
        "less_than": lambda: f"set a number below {ctx.get('lt')}",
        "less_than_equal": lambda: f"set a number of at most {ctx.get('le')}",
        "finite_number": lambda: "set a finite number (inf and nan are not allowed here)",
        "string_pattern_mismatch": lambda: _PATTERNS.get(
            str(ctx.get("pattern")), f"match the pattern {ctx.get('pattern')}"
        ),
        "int_from_float": lambda: "give a whole number",
        "literal_error": lambda: f"use one of {ctx.get('expected')}",
    }
    if kind in fixes:
        return fixes[kind]()
    return "give a value of the right type" if kind.endswith(("_type", "_parsing")) else "fix it"


def _describe(error: Mapping[str, Any]) -> str:
    """One pydantic error as a sentence that names the key and says what to do."""
    loc = list(_key_path(error))
    key = loc[-1] if loc else ""
    where = f"[{'.'.join(loc[:-1])}]" if len(loc) > 1 else "the top level"
    if error["type"] == "extra_forbidden":
        return f"unknown key '{key}' in {where}; remove it or correct its spelling"
    if error["type"] == "missing":
        return f"missing key '{key}' in {where}; add it"
    name = ".".join(loc)
    if error["type"] == "value_error":  # our own validators: the message says what to do
        message = str(error["msg"]).removeprefix("Value error, ")
        return f"{name}: {message}" if name else message
    got = "" if "got" in str(error["msg"]) else f", got {shorten(error.get('input'))}"
    return f"{name or 'file'}: {error['msg']}{got}; {_fix(error)}"


def _problems(exc: ValidationError, path: Path) -> list[str]:
    """One line per key at fault. Where a value fits no member of a union (a ratio or a
    table), the member whose type it has explains why, not the type mismatch of the other."""
    errors = [dict(e) for e in exc.errors()]
    paths = [_key_path(e) for e in errors]
    first_per_key: dict[tuple[str, ...], dict[str, Any]] = {}
    for error, key in zip(errors, paths, strict=True):
        deeper = any(len(other) > len(key) and other[: len(key)] == key for other in paths)
        if str(error["type"]).endswith("_type") and deeper:
            continue
        first_per_key.setdefault(key, error)
    return [f"{path}: {_describe(e)}" for e in first_per_key.values()]


def _validate(model: type[_Strict], data: dict[str, Any], path: Path) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(*_problems(exc, path)) from None


def load_layer(path: Path) -> LayerConfig:
    """Read and validate one layer file."""
    spec = _validate(LayerFile, _read_toml(path, "layer file"), path)
    return LayerConfig(file=real_path(path), spec=spec)


@dataclass(frozen=True)
class ConfigDraft:
    """Whatever could be read of a project: the whole ``config`` when every file is valid;
    otherwise the valid sections of the project file and the valid layer files, so that
    ``validate`` can go on to check the inputs they name."""

    file: Path
    sections: Mapping[str, Any]
    layers: tuple[LayerConfig, ...]
    config: Config | None

    def resolve(self, path: Path) -> Path:
        return real_path(self.file.parent / path)


def _read_sections(
    data: dict[str, Any], path: Path, problems: Problems
) -> tuple[ProjectFile | None, dict[str, Any]]:
    """The project file, and its sections; when it is not valid (its problems recorded),
    None and each section that validates on its own."""
    try:
        project = ProjectFile.model_validate(data)
    except ValidationError as exc:
        problems.record(ConfigError(*_problems(exc, path)))
    else:
        return project, dict(project)
    sections: dict[str, Any] = {}
    for name, field in ProjectFile.model_fields.items():
        if name not in data and not field.is_required():
            sections[name] = field.get_default(call_default_factory=True)
            continue
        try:
            adapter: TypeAdapter[Any] = TypeAdapter(field.annotation)  # type: ignore[arg-type]
            sections[name] = adapter.validate_python(data[name])
        except (KeyError, ValidationError):
            continue
    return None, sections


def _layer_files(folder: Path, project_file: Path) -> list[Path]:
    """The layer files of a folder: its *.toml files, but for hidden ones (editors' lock
    and backup files such as .#hail.toml) and the project file itself."""
    return sorted(
        path
        for path in folder.glob("*.toml")
        if not path.name.startswith(".") and real_path(path) != project_file
    )


def _check_layer_names(layers: tuple[LayerConfig, ...]) -> list[str]:
    seen: dict[str, Path] = {}
    found = []
    for layer in layers:
        if layer.name in seen:
            found.append(
                f"{layer.file}: layer name '{layer.name}' is also used by "
                f"{seen[layer.name]}; give each layer its own name"
            )
        seen.setdefault(layer.name, layer.file)
    return found


def _check_interventions(project: ProjectFile, names: set[str], file: Path) -> list[str]:
    found = []
    listed = [p.name for p in project.interventions]
    for intervention in project.interventions:
        if intervention.hazard not in names:
            found.append(
                f"{file}: intervention '{intervention.name}' names hazard "
                f"'{intervention.hazard}', but the layers are {sorted(names)}; use one of those"
            )
        if listed.count(intervention.name) > 1:
            found.append(
                f"{file}: intervention name '{intervention.name}' is used more than once; "
                "give each intervention its own name"
            )
    return list(dict.fromkeys(found))


def read_project(path: str | Path, problems: Problems) -> ConfigDraft:
    """Read the project file and every layer file, recording every problem in any of them
    (rather than stopping at the first)."""
    file = real_path(path)
    data = problems.attempt(lambda: _read_toml(file))
    if data is None:
        return ConfigDraft(file, {}, (), None)
    project, sections = _read_sections(data, file, problems)
    layers: tuple[LayerConfig, ...] = ()
    layers_section = sections.get("layers")
    layer_files_ok = False
    if layers_section is not None:
        layer_dir = real_path(file.parent / layers_section.dir)
        if not layer_dir.is_dir():
            problems.record(
                InputFileNotFoundError(
                    f"{file}: [layers] dir '{layers_section.dir}' is not a folder; "
                    "create it or fix the path"
                )
            )
        elif not (layer_files := _layer_files(layer_dir, file)):
            problems.record(
                ConfigError(f"{layer_dir}: no layer files (*.toml); add one file per hazard")
            )
        else:
            loaded = [problems.attempt(partial(load_layer, p)) for p in layer_files]
            layers = tuple(layer for layer in loaded if layer is not None)
            layer_files_ok = len(layers) == len(layer_files)
            naming = _check_layer_names(layers)
            if naming:
                problems.record(ConfigError(*naming))
                layer_files_ok = False
    config = None
    if project is not None and layer_files_ok:
        mismatches = _check_interventions(project, {layer.name for layer in layers}, file)
        if mismatches:
            problems.record(ConfigError(*mismatches))
        else:
            warnings = tuple(w for layer in layers for w in layer.warnings())
            config = Config(file=file, settings=project, layers=layers, warnings=warnings)
    return ConfigDraft(file, sections, layers, config)


def load_config(path: str | Path = "hazardmap.toml") -> Config:
    """Read and validate a project file and every layer file of its layer folder; a
    ConfigError lists every problem found in any of them."""
    problems = Problems()
    draft = read_project(path, problems)
    problems.raise_errors()
    assert draft.config is not None  # no error recorded means every part was read
    return draft.config
