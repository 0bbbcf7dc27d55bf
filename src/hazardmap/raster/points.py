"""Point sampling: move points into the raster's CRS, then read the cell (or four cells)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer

from hazardmap.errors import CRSError, InputError
from hazardmap.raster import kernels
from hazardmap.raster.source import RasterData, as_raster

if TYPE_CHECKING:
    import xarray as xr

SAMPLING_METHODS = ("nearest", "bilinear")


def sample_xy(
    raster: RasterData, x: np.ndarray, y: np.ndarray, crs: CRS, *, method: str = "nearest"
) -> np.ndarray:
    """Values at coordinates ``x``, ``y`` given in ``crs``; NaN where a coordinate is NaN,
    off the raster, or on a missing cell."""
    if method not in SAMPLING_METHODS:
        raise InputError(f"sampling method '{method}' is not known; use one of {SAMPLING_METHODS}")
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if not crs.equals(raster.grid.crs):
        transformer = Transformer.from_crs(crs, raster.grid.crs, always_xy=True)
        x, y = transformer.transform(x, y)
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
    inv = ~raster.grid.transform
    col = inv.a * x + inv.b * y + inv.c
    row = inv.d * x + inv.e * y + inv.f
    kernel = kernels.sample_nearest if method == "nearest" else kernels.sample_bilinear
    result: np.ndarray = kernel(raster.values, col, row)
    return result


def sample(
    raster: str | Path | xr.DataArray,
    points: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    method: str = "nearest",
) -> np.ndarray:
    """The raster's value at each point (float64; NaN for nodata, off-raster or empty points).

    ``method="bilinear"`` interpolates between the four nearest cell centres, leaving out
    missing neighbours and renormalising the weights of the others.
    """
    series = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    if series.crs is None:
        raise CRSError("points have no CRS; set one with .set_crs('EPSG:....') before sample")
    types = set(series.geom_type.dropna()) - {"Point"}
    if types:
        raise InputError(f"sample() takes points, got {sorted(types)}")
    data = as_raster(raster)
    geoms = np.asarray(series.values)
    usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    x = np.full(len(geoms), np.nan)
    y = np.full(len(geoms), np.nan)
    x[usable] = shapely.get_x(geoms[usable])
    y[usable] = shapely.get_y(geoms[usable])
    return sample_xy(data, x, y, CRS.from_user_input(series.crs), method=method)
