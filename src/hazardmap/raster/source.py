"""Rasters as the kernels see them: a float64 array with NaN for missing, a grid and a CRS.

A raster comes from a file path or from an ``xarray.DataArray`` (numpy- or dask-backed);
either way it is normalised here once, so the kernels never see nodata values or file
handles.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from affine import Affine
from pyproj import CRS
from pyproj.exceptions import CRSError as PyprojCRSError

from hazardmap.errors import CRSError, InputError, InputFileNotFoundError

if TYPE_CHECKING:
    import xarray as xr


@dataclass(frozen=True)
class Grid:
    """The geometry of a raster: its affine transform, shape and CRS."""

    transform: Affine
    width: int
    height: int
    crs: CRS

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in the raster's CRS."""
        t = self.transform
        xs = (t.c, t.c + t.a * self.width)
        ys = (t.f, t.f + t.e * self.height)
        return (min(xs), min(ys), max(xs), max(ys))


@dataclass(frozen=True)
class RasterData:
    """A single band in memory: ``values`` is floating point (float32 where that holds the
    source values exactly, else float64) with NaN wherever data is missing."""

    values: np.ndarray
    grid: Grid
    source: str


def parse_crs(value: Any, *, where: str) -> CRS:
    """A pyproj CRS from anything pyproj accepts, or a CRSError naming ``where``."""
    try:
        return CRS.from_user_input(value)
    except PyprojCRSError:
        raise CRSError(
            f"{where}: '{value}' is not a coordinate reference system pyproj knows; "
            "use an EPSG code such as 'EPSG:4326'"
        ) from None


def _float_type(dtype: np.dtype) -> type[np.floating]:
    """float32 for sources it holds exactly (float32, 8- and 16-bit integers), else float64."""
    return np.float32 if dtype.itemsize <= 2 or dtype == np.float32 else np.float64


def _check_grid(transform: Affine, where: str) -> None:
    if transform.b != 0 or transform.d != 0:
        raise InputError(
            f"{where}: rotated or sheared rasters are not supported; warp it to a north-up grid "
            "first (gdalwarp)"
        )


def read_raster(path: Path, *, declared_crs: str | None = None) -> RasterData:
    """Band 1 of a raster file, nodata (and NaN) turned into NaN."""
    import rasterio
    from rasterio.errors import RasterioIOError

    if not path.is_file():
        raise InputFileNotFoundError(f"{path}: raster not found; check the layer's path")
    try:
        with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"), rasterio.open(path) as ds:
            crs_value = ds.crs
            if crs_value is None:
                if declared_crs is None:
                    raise CRSError(
                        f'{path}: the raster has no CRS; declare it with crs = "EPSG:...." in '
                        "its layer file, or assign one (gdal_edit.py -a_srs)"
                    )
                crs = parse_crs(declared_crs, where=f"{path}: declared crs")
            else:
                crs = CRS.from_user_input(crs_value)
            _check_grid(ds.transform, str(path))
            band = ds.read(1, masked=True)
            grid = Grid(transform=ds.transform, width=ds.width, height=ds.height, crs=crs)
    except RasterioIOError as exc:
        raise InputError(f"{path}: not a raster GDAL can read ({exc}); check the file") from None
    values = np.ma.filled(band.astype(_float_type(band.dtype), copy=False), np.nan)
    return RasterData(values=values, grid=grid, source=str(path))


def _dataarray_crs(da: xr.DataArray) -> CRS:
    candidates: list[Any] = [da.attrs.get("crs")]
    if "spatial_ref" in da.coords:
        ref = da.coords["spatial_ref"].attrs
        candidates += [ref.get("crs_wkt"), ref.get("spatial_ref")]
    for value in candidates:
        if value is not None:
            return parse_crs(value, where="DataArray crs")
    raise CRSError(
        "DataArray: no CRS found; set da.attrs['crs'] = 'EPSG:....' (or use rioxarray's write_crs)"
    )


def dataarray_to_raster(da: xr.DataArray) -> RasterData:
    """A 2-D DataArray with regular 1-D ``x``/``y`` coordinates (cell centres) and a CRS."""
    data = da.squeeze(drop=True)
    if data.ndim != 2 or "x" not in data.dims or "y" not in data.dims:
        raise InputError(
            f"DataArray: expected 2 dimensions named y and x, got {tuple(data.dims)}; "
            "select one band first"
        )
    data = data.transpose("y", "x")
    x = np.asarray(data["x"].values, dtype=np.float64)
    y = np.asarray(data["y"].values, dtype=np.float64)
    if x.size < 2 or y.size < 2:
        raise InputError("DataArray: needs at least 2 cells along x and y to know its grid")
    dx, dy = np.diff(x), np.diff(y)
    if not (np.allclose(dx, dx[0]) and np.allclose(dy, dy[0])):
        raise InputError("DataArray: x and y coordinates must be evenly spaced")
    transform = Affine(dx[0], 0.0, x[0] - dx[0] / 2, 0.0, dy[0], y[0] - dy[0] / 2)
    values = np.asarray(data.values, dtype=np.float64).copy()
    nodata = da.attrs.get("nodata", da.attrs.get("_FillValue"))
    if nodata is not None and not np.isnan(nodata):
        values[values == nodata] = np.nan
    grid = Grid(transform=transform, width=x.size, height=y.size, crs=_dataarray_crs(da))
    return RasterData(values=values, grid=grid, source=f"DataArray {da.name or ''}".strip())


def as_raster(raster: str | Path | xr.DataArray | RasterData) -> RasterData:
    """Normalise any accepted raster input."""
    if isinstance(raster, RasterData):
        return raster
    if isinstance(raster, str | Path):
        return read_raster(Path(raster))
    import xarray as xr

    if isinstance(raster, xr.DataArray):
        return dataarray_to_raster(raster)
    raise TypeError(f"raster must be a path or an xarray.DataArray, got {type(raster).__name__}")
