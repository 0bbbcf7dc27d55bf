"""Household coordinates that look wrong: found, reported by line, and handled.

- lon/lat swapped (a common spreadsheet slip): swapped back, with a warning;
- outside the county (beyond a tolerance): flagged, and the household falls back to its
  village's values, as if it had no coordinates;
- outside its declared village by more than a tolerance: flagged, kept where it is;
- one point shared by many households (a village office's location typed for everyone):
  flagged, kept.
Each household gets a ``location_flag`` ('' when nothing looked wrong).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from hazardmap.io.problems import rows_summary


@dataclass(frozen=True)
class CoordinateCheck:
    """Households with checked coordinates (x/y possibly swapped back or cleared), a flag
    per household, and the warnings to report."""

    households: pd.DataFrame
    flags: np.ndarray
    warnings: list[str]


def check_coordinates(
    households: pd.DataFrame,
    crs: CRS,
    villages: gpd.GeoDataFrame,
    *,
    source: Path,
    county_tolerance_m: float,
    village_tolerance_m: float,
    duplicate_threshold: int,
) -> CoordinateCheck:
    """Find and handle suspicious coordinates (see the module's docstring)."""
    metric = villages.estimate_utm_crs() if not villages.crs.is_projected else villages.crs
    zones = villages.to_crs(metric)
    county = shapely.buffer(zones.geometry.union_all(), county_tolerance_m)
    shapely.prepare(county)
    to_metric = Transformer.from_crs(crs, metric, always_xy=True)
    x = households["x"].to_numpy(dtype=float).copy()
    y = households["y"].to_numpy(dtype=float).copy()
    located = np.isfinite(x) & np.isfinite(y)
    lines = np.arange(len(households)) + 2
    flags = np.full(len(households), "", dtype=object)
    warnings: list[str] = []

    def metric_xy(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(invalid="ignore"):
            mx, my = to_metric.transform(a, b)
        return np.asarray(mx), np.asarray(my)

    mx, my = metric_xy(x, y)
    inside = located & shapely.contains_xy(county, mx, my)
    if crs.is_geographic:
        sx, sy = metric_xy(y, x)
        swapped = located & ~inside & shapely.contains_xy(county, sx, sy)
        if swapped.any():
            x[swapped], y[swapped] = y[swapped].copy(), x[swapped].copy()
            mx[swapped], my[swapped] = sx[swapped], sy[swapped]
            inside |= swapped
            flags[swapped] = "swapped"
            warnings.append(
                f"{source}: {int(swapped.sum())} households had longitude and latitude swapped; "
                f"swapped back ({rows_summary(lines[swapped])})"
            )
    outside = located & ~inside
    if outside.any():
        x[outside] = np.nan
        y[outside] = np.nan
        flags[outside] = "outside_county"
        warnings.append(
            f"{source}: {int(outside.sum())} households lie outside the county (more than "
            f"{county_tolerance_m:g} m beyond its villages); they take their village's values "
            f"({rows_summary(lines[outside])})"
        )
    village_index = pd.Index(zones["village_code"]).get_indexer(households["village_code"])
    checked = inside & (village_index >= 0)
    distance = np.zeros(len(households))
    geoms = np.asarray(zones.geometry.values)
    distance[checked] = shapely.distance(
        geoms[village_index[checked]], shapely.points(mx[checked], my[checked])
    )
    astray = checked & (distance > village_tolerance_m)
    if astray.any():
        flags[astray] = np.where(
            flags[astray] == "", "outside_village", flags[astray] + ";outside_village"
        )
        warnings.append(
            f"{source}: {int(astray.sum())} households lie more than {village_tolerance_m:g} m "
            f"outside their declared village; check their coordinates or village code "
            f"({rows_summary(lines[astray])})"
        )
    # households on one point (to the metre) with at least duplicate_threshold - 1 others
    point_id = (
        pd.Series(np.round(mx).astype("float64")).astype(str)
        + ","
        + pd.Series(np.round(my).astype("float64")).astype(str)
    )
    counts = point_id[inside].value_counts()
    shared = inside & (point_id.map(counts).fillna(0).to_numpy() >= duplicate_threshold)
    if shared.any():
        flags[shared] = np.where(flags[shared] == "", "duplicate", flags[shared] + ";duplicate")
        groups = int(point_id[shared].nunique())
        warnings.append(
            f"{source}: {int(shared.sum())} households share {groups} point(s) with at least "
            f"{duplicate_threshold - 1} others; likely not their homes "
            f"({rows_summary(lines[shared])})"
        )
    return CoordinateCheck(households.assign(x=x, y=y), flags, warnings)
