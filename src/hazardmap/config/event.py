"""An event file (``events/<name>.toml``): one hazard's footprint that has happened, and the
damage it does over its intensity (CONTRACT.md, "One event")."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator

from hazardmap.config.fields import (
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
from hazardmap.config.loaded import Config, LayerConfig
from hazardmap.errors import ConfigError
from hazardmap.gdal_names import split_netcdf_name
from hazardmap.model.hazard import DamageSpec
from hazardmap.paths import real_path
from hazardmap.vocabulary import HOUSING_TYPES, INCOME_COMPONENTS


class EventFile(StrictModel):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]+$", max_length=100)]
    hazard: str
    date: dt.date
    title: str | None = None
    path: Path
    layer: str | None = None
    intensity_field: str | None = None
    crs: str | None = None
    lead_threshold: Annotated[Probability, Field(gt=0.0)] = 0.10
    at_scale_returns: Positive = 5.0
    damage: dict[str, Real | CurveInput] | None = None
    housing: dict[str, NonNegative] | None = None

    @field_validator("date", mode="before")
    @classmethod
    def _a_date(cls, value: object) -> object:
        if isinstance(value, dt.datetime):
            return value.date()  # 2026-07-12T15:00 is still that day
        if not isinstance(value, dt.date):
            raise ValueError(f"expected a TOML date such as 2026-07-12 (no quotes), got {value!r}")
        return value

    @field_validator("damage")
    @classmethod
    def _damage(cls, value: dict[str, DamageSpec] | None) -> dict[str, DamageSpec] | None:
        if value is None:
            return value
        only_known(value, INCOME_COMPONENTS, "income component")
        for component, spec in value.items():
            ratios = [spec] if not isinstance(spec, tuple) else [r for _, r in spec]
            if isinstance(spec, tuple):
                check_curve(spec, f"damage.{component}")
            if not all(0.0 <= r <= 1.0 for r in ratios):
                raise ValueError(f"damage.{component} ratios must lie in [0, 1], got {ratios}")
        return value

    @field_validator("housing")
    @classmethod
    def _housing(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is not None:
            only_known(value, HOUSING_TYPES, "housing type")
        return value

    def curve_warnings(self) -> list[str]:
        """Damage tables that fall as the intensity rises: allowed, but likely a typo."""
        return [
            f"[damage] {component}: the damage ratio falls as the intensity rises"
            for component, spec in (self.damage or {}).items()
            if isinstance(spec, tuple) and falls(spec)
        ]

    @property
    def caption(self) -> str:
        return self.title or f"{self.hazard} of {self.date.isoformat()}"


@dataclass(frozen=True)
class EventConfig:
    """An event file, its footprint's path resolved, the project layer of its hazard,
    and the damage and housing losses that apply inside the footprint."""

    file: Path
    spec: EventFile
    layer: LayerConfig
    damage: dict[str, DamageSpec]
    housing: dict[str, float]

    @property
    def footprint_path(self) -> Path:
        """The footprint's file (for a NETCDF:"file.nc":variable path, the NetCDF file)."""
        named = split_netcdf_name(str(self.spec.path))
        return real_path(self.file.parent / (Path(named[0]) if named else self.spec.path))

    @property
    def footprint_variable(self) -> str | None:
        """The NetCDF variable a NETCDF:"file.nc":variable path names, else None."""
        named = split_netcdf_name(str(self.spec.path))
        return named[1] if named else None

    @property
    def name(self) -> str:
        return self.spec.name


def event_damage(spec: EventFile, layer: LayerConfig, file: Path) -> dict[str, DamageSpec]:
    """The event's damage ratios, else the layer's constant ones; a layer's curve over
    its own x means nothing over the event's intensity, so it needs the event's own."""
    if spec.damage is not None:
        tables = [c for c, d in spec.damage.items() if isinstance(d, tuple)]
        if tables and spec.intensity_field is None and _is_vector(spec.path):
            raise ConfigError(
                f"{file}: [damage] {', '.join(tables)} is a table over the event's intensity, "
                "but the footprint's polygons give none; set intensity_field, or give "
                "constant ratios"
            )
        return dict(spec.damage)
    curves = [c for c, d in layer.spec.damage.items() if isinstance(d, tuple)]
    if curves:
        raise ConfigError(
            f"{file}: the layer {layer.name} ({layer.file.name}) gives damage.{curves[0]} as a "
            f"curve over its own {layer.spec.units or 'values'}, which means nothing over this "
            "event's intensity; give the event its own [damage] table"
        )
    return dict(layer.spec.damage)


RASTER_SUFFIXES = (".tif", ".tiff", ".img", ".vrt", ".asc", ".nc")
"""A footprint in one of these (or named NETCDF:"file.nc":variable) is a raster."""


def _is_vector(path: Path) -> bool:
    return split_netcdf_name(str(path)) is None and path.suffix.lower() not in RASTER_SUFFIXES


def resolve_event(spec: EventFile, file: Path, config: Config) -> EventConfig:
    """The event against its project: its hazard must be one of the project's layers."""
    names = config.hazard_names
    if spec.hazard not in names:
        raise ConfigError(
            f"{file}: hazard = '{spec.hazard}' is no layer of {config.file.name} (its layers: "
            f"{', '.join(names)}); name one of them"
        )
    layer = config.layer(spec.hazard)
    housing = dict(layer.spec.housing) if spec.housing is None else dict(spec.housing)
    return EventConfig(real_path(file), spec, layer, event_damage(spec, layer, file), housing)
