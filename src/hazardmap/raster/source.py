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
from hazardmap.raster.kernels import fill_nodata

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


def parse_crs(value: Any, *, where: str) -> CRS:
    """A pyproj CRS from anything pyproj accepts, or a CRSError naming ``where``."""
    try:
        return CRS.from_user_input(value)
    except PyprojCRSError:
        raise CRSError(
            f"{where}: '{value}' is not a coordinate reference system pyproj knows; "
            "use an EPSG code such as 'EPSG:4326'"
        ) from None


class RasterSource:
    """Rows of one band, read on demand: the kernels ask for strips, never the whole band.

    Subclasses read from a file (window by window), an in-memory array, or a dask array.
    ``read`` returns floating point values with NaN wherever data is missing.
    """

    grid: Grid
    description: str
    block_height: int = 256

    def read(self, row0: int, row1: int, col0: int = 0, col1: int | None = None) -> np.ndarray:
        raise NotImplementedError

    def strip_rows(self, target_pixels: int) -> int:
        """Rows per strip: about ``target_pixels`` cells, a multiple of the block height."""
        blocks = max(1, target_pixels // max(1, self.grid.width * self.block_height))
        return int(min(self.grid.height, blocks * self.block_height))

    def close(self) -> None:
        """Release the file, if any."""

    def __enter__(self) -> RasterSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _float_type(dtype: np.dtype) -> type[np.floating]:
    """float32 for sources it holds exactly (float32, 8- and 16-bit integers), else float64."""
    return np.float32 if dtype.itemsize <= 2 or dtype == np.float32 else np.float64


def _check_grid(transform: Affine, where: str) -> None:
    if transform.b != 0 or transform.d != 0:
        raise InputError(
            f"{where}: rotated or sheared rasters are not supported; warp it to a north-up grid "
            "first (gdalwarp)"
        )


GDAL_READ_OPTIONS = {"GDAL_NUM_THREADS": "ALL_CPUS", "GDAL_CACHEMAX": 64}
"""Decode with every core; keep GDAL's block cache small so memory does not grow with the
raster (each strip is read once, in order, so a large cache would not be reused)."""


class FileSource(RasterSource):
    """A raster file read window by window through rasterio."""

    def __init__(self, path: Path, *, declared_crs: str | None = None) -> None:
        import rasterio
        from rasterio.enums import MaskFlags
        from rasterio.errors import RasterioIOError

        if not path.is_file():
            raise InputFileNotFoundError(f"{path}: raster not found; check the layer's path")
        self.path = path
        self.declared_crs = declared_crs
        self.description = str(path)
        self._env = rasterio.Env(**GDAL_READ_OPTIONS)
        self._env.__enter__()
        try:
            self._ds = rasterio.open(path)
        except RasterioIOError as exc:
            self._env.__exit__(None, None, None)
            raise InputError(
                f"{path}: not a raster GDAL can read ({exc}); check the file"
            ) from None
        ds = self._ds
        try:
            if ds.crs is None:
                if declared_crs is None:
                    raise CRSError(
                        f'{path}: the raster has no CRS; declare it with crs = "EPSG:...." in '
                        "its layer file, or assign one (gdal_edit.py -a_srs)"
                    )
                crs = parse_crs(declared_crs, where=f"{path}: declared crs")
            else:
                crs = CRS.from_user_input(ds.crs)
            _check_grid(ds.transform, str(path))
        except BaseException:
            self.close()
            raise
        self.grid = Grid(transform=ds.transform, width=ds.width, height=ds.height, crs=crs)
        self.block_height = int(ds.block_shapes[0][0])
        self.dtype = _float_type(np.dtype(ds.dtypes[0]))
        self.nodata = ds.nodata
        flags = ds.mask_flag_enums[0]
        self._dataset_mask = MaskFlags.per_dataset in flags or MaskFlags.alpha in flags

    def read(self, row0: int, row1: int, col0: int = 0, col1: int | None = None) -> np.ndarray:
        from rasterio.windows import Window

        col1 = self.grid.width if col1 is None else col1
        window = Window(col0, row0, col1 - col0, row1 - row0)
        raw = self._ds.read(1, window=window)
        values = raw.astype(self.dtype, copy=False)  # a fresh array either way: ours to change
        if self._dataset_mask:
            values[self._ds.read_masks(1, window=window) == 0] = np.nan
        elif self.nodata is not None and not np.isnan(self.nodata):
            if values is raw:
                fill_nodata(values, values.dtype.type(self.nodata))
            else:
                values[raw == self.nodata] = np.nan  # compare in the source's own type
        return values

    def close(self) -> None:
        if getattr(self, "_ds", None) is not None:
            self._ds.close()
            self._ds = None
            self._env.__exit__(None, None, None)


class ArraySource(RasterSource):
    """A band already in memory (numpy), or lazily in a dask array."""

    def __init__(
        self, values: Any, grid: Grid, description: str, nodata: float | None = None
    ) -> None:
        self.values = values
        self.grid = grid
        self.description = description
        self.nodata = nodata
        chunks = getattr(values, "chunks", None)
        if chunks:
            self.block_height = int(max(chunks[0]))
        self.dtype = _float_type(np.dtype(values.dtype))

    def read(self, row0: int, row1: int, col0: int = 0, col1: int | None = None) -> np.ndarray:
        block = self.values[row0:row1, col0 : self.grid.width if col1 is None else col1]
        if hasattr(block, "compute"):
            block = block.compute()
        values = np.array(block, dtype=self.dtype)
        if self.nodata is not None and not np.isnan(self.nodata):
            fill_nodata(values, values.dtype.type(self.nodata))
        return values


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


def dataarray_source(da: xr.DataArray) -> ArraySource:
    """A 2-D DataArray with regular 1-D ``x``/``y`` coordinates (cell centres) and a CRS;
    numpy- or dask-backed (a dask array is computed strip by strip, never whole)."""
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
    nodata = da.attrs.get("nodata", da.attrs.get("_FillValue"))
    grid = Grid(transform=transform, width=x.size, height=y.size, crs=_dataarray_crs(da))
    return ArraySource(
        data.data,
        grid,
        f"DataArray {da.name or ''}".strip(),
        None if nodata is None else float(nodata),
    )


def open_source(
    raster: str | Path | xr.DataArray | RasterSource,
    *,
    declared_crs: str | None = None,
) -> RasterSource:
    """Normalise any accepted raster input into a source the kernels can read."""
    if isinstance(raster, RasterSource):
        return raster
    if isinstance(raster, str | Path):
        return FileSource(Path(raster), declared_crs=declared_crs)
    import xarray as xr

    if isinstance(raster, xr.DataArray):
        return dataarray_source(raster)
    raise TypeError(f"raster must be a path or an xarray.DataArray, got {type(raster).__name__}")
