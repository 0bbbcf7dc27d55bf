"""Zonal statistics: validate the request, reduce each zone strip by strip, assemble.

Statistics are named by strings and looked up in one registry (``mean``, ``max``,
``frac_above(0.5)``, ...), as exactextract does it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from hazardmap.cluster import active_client
from hazardmap.errors import CRSError, InputError
from hazardmap.raster import kernels
from hazardmap.raster.engine import (
    StripReader,
    ZonalJob,
    ZoneReduction,
    leading_windows,
    scan,
)
from hazardmap.raster.geometry import to_pixel_space
from hazardmap.raster.source import open_source

if TYPE_CHECKING:
    import xarray as xr


def _sum(red: ZoneReduction) -> np.ndarray:
    return np.where(red.weight > 0, red.weighted_sum, np.nan)


_SIMPLE_STATS: dict[str, Callable[[ZoneReduction], np.ndarray]] = {
    "mean": ZoneReduction.mean,
    "max": lambda red: red.maximum,
    "min": lambda red: red.minimum,
    "sum": _sum,
    "count": lambda red: red.weight,
}
_FRAC_ABOVE = re.compile(r"^frac_above\(\s*([-+0-9.eE]+)\s*\)$")


def _parse_stats(stats: Sequence[str]) -> tuple[list[str], tuple[float, ...]]:
    if isinstance(stats, str):
        stats = (stats,)
    thresholds: list[float] = []
    for name in stats:
        match = _FRAC_ABOVE.match(name)
        if match:
            try:
                thresholds.append(float(match.group(1)))
            except ValueError:
                raise InputError(f"statistic '{name}': the threshold is not a number") from None
        elif name not in _SIMPLE_STATS:
            raise InputError(
                f"unknown statistic '{name}'; expected one of {sorted(_SIMPLE_STATS)} "
                "or frac_above(t)"
            )
    return list(stats), tuple(dict.fromkeys(thresholds))


def coverage_rule(coverage: str) -> kernels.Coverage:
    if coverage not in kernels.COVERAGE_RULES:
        raise InputError(
            f"coverage '{coverage}' is not known; use one of {sorted(kernels.COVERAGE_RULES)}"
        )
    return kernels.COVERAGE_RULES[coverage]


def zones_to_crs(zones: gpd.GeoDataFrame | gpd.GeoSeries, crs: object) -> np.ndarray:
    """The zones' polygons, moved into ``crs``, as a shapely array."""
    series = zones.geometry if isinstance(zones, gpd.GeoDataFrame) else zones
    if series.crs is None:
        raise CRSError("zones have no CRS; set one with .set_crs('EPSG:....') before zonal_stats")
    kinds = set(np.unique(shapely.get_type_id(np.asarray(series.values))).tolist())
    other = kinds - {-1, int(shapely.GeometryType.POLYGON), int(shapely.GeometryType.MULTIPOLYGON)}
    if other:
        found = sorted(shapely.GeometryType(k).name for k in other)
        raise InputError(
            f"zones must be polygons or multipolygons, got {found}; buffer points "
            "or lines first, or use sample() for points"
        )
    if series.crs == crs:
        return np.asarray(series.values)
    with np.errstate(invalid="ignore", over="ignore"):
        moved = np.asarray(series.to_crs(crs).values)
    bad = ~np.isfinite(shapely.get_coordinates(moved)).all(axis=1)
    if bad.any():
        raise CRSError(
            f"zones cannot be moved from {series.crs.to_string()} into the raster's CRS: "
            f"{int(bad.sum())} vertices fall outside that CRS's valid range; the zones' "
            "declared CRS is probably wrong (check their .prj or set_crs)"
        )
    return moved


def zonal_stats(
    raster: str | Path | xr.DataArray,
    zones: gpd.GeoDataFrame | gpd.GeoSeries,
    stats: Sequence[str] = ("mean", "max", "count"),
    *,
    coverage: str = "fraction",
    crs: str | None = None,
) -> pd.DataFrame:
    """Statistics of a raster over each zone, one row per zone in the zones' order.

    ``coverage="fraction"`` weights each cell by the share of it the zone covers (count is
    the sum of those shares); ``"centre"`` counts cells whose centre is inside;
    ``"all_touched"`` every cell the zone overlaps. Missing cells are ignored; a zone
    without a valid cell gets NaN and count 0. Zones are moved into the raster's CRS; the
    raster is never resampled, and it is read strip by strip (see docs/scaling.md).
    ``crs`` is for rasters that carry no CRS; one contradicting the raster's own is a CRSError.
    """
    names, thresholds = _parse_stats(stats)
    rule = coverage_rule(coverage)
    with open_source(raster, declared_crs=crs) as source, StripReader(source) as reader:
        geoms = zones_to_crs(zones, source.grid.crs)
        if active_client() is None:  # decoding starts while the zones are prepared
            for window in leading_windows(source, shapely.total_bounds(geoms)):
                reader.prefetch(window)
        job = ZonalJob(to_pixel_space(geoms, source.grid), rule, thresholds)
        scan(source, [job], reader=reader)
    red = job.result()
    columns: dict[str, np.ndarray] = {}
    for name in names:
        match = _FRAC_ABOVE.match(name)
        columns[name] = red.frac_above(float(match.group(1))) if match else _SIMPLE_STATS[name](red)
    return pd.DataFrame(columns, index=zones.index)
