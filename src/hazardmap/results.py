"""What flows between the rooms: the checked inputs, a run's (an event's, an uncertainty
analysis's) result, a validation report.

A leaf of the package: everything else may import these types, and they import nothing of
hazardmap at run time (the annotations name config and CRS types only for the checker).
The writers receive what they need from a :class:`RunResult`; none of them computes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import geopandas as gpd
    from pyproj import CRS

    from hazardmap.config import Config, EventConfig
    from hazardmap.config.uncertainty import UncertaintySection
    from hazardmap.crs import Grid
    from hazardmap.uncertainty.compute import Uncertainty

Bounds = tuple[tuple[float, float], tuple[float, float]]
"""((south, west), (north, east)) in degrees: where an image goes on the map."""

MISSING_CLASS = 255
"""The class of a pixel without a value in a layer's map image."""


@dataclass(frozen=True)
class MapImage:
    """A raster warped to Web Mercator for the map: per pixel a class (layers: 0 below
    the first level break, ..., ``MISSING_CLASS`` where missing) or a grey value (relief),
    and where the image goes."""

    pixels: np.ndarray
    bounds: Bounds


@dataclass(frozen=True)
class Inputs:
    """Everything read and checked, ready to compute."""

    config: Config
    villages: gpd.GeoDataFrame
    households: pd.DataFrame
    """Standard columns, ``x``/``y`` in ``household_crs`` (NaN: placed by the village),
    ``location_flag``."""
    household_crs: CRS
    village_index: np.ndarray
    """Each household's row in ``villages``."""
    grids: Mapping[str, Grid]
    zones: dict[str, np.ndarray] = field(default_factory=dict)
    """The villages' polygons in each raster CRS (by WKT), moved once and shared."""
    sources: Mapping[str, LayerSource] = field(default_factory=dict)
    """What the engine reads for each layer (a raster, or a cube reduced to a grid)."""
    hazard_zones: Mapping[str, HazardZones] = field(default_factory=dict)
    """The zones of each ``source = "zones"`` layer."""
    hazard_sites: Mapping[str, HazardSites] = field(default_factory=dict)
    """The hazard sites of each layer that has them (its source, or a ``[sites]`` table)."""

    @cached_property
    def located(self) -> np.ndarray:
        """Which households have usable coordinates (the others are placed by village)."""
        return np.isfinite(self.households["x"].to_numpy()) & np.isfinite(
            self.households["y"].to_numpy()
        )


@dataclass(frozen=True)
class LayerSource:
    """What the raster engine reads for a layer: the layer's raster and the options it is
    read with, or a cube reduced to a grid in a file of the run's own (then no options:
    they were applied by the reduction), with how it was derived."""

    path: Path
    options: Mapping[str, Any]
    grid: Grid
    derivation: Mapping[str, Any] | None = None
    """A cube's reduction: variable, the reduction in words, the years used and left out."""


@dataclass(frozen=True)
class HazardZones:
    """A zones layer's polygons (in ``crs``), each zone's x and its label (the field's
    value as text)."""

    geometry: np.ndarray
    crs: CRS
    value: np.ndarray
    label: np.ndarray
    outside: float
    """x of the area outside every zone (NaN: missing)."""


@dataclass(frozen=True)
class HazardSites:
    """Hazard sites: each one's id, place (``x``, ``y`` in ``crs``), x, label, threat
    radius in metres, and the households the register names as threatened."""

    ids: np.ndarray
    x: np.ndarray
    y: np.ndarray
    crs: CRS
    value: np.ndarray
    label: np.ndarray
    radius_m: np.ndarray
    named: tuple[tuple[str, ...], ...]
    path: Path
    """The file they were read from, for messages."""


@dataclass(frozen=True)
class Baseline:
    """An earlier run's outputs, read back for the comparison with this one."""

    folder: Path
    previous_run: bool
    """Whether it is the output folder's own previous run (else a folder given to compare
    with: ``[changes] baseline`` or ``--compare-to``)."""
    villages: pd.DataFrame
    """Its villages.csv: codes, names, risk classes, levels, expected returns."""
    households: pd.DataFrame | None
    """Its households' ids, village codes, risk and risk class; None when it has none that
    can be read (a warning said why)."""
    created: str | None = None
    """When it ran (its manifest's ``created``), if its manifest says."""
    manifest_sha256: str | None = None
    inputs: tuple[Mapping[str, Any], ...] | None = None
    """Its manifest's ``inputs`` (role, path, sha256, ...); None if it lists none."""


@dataclass(frozen=True)
class InputChange:
    """An input whose SHA-256 differs from the baseline's, matched by role ('households',
    'villages', 'raster <layer>', ...); None on the side that did not have it."""

    role: str
    old_sha256: str | None
    new_sha256: str | None


@dataclass(frozen=True)
class Comparison:
    """What a run was compared with, and which of its inputs differ from that run's."""

    folder: Path
    previous_run: bool
    created: str | None
    manifest_sha256: str | None
    min_returns: float
    inputs: tuple[InputChange, ...] | None
    """The inputs that differ; None when the baseline's manifest lists no inputs."""


@dataclass(frozen=True)
class RunResult:
    """What a run produced; ``out_dir`` is None until the outputs are written."""

    villages: gpd.GeoDataFrame
    """One row per village (the contract's columns), polygons in EPSG:4326."""
    households: pd.DataFrame
    priorities: pd.DataFrame
    config: Config
    grids: Mapping[str, Grid]
    timings: Mapping[str, float]
    warnings: tuple[str, ...]
    changes: pd.DataFrame | None
    """Villages changed since the baseline (None without one): changes.csv."""
    changes_header: tuple[str, ...]
    """The columns of the changes table, for a run with nothing to compare with."""
    reused_layers: tuple[str, ...]
    """Layers whose overlay came from the cache: nothing it depends on had changed."""
    risk_classes: pd.DataFrame
    """Households per risk class (columns 0-4), for each hazard and 'combined' (rows)."""
    layer_images: Mapping[str, MapImage]
    """Each raster (or cube) layer's values as a class image for the map."""
    versions: Mapping[str, str]
    """What the run ran on (Python, hazardmap, its libraries, GDAL), for the manifest."""
    relief: MapImage | None = None
    """The ``[map] backdrop`` as shaded relief, when there is one."""
    household_changes: pd.DataFrame | None = None
    """Households whose risk class changed, that appeared or disappeared since the
    baseline (None without one, or when it has no household table): household_changes.csv."""
    household_changes_header: tuple[str, ...] = ()
    comparison: Comparison | None = None
    """What the tables were compared with (None: no earlier run)."""
    recorded_inputs: Sequence[Mapping[str, Any]] | None = None
    """Every input with its role and SHA-256, as the manifest records them (None: the
    manifest describes them itself)."""
    years: pd.DataFrame | None = None
    """Simulated years (year, returns, {h}_returns): years.parquet; None without
    [simulation]."""
    exceedance: pd.DataFrame | None = None
    """return_period, returns, tvar: exceedance.csv; None without [simulation]."""
    simulation: Mapping[str, Any] | None = None
    """The simulation's settings and summary, for the manifest and the report."""
    layer_zones: Mapping[str, gpd.GeoDataFrame] = field(default_factory=dict)
    """Each zones layer's zones for the map (label, value; EPSG:4326, simplified)."""
    layer_sites: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    """Each layer's hazard sites: site_id, label, value, lon, lat, radius_m, village_code,
    village, township, households and monitored (the households each threatens)."""
    out_dir: Path | None = None

    def written_to(self, out_dir: Path, timings: Mapping[str, float]) -> RunResult:
        """The same result, with where it was written and the final timings."""
        return replace(self, out_dir=out_dir, timings=dict(timings))


@dataclass(frozen=True)
class EventResult:
    """What one event gave: per household, the leads, per village (polygons in
    EPSG:4326), the footprint for the map; ``out_dir`` is None until written."""

    event: EventConfig
    config: Config
    households: pd.DataFrame
    leads: pd.DataFrame
    villages: gpd.GeoDataFrame
    footprint: gpd.GeoDataFrame | None
    """Polygons with their intensity (None for a raster footprint)."""
    footprint_image: MapImage | None
    """A raster footprint as a class image (None for polygons)."""
    warnings: tuple[str, ...]
    versions: Mapping[str, str]
    timings: Mapping[str, float] = field(default_factory=dict)
    out_dir: Path | None = None

    def written_to(self, out_dir: Path, timings: Mapping[str, float]) -> EventResult:
        return replace(self, out_dir=out_dir, timings=dict(timings))


@dataclass(frozen=True)
class ValidationReport:
    """Every problem found, at once: errors (a run would stop) and warnings."""

    errors: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class UncertaintyResult:
    """What ``uncertainty`` computed, the settings it ran with, and where it was written."""

    config: Config
    settings: UncertaintySection
    uncertainty: Uncertainty
    recorded_inputs: list[dict[str, Any]]
    warnings: tuple[str, ...]
    versions: dict[str, str]
    timings: dict[str, float] = field(default_factory=dict)
    out_dir: Path | None = None
