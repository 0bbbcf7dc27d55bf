"""An event's footprint as the emergency office draws or receives it: polygons (inside =
hit), optionally with an intensity per polygon, or a raster of intensity (a cell with a
valid value > 0 is hit), in any CRS, GCJ-02 and BD-09 included for polygons."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
import shapely
from pyproj import CRS

from hazardmap.chinese_crs import OFFSET_SYSTEMS
from hazardmap.config import EventConfig
from hazardmap.config.event import RASTER_SUFFIXES
from hazardmap.crs import Grid, parse_crs, same_crs
from hazardmap.errors import InputError
from hazardmap.io.hazard_features import encoding_hint
from hazardmap.io.vectors import (
    PolygonWords,
    VectorRole,
    in_declared_crs,
    read_vector,
    repaired_polygons,
)
from hazardmap.problems import Problems, names_summary, rows_summary
from hazardmap.raster import open_source


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
    variable: str | None = None
    """A NetCDF footprint's variable."""

    @property
    def is_raster(self) -> bool:
        return self.grid is not None

    @property
    def has_intensity(self) -> bool:
        return self.is_raster or (
            self.intensity is not None and bool(np.isfinite(self.intensity).any())
        )


def read_footprint(event: EventConfig, problems: Problems | None = None) -> Footprint:
    """The event's footprint, checked: a raster opens with a CRS; polygons are polygons,
    with a numeric intensity field when one is named."""
    spec = event.spec
    path = event.footprint_path
    where = event.file.name
    variable = event.footprint_variable
    if variable is not None or path.suffix.lower() in RASTER_SUFFIXES:
        if spec.intensity_field is not None:
            raise InputError(
                f"{path}: intensity_field is for polygons; a raster's values are the intensity: "
                f"remove intensity_field from {where}"
            )
        if variable is None:
            _check_raster(path, spec.crs, where)
        with open_source(path, declared_crs=spec.crs, variable=variable) as source:
            grid = source.grid
        return Footprint(path, grid=grid, crs=grid.crs, declared_crs=spec.crs, variable=variable)
    role = VectorRole("event footprint", where, "the footprint as polygons")
    frame = read_vector(path, spec.layer, role)
    if spec.intensity_field is not None and spec.intensity_field not in frame.columns:
        present = [c for c in frame.columns if c != "geometry"]
        raise InputError(
            f"{path}: intensity_field '{spec.intensity_field}' not found; the file has "
            f"{names_summary(present)}; correct intensity_field in {where}"
            f"{encoding_hint(path)}"
        )
    frame = in_declared_crs(frame, path, spec.crs, VectorRole("footprint's polygons", where, ""))
    geoms = _polygons(np.asarray(frame.geometry.values), path, problems)
    intensity = np.full(len(frame), np.nan)
    if spec.intensity_field is not None:
        intensity = _intensity(frame[spec.intensity_field], path, spec.intensity_field)
        zero = intensity == 0
        if zero.any() and problems is not None:
            lines = np.arange(len(frame)) + 1
            problems.warn(
                f"{path}: {int(zero.sum())} polygon(s) have intensity 0 "
                f"({rows_summary(lines[zero], unit='feature')}): their households are in the "
                "footprint, where constant damage ratios and housing losses apply in full; "
                "remove those polygons if nothing was hit there"
            )
    return Footprint(path, geoms, intensity, CRS.from_user_input(frame.crs))


def _check_raster(path: Path, declared: str | None, where: str) -> None:
    """What the raster engine's messages would put in a layer file's words: one band, a
    CRS from the file or the event file, never China's offset systems."""
    if declared is not None and declared.strip().upper() in OFFSET_SYSTEMS:
        raise InputError(
            f"{path}: crs = '{declared}' in {where}: GCJ-02 and BD-09 are for polygons drawn "
            "on AMap or Baidu; a raster footprint needs a real CRS (e.g. EPSG:4326): correct "
            "crs, or remove it if the file has one"
        )
    if not path.is_file():
        return  # the engine's own message names a missing or unreadable file
    try:
        with rasterio.open(path) as dataset:
            bands, file_crs = dataset.count, dataset.crs
    except rasterio.errors.RasterioError:
        return
    if bands > 1:
        raise InputError(
            f"{path}: the raster has {bands} bands; a footprint is one band of intensity: "
            "give the band that holds it as a file of its own (gdal_translate -b k)"
        )
    if file_crs is None and declared is None:
        raise InputError(
            f'{path}: the raster has no CRS; declare it with crs = "EPSG:...." in {where}, '
            "or assign one (gdal_edit.py -a_srs)"
        )
    wanted = None if declared is None else parse_crs(declared, where=f"{path}: crs in {where}")
    if (
        file_crs is not None
        and wanted is not None
        and not same_crs(wanted, CRS.from_user_input(file_crs.to_wkt()))
    ):
        raise InputError(
            f"{path}: crs = '{declared}' in {where}, but the raster's own CRS is "
            f"{file_crs.to_string()}; remove crs from {where} (it is for files without one)"
        )


def _polygons(geoms: np.ndarray, path: Path, problems: Problems | None) -> np.ndarray:
    lines = np.arange(len(geoms)) + 1
    fix = "draw the area hit as polygons (or give a raster of intensity)"
    words = PolygonWords("polygons", "feature", "the footprint", fix)
    geoms, invalid = repaired_polygons(geoms, path, words)
    if invalid.any() and problems is not None:
        problems.warn(
            f"{path}: repaired {int(invalid.sum())} invalid footprint polygon(s) "
            f"({rows_summary(lines[invalid], unit='feature')}); check them"
        )
    if not len(geoms) or not (shapely.area(geoms) > 0).any():
        raise InputError(f"{path}: the footprint has no polygon with an area; draw the area hit")
    return geoms


def _intensity(values: pd.Series, path: Path, field: str) -> np.ndarray:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(np.float64)
    wrong = ~np.isfinite(numbers)
    negative = np.isfinite(numbers) & (numbers < 0)
    if negative.any():
        lines = np.arange(len(values)) + 1
        raise InputError(
            f"{path}: intensity_field '{field}' is negative at "
            f"{rows_summary(lines[negative], values[negative].tolist(), unit='feature')}; an "
            "intensity is 0 or more: correct those polygons"
        )
    if wrong.any():
        lines = np.arange(len(values)) + 1
        raise InputError(
            f"{path}: intensity_field '{field}' is not a number at "
            f"{rows_summary(lines[wrong], values[wrong].tolist(), unit='feature')}; give each "
            "polygon its intensity as a number"
        )
    return numbers
