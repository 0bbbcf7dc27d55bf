"""Cubes: a NetCDF variable with a time axis (monthly SPI/SPEI, 1991-2020), reduced to one
value per cell by a declared reduction, then a raster like any other.

The reduction (docs/model.md, "Hazard sources"): keep the selected months and years;
leave out a year missing any selected month; aggregate within each year (mean, min, max
or sum); across the years take the mean, or the share of years at or below (or at or
above) a threshold, which is an annual probability. Read lazily through xarray and dask,
chunk by chunk, so a cube larger than memory is reduced in bounded memory.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cftime  # type: ignore[import-untyped]
import numpy as np
import pandas as pd
import rasterio
import xarray as xr
from affine import Affine
from pyproj import CRS

from hazardmap.crs import parse_crs, same_crs
from hazardmap.errors import CRSError, InputError, InputFileNotFoundError
from hazardmap.model.reduction import Reduction
from hazardmap.problems import names_summary, shorten

X_NAMES = ("x", "lon", "longitude")
Y_NAMES = ("y", "lat", "latitude")
MONTHS_PER_YEAR = 12
SPACING_TOLERANCE = 1e-3
"""Share of a cell's size by which coordinates may stray from an even grid (float32)."""


@dataclass(frozen=True)
class ReducedCube:
    """The reduced grid (north up) and what the reduction kept."""

    values: np.ndarray
    transform: Affine
    crs: CRS
    years_used: tuple[int, ...]
    years_left_out: tuple[int, ...]


def _open(path: Path, where: str) -> xr.Dataset:
    if not path.exists():
        raise InputFileNotFoundError(f"{path}: cube not found; check path in {where}")
    try:
        with warnings.catch_warnings():  # h5netcdf on HDF5 data without dimension scales
            warnings.filterwarnings("ignore", message=".*phony_dims.*", category=UserWarning)
            # a Zarr store with or without consolidated metadata reads the same
            warnings.filterwarnings("ignore", message="Failed to open Zarr store with consolid")
            warnings.filterwarnings("ignore", message="Consolidated metadata is currently not")
            if path.is_dir() or path.suffix.lower() == ".zarr":  # a Zarr store
                return xr.open_zarr(path, decode_times=True, use_cftime=None)  # lazy
            return xr.open_dataset(path, decode_times=True, use_cftime=None)  # lazy
    except Exception as exc:  # xarray's engines raise many unrelated types for bad files
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "decode time" in first or "time units" in first:
            raise InputError(
                f"{path}: its time axis cannot be decoded ({shorten(first, 160)}); give the "
                "time as CF units such as 'days since 1900-01-01' (any CF calendar), not "
                "'months since'"
            ) from None
        raise InputError(
            f"{path}: not a NetCDF file or Zarr store xarray can read ({shorten(first, 160)}); "
            "give a NetCDF (3 or 4) file or a Zarr store"
        ) from None


def _is_time(coord: xr.DataArray) -> bool:
    """Dates: numpy's, or cftime's for the calendars numpy has not (noleap, 360_day)."""
    if np.issubdtype(coord.dtype, np.datetime64):
        return True
    return (
        coord.dtype == object
        and coord.size > 0
        and isinstance(coord.values.flat[0], cftime.datetime)
    )


def _axis(data: xr.DataArray, names: tuple[str, ...], path: Path, what: str) -> str:
    for dim in data.dims:
        if str(dim).lower() in names:
            return str(dim)
    raise InputError(
        f"{path}: variable '{data.name}' has no {what} dimension (its dimensions are "
        f"{list(map(str, data.dims))}); expected one named {' or '.join(names)}"
    )


def _time_axis(data: xr.DataArray, path: Path) -> str:
    for dim in data.dims:
        coord = data.coords.get(dim)
        if coord is not None and _is_time(coord):
            return str(dim)
    raise InputError(
        f"{path}: variable '{data.name}' has no time axis (its dimensions are "
        f"{list(map(str, data.dims))}, none of them dates); a cube needs a time dimension "
        "with CF time units (e.g. 'days since 1900-01-01'); for one grid, use a raster layer"
    )


def _crs(
    dataset: xr.Dataset,
    data: xr.DataArray,
    declared: str | None,
    override: bool,
    x: str,
    path: Path,
) -> CRS:
    """The file's grid mapping, else the layer's crs, else WGS84 for degrees; a declared
    CRS that contradicts the file's is an error unless it overrides it."""
    mapping = data.attrs.get("grid_mapping")
    own = None
    if mapping and mapping in dataset.variables:
        try:
            own = CRS.from_cf(dict(dataset[mapping].attrs))
        except Exception:  # an incomplete grid mapping: as if there were none
            own = None
    if own is None and x.lower() in ("lon", "longitude"):
        own = CRS.from_epsg(4326)
    if declared is None:
        if own is None:
            raise CRSError(
                f"{path}: variable '{data.name}' has no grid mapping and its axes are not "
                'longitude/latitude; declare its CRS with crs = "EPSG:...." in the layer file'
            )
        return own
    wanted = parse_crs(declared, where=f"{path}: crs")
    if own is not None and not same_crs(own, wanted) and not override:
        raise CRSError(
            f"{path}: the cube's grid is in {own.name}, the layer file declares {wanted.name}; "
            "remove crs, or set crs_override = true if the file's grid mapping is wrong"
        )
    return wanted


def reduce_cube(
    path: Path,
    variable: str,
    reduction: Reduction,
    *,
    declared_crs: str | None = None,
    crs_override: bool = False,
    nodata: float | None = None,
    where: str = "the layer file",
) -> ReducedCube:
    """The cube's variable reduced to one value per cell (float64, NaN where missing)."""
    dataset = _open(path, where)
    with dataset:
        if variable not in dataset.data_vars:
            raise InputError(
                f"{path}: no variable '{variable}' (the file holds "
                f"{names_summary(sorted(map(str, dataset.data_vars)))}); set variable in {where}"
            )
        data = dataset[variable]
        time = _time_axis(data, path)
        x, y = (
            _axis(data, X_NAMES, path, "longitude or x"),
            _axis(data, Y_NAMES, path, "latitude or y"),
        )
        extra = [d for d in data.dims if d not in (time, x, y)]
        if extra:
            raise InputError(
                f"{path}: variable '{variable}' has the dimension(s) {list(map(str, extra))} "
                "beside time, y and x; give a variable of time, y and x only"
            )
        crs = _crs(dataset, data, declared_crs, crs_override, x, path)
        # a year of months per dask chunk: read and reduced piece by piece, in bounded memory
        data = data.transpose(time, y, x).chunk({time: MONTHS_PER_YEAR})
        if nodata is not None:
            data = data.where(data != nodata)
        kept, years_used, left_out = _selected(data, time, reduction, path)
        annual = _within_year(kept, time, reduction.within_year)
        reduced = _across_years(annual, reduction).astype(np.float64).compute()
        values, transform = _north_up(reduced, x, y, crs, path)
    return ReducedCube(values, transform, crs, years_used, left_out)


def _selected(
    data: xr.DataArray, time: str, reduction: Reduction, path: Path
) -> tuple[xr.DataArray, tuple[int, ...], tuple[int, ...]]:
    """The selected months of the complete selected years; the years kept and left out."""
    stamps = data[time].dt
    steps = pd.Index(data[time].values)
    if steps.has_duplicates:
        twice = steps[steps.duplicated()][:3]
        raise InputError(
            f"{path}: the time step(s) {[str(t) for t in twice]} appear more than once, so "
            "they would count twice; give each time step once"
        )
    keep = np.ones(data.sizes[time], dtype=bool)
    months = reduction.months or tuple(range(1, MONTHS_PER_YEAR + 1))
    keep &= np.isin(stamps.month.values, months)
    years = stamps.year.values
    if reduction.years is not None:
        first, last = reduction.years
        if years.min() > first or years.max() < last:
            raise InputError(
                f"{path}: [reduce] years = [{first}, {last}], but the cube runs from "
                f"{int(years.min())} to {int(years.max())}; ask for years the cube holds, or "
                "remove the key to use them all"
            )
        keep &= (years >= first) & (years <= last)
    if not keep.any():
        first, last = int(years.min()), int(years.max())
        raise InputError(
            f"{path}: the reduction keeps no time step (months {list(months)}"
            f"{'' if reduction.years is None else f', years {list(reduction.years)}'}; the "
            f"cube runs from {first} to {last}); choose months and years the cube holds"
        )
    chosen = data.isel({time: np.flatnonzero(keep)})
    month_of = stamps.month.values[keep]
    year_of = years[keep]
    in_range = np.unique(years)
    if reduction.years is not None:
        in_range = in_range[(in_range >= reduction.years[0]) & (in_range <= reduction.years[1])]
    complete: list[int] = []
    incomplete: list[int] = []
    for year in in_range:  # a year the cube reaches into without every kept month is left out
        present = set(month_of[year_of == year].tolist())
        (complete if present >= set(months) else incomplete).append(int(year))
    if not complete:
        raise InputError(
            f"{path}: no year holds every selected month {list(months)}; choose months the "
            "cube holds"
        )
    chosen = chosen.isel({time: np.flatnonzero(np.isin(year_of, complete))})
    return chosen, tuple(complete), tuple(incomplete)


def _within_year(data: xr.DataArray, time: str, how: str) -> xr.DataArray:
    grouped = data.groupby(data[time].dt.year)
    reduced: xr.DataArray = getattr(grouped, how)(dim=time, skipna=False)
    return reduced


def _across_years(annual: xr.DataArray, reduction: Reduction) -> xr.DataArray:
    """The mean over the years, or the share of years at or below (above) the threshold,
    compared in the data's own precision: a float32 -1.3 is at or below -1.3."""
    kind, threshold = reduction.across()
    if threshold is None:
        return annual.astype(np.float64).mean("year", skipna=True)
    limit = annual.dtype.type(threshold) if annual.dtype.kind == "f" else threshold
    valid = annual.notnull()
    hit = annual <= limit if kind == "share_below" else annual >= limit
    count = valid.sum("year")
    return (hit & valid).sum("year") / count.where(count > 0)  # no data: NaN, not 0/0


def _north_up(
    reduced: xr.DataArray, x: str, y: str, crs: CRS, path: Path
) -> tuple[np.ndarray, Affine]:
    """The grid with rows north to south and, in degrees, longitudes in -180..180."""
    xs = np.asarray(reduced[x].values, dtype=np.float64)
    if crs.is_geographic and xs.max() > 180.0:
        xs = np.where(xs > 180.0, xs - 360.0, xs)
    order_x = np.argsort(xs)
    ys = np.asarray(reduced[y].values, dtype=np.float64)
    order_y = np.argsort(-ys)
    values = np.asarray(reduced.transpose(y, x).values)[np.ix_(order_y, order_x)]
    xs, ys = xs[order_x], ys[order_y]
    if xs.size < 2 or ys.size < 2:
        raise InputError(f"{path}: the cube needs at least 2 cells along each axis")
    step_x = (xs[-1] - xs[0]) / (xs.size - 1)
    step_y = (ys[-1] - ys[0]) / (ys.size - 1)
    for coords, step in ((xs, step_x), (ys, step_y)):  # float32 coordinates carry ~1e-5 noise
        if np.abs(np.diff(coords) - step).max() > SPACING_TOLERANCE * abs(step):
            raise InputError(
                f"{path}: the cube's coordinates are not evenly spaced; regrid it first"
            )
    transform = Affine(step_x, 0.0, xs[0] - step_x / 2, 0.0, step_y, ys[0] - step_y / 2)
    return values, transform


def cube_arrays(cube: ReducedCube) -> dict[str, np.ndarray]:
    """A reduced cube as arrays an .npz holds without pickling, for the cache."""
    return {
        "values": cube.values,
        "transform": np.asarray(cube.transform[:6], dtype=np.float64),
        "crs": np.array(cube.crs.to_wkt()),
        "years_used": np.asarray(cube.years_used, dtype=np.int64),
        "years_left_out": np.asarray(cube.years_left_out, dtype=np.int64),
    }


def cube_from_arrays(arrays: dict[str, np.ndarray]) -> ReducedCube:
    """The reduced cube :func:`cube_arrays` stored."""
    return ReducedCube(
        values=arrays["values"],
        transform=Affine(*arrays["transform"].tolist()),
        crs=CRS.from_wkt(str(arrays["crs"])),
        years_used=tuple(int(y) for y in arrays["years_used"]),
        years_left_out=tuple(int(y) for y in arrays["years_left_out"]),
    )


def write_reduced(cube: ReducedCube, path: Path) -> Path:
    """The reduced grid as a float64 GeoTIFF (NaN for missing), read like any raster: a
    share of 0.1 stays 0.1."""
    height, width = cube.values.shape
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": 1,
        "dtype": "float64",
        "transform": cube.transform,
        "crs": cube.crs.to_wkt(),
        "nodata": float("nan"),
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(cube.values.astype(np.float64), 1)
    return path
