"""An event's footprint as the emergency office draws or receives it: polygons (inside =
hit), optionally with an intensity per polygon, or a raster of intensity (a cell with a
valid value > 0 is hit), in any CRS, GCJ-02 and BD-09 included for polygons."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from hazardmap.config import EventConfig
from hazardmap.crs import Grid
from hazardmap.errors import InputError
from hazardmap.io.vectors import VectorRole, in_declared_crs, read_vector
from hazardmap.polygons import POLYGONAL_TYPES, polygonal_part
from hazardmap.problems import names_summary, rows_summary
from hazardmap.raster import open_source

RASTER_SUFFIXES = (".tif", ".tiff", ".img", ".vrt", ".asc", ".nc")


@dataclass(frozen=True)
class Footprint:
    """Polygons (in ``crs``) with each one's intensity (NaN without an intensity field),
    or a raster of intensity with its grid."""

    path: Path
    polygons: np.ndarray | None = None
    intensity: np.ndarray | None = None
    crs: CRS | None = None
    grid: Grid | None = None
    declared_crs: str | None = None
    """A raster's ``crs`` from the event file (for a file without one)."""

    @property
    def is_raster(self) -> bool:
        return self.grid is not None

    @property
    def has_intensity(self) -> bool:
        return self.is_raster or (
            self.intensity is not None and bool(np.isfinite(self.intensity).any())
        )


def read_footprint(event: EventConfig) -> Footprint:
    """The event's footprint, checked: a raster opens with a CRS; polygons are polygons,
    with a numeric intensity field when one is named."""
    spec = event.spec
    path = event.footprint_path
    where = event.file.name
    if path.suffix.lower() in RASTER_SUFFIXES:
        if spec.intensity_field is not None:
            raise InputError(
                f"{path}: intensity_field is for polygons; a raster's values are the intensity: "
                f"remove intensity_field from {where}"
            )
        with open_source(path, declared_crs=spec.crs) as source:
            return Footprint(path, grid=source.grid, crs=source.grid.crs, declared_crs=spec.crs)
    role = VectorRole("event footprint", where, "the footprint as polygons")
    frame = read_vector(path, spec.layer, role)
    if spec.intensity_field is not None and spec.intensity_field not in frame.columns:
        present = [c for c in frame.columns if c != "geometry"]
        raise InputError(
            f"{path}: intensity_field '{spec.intensity_field}' not found; the file has "
            f"{names_summary(present)}; correct intensity_field in {where}"
        )
    frame = in_declared_crs(frame, path, spec.crs, VectorRole("footprint", where, ""))
    geoms = _polygons(np.asarray(frame.geometry.values), path)
    intensity = np.full(len(frame), np.nan)
    if spec.intensity_field is not None:
        intensity = _intensity(frame[spec.intensity_field], path, spec.intensity_field)
    return Footprint(path, geoms, intensity, CRS.from_user_input(frame.crs))


def _polygons(geoms: np.ndarray, path: Path) -> np.ndarray:
    lines = np.arange(len(geoms)) + 1
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if empty.any():
        raise InputError(
            f"{path}: empty geometry at {rows_summary(lines[empty], unit='feature')}; draw "
            "those polygons or remove them"
        )
    other = ~np.isin(shapely.get_type_id(geoms), POLYGONAL_TYPES)
    if other.any():
        found = sorted({g.geom_type for g in geoms[other]})
        raise InputError(
            f"{path}: the footprint must be polygons, found {found} at "
            f"{rows_summary(lines[other], unit='feature')}; draw the area hit as polygons "
            "(or give a raster of intensity)"
        )
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms = geoms.copy()
        geoms[invalid] = [polygonal_part(g) for g in shapely.make_valid(geoms[invalid])]
    if not len(geoms) or not (shapely.area(geoms) > 0).any():
        raise InputError(f"{path}: the footprint has no polygon with an area; draw the area hit")
    return geoms


def _intensity(values: pd.Series, path: Path, field: str) -> np.ndarray:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(np.float64)
    wrong = ~np.isfinite(numbers)
    if wrong.any():
        lines = np.arange(len(values)) + 1
        raise InputError(
            f"{path}: intensity_field '{field}' is not a number at "
            f"{rows_summary(lines[wrong], values[wrong].tolist(), unit='feature')}; give each "
            "polygon its intensity as a number"
        )
    return numbers
