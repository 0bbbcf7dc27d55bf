"""What flows between the rooms: the checked inputs, a run's result, a validation report.

A leaf of the package: everything else may import these types, and they import nothing of
hazardmap at run time (the annotations name config and CRS types only for the checker).
The writers receive what they need from a :class:`RunResult`; none of them computes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from collections.abc import Mapping

    import geopandas as gpd
    from pyproj import CRS

    from hazardmap.config import Config
    from hazardmap.crs import Grid

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

    @cached_property
    def located(self) -> np.ndarray:
        """Which households have usable coordinates (the others are placed by village)."""
        return np.isfinite(self.households["x"].to_numpy()) & np.isfinite(
            self.households["y"].to_numpy()
        )


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
    """Villages changed since the previous run (None without one)."""
    changes_header: tuple[str, ...]
    """The columns of the changes table, for a run with nothing to compare with."""
    reused_layers: tuple[str, ...]
    """Layers whose overlay came from the cache: nothing it depends on had changed."""
    risk_classes: pd.DataFrame
    """Households per risk class (columns 0-4), for each hazard and 'combined' (rows)."""
    layer_images: Mapping[str, MapImage]
    """Each layer's raster as a class image for the map."""
    versions: Mapping[str, str]
    """What the run ran on (Python, hazardmap, its libraries, GDAL), for the manifest."""
    relief: MapImage | None = None
    """The ``[map] backdrop`` as shaded relief, when there is one."""
    out_dir: Path | None = None

    def written_to(self, out_dir: Path, timings: Mapping[str, float]) -> RunResult:
        """The same result, with where it was written and the final timings."""
        return replace(self, out_dir=out_dir, timings=dict(timings))


@dataclass(frozen=True)
class ValidationReport:
    """Every problem found, at once: errors (a run would stop) and warnings."""

    errors: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.errors
