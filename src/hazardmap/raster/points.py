"""Point sampling: move points into the raster's CRS, then read the cell (or four cells)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer

from hazardmap.errors import CRSError, InputError
from hazardmap.raster.engine import PointJob, scan
from hazardmap.raster.geometry import PixelPoints, to_pixel_points
from hazardmap.raster.source import Grid, RasterSource, open_source

if TYPE_CHECKING:
    import xarray as xr

SAMPLING_METHODS = ("nearest", "bilinear")


def points_in_grid(
    x: np.ndarray, y: np.ndarray, crs: CRS, grid: Grid, *, method: str = "nearest"
) -> PixelPoints:
    """Coordinates in ``crs`` as the cell entries that sample them on ``grid``."""
    if method not in SAMPLING_METHODS:
        raise InputError(f"sampling method '{method}' is not known; use one of {SAMPLING_METHODS}")
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if not crs.equals(grid.crs):
        transformer = Transformer.from_crs(crs, grid.crs, always_xy=True)
        x, y = (np.asarray(v, dtype=np.float64) for v in transformer.transform(x, y))
    return to_pixel_points(x, y, grid, method)


def sample_xy(
    source: RasterSource, x: np.ndarray, y: np.ndarray, crs: CRS, *, method: str = "nearest"
) -> np.ndarray:
    """Values at coordinates ``x``, ``y`` given in ``crs``; NaN where a coordinate is NaN,
    off the raster, or on a missing cell."""
    job = PointJob(points_in_grid(x, y, crs, source.grid, method=method))
    scan(source, points=[job])
    return job.result()


def sample(
    raster: str | Path | xr.DataArray,
    points: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    method: str = "nearest",
    crs: str | None = None,
) -> np.ndarray:
    """The raster's value at each point (float64; NaN for nodata, off-raster or empty points).

    ``method="bilinear"`` interpolates between the four nearest cell centres, leaving out
    missing neighbours and renormalising the weights of the others. ``crs`` is only for
    raster files that carry no CRS.
    """
    series = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    if series.crs is None:
        raise CRSError("points have no CRS; set one with .set_crs('EPSG:....') before sample")
    types = set(series.geom_type.dropna()) - {"Point"}
    if types:
        raise InputError(f"sample() takes points, got {sorted(types)}")
    geoms = np.asarray(series.values)
    usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    x = np.full(len(geoms), np.nan)
    y = np.full(len(geoms), np.nan)
    x[usable] = shapely.get_x(geoms[usable])
    y[usable] = shapely.get_y(geoms[usable])
    with open_source(raster, declared_crs=crs) as source:
        return sample_xy(source, x, y, CRS.from_user_input(series.crs), method=method)
