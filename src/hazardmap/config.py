"""The project file (``hazardmap.toml``) and the layer files (``layers/*.toml``).

Both are validated strictly: unknown keys are errors that name the key and the file, and
paths are resolved relative to the file that names them.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from hazardmap.errors import ConfigError, InputFileNotFoundError
from hazardmap.vocabulary import HOUSEHOLD_FIELDS, HOUSING_TYPES, INCOME_COMPONENTS

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]
CurvePoints = list[tuple[float, float]]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_curve(points: CurvePoints, what: str) -> CurvePoints:
    if len(points) < 2:
        raise ValueError(f"{what} needs at least two [x, value] points")
    xs = [x for x, _ in points]
    if any(b <= a for a, b in pairwise(xs)):
        raise ValueError(f"{what} x values must increase strictly, got {xs}")
    if not all(math.isfinite(v) for p in points for v in p):
        raise ValueError(f"{what} must hold finite numbers")
    return points


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


class VillagesSection(_Strict):
    path: Path
    id_field: str = "village_code"
    name_field: str = "name"
    township_field: str | None = None
    crs: str | None = None


class HouseholdsSection(_Strict):
    path: Path
    lon_field: str = "lon"
    lat_field: str = "lat"
    crs: str = "EPSG:4326"
    county_tolerance_m: NonNegative = 1000.0
    village_tolerance_m: NonNegative = 500.0
    duplicate_threshold: Annotated[int, Field(ge=2)] = 10
    fields: dict[str, str] = Field(default_factory=dict)

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        _only_known(value, HOUSEHOLD_FIELDS, "household field")
        return value


class LayersSection(_Strict):
    dir: Path = Path("layers")


class RiskSection(_Strict):
    classes: tuple[Probability, Probability, Probability] = (0.02, 0.05, 0.10)
    min_area_share: Annotated[float, Field(gt=0.0, le=1.0)] = 0.10

    @field_validator("classes")
    @classmethod
    def _increasing(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        if not value[0] < value[1] < value[2]:
            raise ValueError(f"the three class thresholds must increase, got {list(value)}")
        return value


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
    cost_per_household: NonNegative

    @field_validator("damage_factor")
    @classmethod
    def _known_components(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is not None:
            _only_known(value, INCOME_COMPONENTS, "income component")
        return value

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
    interventions: list[InterventionConfig] = Field(default_factory=list)


# ------------------------------------------------------------------------------ layer files
class FrequencyConfig(_Strict):
    type: Literal["probability", "rate", "table", "return_period"]
    points: CurvePoints | None = None
    damaging_fraction: Probability | None = None

    @model_validator(mode="after")
    def _fits_type(self) -> FrequencyConfig:
        if self.type == "table":
            if self.points is None:
                raise ValueError("type = 'table' needs points = [[x, p], ...]")
            _check_curve(self.points, "frequency points")
            if not all(0.0 <= p <= 1.0 for _, p in self.points):
                raise ValueError("frequency points must have probabilities in [0, 1]")
        elif self.points is not None:
            raise ValueError(f"points only apply to type = 'table', not '{self.type}'")
        if self.type == "rate" and self.damaging_fraction is None:
            raise ValueError("type = 'rate' needs damaging_fraction (share of events that damage)")
        if self.type != "rate" and self.damaging_fraction is not None:
            raise ValueError(f"damaging_fraction only applies to type = 'rate', not '{self.type}'")
        return self


DamageSpec = float | CurvePoints


class LayerFile(_Strict):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    title: str
    title_zh: str | None = None
    path: Path
    units: str | None = None
    sampling: Literal["nearest", "bilinear"] = "nearest"
    crs: str | None = None
    crs_override: StrictBool = False
    band: Annotated[int, Field(ge=1)] | None = None
    nodata: float | None = None
    valid_range: tuple[float, float] | None = None
    levels: tuple[float, float, float]
    frequency: FrequencyConfig
    damage: dict[str, DamageSpec] = Field(default_factory=dict)
    housing: dict[str, NonNegative] = Field(default_factory=dict)

    @field_validator("valid_range")
    @classmethod
    def _range_ordered(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not value[0] <= value[1]:
            raise ValueError(f"valid_range must be [low, high] with low <= high, got {list(value)}")
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
            if isinstance(spec, list):
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
        return (self.file.parent / self.spec.path).resolve()


@dataclass(frozen=True)
class Config:
    """A validated project: the project file, its layers, and where everything lives."""

    file: Path
    project: ProjectFile
    layers: tuple[LayerConfig, ...]

    @property
    def root(self) -> Path:
        return self.file.parent

    def resolve(self, path: Path) -> Path:
        """A path of the project file, made absolute relative to the project file."""
        return (self.root / path).resolve()

    @property
    def villages_path(self) -> Path:
        return self.resolve(self.project.villages.path)

    @property
    def households_path(self) -> Path:
        return self.resolve(self.project.households.path)

    @property
    def backdrop_path(self) -> Path | None:
        backdrop = self.project.map.backdrop
        return None if backdrop is None else self.resolve(backdrop)

    @property
    def outputs_dir(self) -> Path:
        return self.resolve(self.project.outputs.dir)

    @property
    def hazard_names(self) -> tuple[str, ...]:
        return tuple(layer.name for layer in self.layers)

    def layer(self, name: str) -> LayerConfig:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InputFileNotFoundError(
            f"{path}: file not found; give the project file with --config or create it"
        )
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}; fix the syntax there") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save the file as UTF-8") from None


_UNION_MEMBER_TAGS = ("float", "int", "str", "bool", "list[", "tuple[", "dict[")


def _key_path(error: dict[str, Any]) -> tuple[str, ...]:
    """The error's location without pydantic's union-member tags (e.g. 'float')."""
    return tuple(str(part) for part in error["loc"] if not str(part).startswith(_UNION_MEMBER_TAGS))


def _describe(error: dict[str, Any]) -> str:
    """One pydantic error as a sentence that names the key."""
    loc = list(_key_path(error))
    key = loc[-1] if loc else ""
    where = f"[{'.'.join(loc[:-1])}]" if len(loc) > 1 else "the top level"
    if error["type"] == "extra_forbidden":
        return f"unknown key '{key}' in {where}; remove it or correct its spelling"
    if error["type"] == "missing":
        return f"missing key '{key}' in {where}; add it"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{'.'.join(loc) or 'file'}: {message}"


def _validate(model: type[_Strict], data: dict[str, Any], path: Path) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first_per_key: dict[tuple[str, ...], dict[str, Any]] = {}
        for error in exc.errors():
            first_per_key.setdefault(_key_path(dict(error)), dict(error))
        problems = "; ".join(_describe(e) for e in first_per_key.values())
        raise ConfigError(f"{path}: {problems}") from None


def load_layer(path: Path) -> LayerConfig:
    """Read and validate one layer file."""
    spec = _validate(LayerFile, _read_toml(path), path)
    return LayerConfig(file=path.resolve(), spec=spec)


def load_config(path: str | Path = "hazardmap.toml") -> Config:
    """Read and validate a project file and every layer file of its layer folder."""
    file = Path(path).resolve()
    project: ProjectFile = _validate(ProjectFile, _read_toml(file), file)
    layer_dir = (file.parent / project.layers.dir).resolve()
    if not layer_dir.is_dir():
        raise InputFileNotFoundError(
            f"{file}: [layers] dir '{project.layers.dir}' is not a folder; "
            "create it or fix the path"
        )
    layer_files = sorted(layer_dir.glob("*.toml"))
    if not layer_files:
        raise ConfigError(f"{layer_dir}: no layer files (*.toml); add one file per hazard")
    layers = tuple(load_layer(p) for p in layer_files)
    seen: dict[str, Path] = {}
    for layer in layers:
        if layer.name in seen:
            raise ConfigError(
                f"{layer.file}: layer name '{layer.name}' is also used by {seen[layer.name]}; "
                "give each layer its own name"
            )
        seen[layer.name] = layer.file
    names = [p.name for p in project.interventions]
    for intervention in project.interventions:
        if intervention.hazard not in seen:
            raise ConfigError(
                f"{file}: intervention '{intervention.name}' names hazard '{intervention.hazard}', "
                f"but the layers are {sorted(seen)}; use one of those names"
            )
        if names.count(intervention.name) > 1:
            raise ConfigError(
                f"{file}: intervention name '{intervention.name}' is used more than once; "
                "give each intervention its own name"
            )
    return Config(file=file, project=project, layers=layers)
