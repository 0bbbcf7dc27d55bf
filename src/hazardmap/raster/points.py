"""Point sampling: move points into the raster's CRS, then read the cell (or four cells)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer

from hazardmap.cores import usable_cores
from hazardmap.crs import Grid
from hazardmap.errors import CRSError, InputError
from hazardmap.raster.engine import PointJob, scan
from hazardmap.raster.geometry import PixelPoints, to_pixel_points
from hazardmap.raster.source import RasterSource, open_source

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
        x, y = reproject_points(x, y, crs, grid.crs)
    return to_pixel_points(x, y, grid, method)


def reproject_points(
    x: np.ndarray, y: np.ndarray, src: CRS, dst: CRS
) -> tuple[np.ndarray, np.ndarray]:
    """pyproj's transform on every core: it releases the GIL, so chunks run in threads."""
    out_x = np.empty_like(x)
    out_y = np.empty_like(y)
    n_chunks = max(1, min(usable_cores(), x.size // 50_000))
    bounds = np.linspace(0, x.size, n_chunks + 1).astype(int)

    def work(k: int) -> None:
        part = slice(bounds[k], bounds[k + 1])
        # one transformer per thread: a transformer must not be shared between threads
        transformer = Transformer.from_crs(src, dst, always_xy=True)
        out_x[part], out_y[part] = transformer.transform(x[part], y[part])

    if n_chunks == 1:
        work(0)
    else:
        with ThreadPoolExecutor(max_workers=n_chunks) as pool:
            list(pool.map(work, range(n_chunks)))
    return out_x, out_y


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
    missing neighbours and renormalising the weights of the others. ``crs`` is for rasters
    that carry no CRS; one contradicting the raster's own is a CRSError.
    """
    series = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    if series.crs is None:
        raise CRSError("points have no CRS; set one with .set_crs('EPSG:....') before sample")
    geoms = np.asarray(series.values)
    kinds = np.unique(shapely.get_type_id(geoms))
    if not set(kinds.tolist()) <= {-1, int(shapely.GeometryType.POINT)}:
        found = sorted(shapely.GeometryType(k).name for k in kinds if k >= 0)
        raise InputError(f"sample() takes points, got {found}")
    x = shapely.get_x(geoms)  # NaN for missing and empty points
    y = shapely.get_y(geoms)
    with open_source(raster, declared_crs=crs) as source:
        return sample_xy(source, x, y, CRS.from_user_input(series.crs), method=method)
