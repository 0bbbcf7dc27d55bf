"""Household coordinates that look wrong: found, reported by line, and handled.

Coordinates are checked in the system the project file declares, before any conversion:
- lon/lat swapped (a common spreadsheet slip): swapped back, then converted, with a warning;
- more than half of them outside the county: the declared CRS is wrong, an error naming
  the system that would fit, if one does;
- outside the county (beyond a tolerance): flagged, and the household falls back to its
  village's values, as if it had no coordinates;
- outside its declared village by more than a tolerance: flagged, kept where it is;
- one point shared by many households (a village office's location typed for everyone):
  flagged, kept;
- far more households inside their villages as GCJ-02 or BD-09 than as declared (or the
  other way round): a warning naming the likely system;
- many households placed by their village, for any reason: a warning with the share.
Each household gets a ``location_flag`` ('' when nothing looked wrong).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from hazardmap.crs import (
    CGCS2000,
    WGS84,
    CoordinateSystem,
    candidate_systems,
    same_crs,
    system_of,
    utm_zone,
)
from hazardmap.errors import CRSError
from hazardmap.polygons import union
from hazardmap.problems import Problems, rows_summary

WRONG_CRS_SHARE = 0.5
"""More than this share of the located households outside the county: the CRS is wrong."""
PLACED_BY_VILLAGE_SHARE = 0.10
"""More than this share of households placed by their village deserves a warning."""
FIT_SAMPLE = 5_000
"""Households sampled to compare how well the offset systems fit (the error of a share is
under 0.7 percentage points)."""
BETTER_FIT_MARGIN = 0.10
"""An offset system that puts this many more households (a share) inside their declared
villages than the declared system is named in a warning."""


@dataclass(frozen=True)
class CoordinateSettings:
    county_tolerance_m: float = 1000.0
    village_tolerance_m: float = 500.0
    duplicate_threshold: int = 10


@dataclass(frozen=True)
class CheckedCoordinates:
    """Household coordinates in ``crs`` (NaN where the household is placed by its
    village), and a flag per household."""

    x: np.ndarray
    y: np.ndarray
    crs: CRS
    flags: np.ndarray


class _County:
    """The villages in a metric CRS, and the county they make, for point tests."""

    def __init__(self, villages: gpd.GeoDataFrame, tolerance_m: float) -> None:
        self.declared = villages.crs.to_string()
        west, south, east, north = villages.geometry.to_crs(WGS84).total_bounds
        self.metric = utm_zone((west + east) / 2, (south + north) / 2)
        self.zones = np.asarray(villages.geometry.to_crs(self.metric).values)
        self.area = shapely.buffer(union(self.zones), tolerance_m)
        shapely.prepare(self.area)
        shapely.prepare(self.zones)

    def contains(self, system: CoordinateSystem, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        mx, my = system.transform(x, y, self.metric)
        return np.isfinite(mx) & np.isfinite(my) & shapely.contains_xy(self.area, mx, my)

    def in_village(
        self, system: CoordinateSystem, x: np.ndarray, y: np.ndarray, index: np.ndarray
    ) -> np.ndarray:
        """Which points lie in (or on) the village ``index`` names (-1: none)."""
        mx, my = system.transform(x, y, self.metric)
        known = (index >= 0) & np.isfinite(mx) & np.isfinite(my)
        inside = np.zeros(x.shape, dtype=bool)
        inside[known] = shapely.intersects_xy(self.zones[index[known]], mx[known], my[known])
        return inside


def _wrong_crs(
    county: _County, system: CoordinateSystem, x: np.ndarray, y: np.ndarray, source: Path
) -> CRSError:
    """The error for coordinates that mostly miss the county, naming a system that fits."""
    n = x.size
    inside = county.contains(system, x, y)
    centre = county.area.centroid
    lon, lat = system_of(county.metric).transform(np.array([centre.x]), np.array([centre.y]), WGS84)
    best, best_share = None, 0.0
    for candidate in candidate_systems(float(lon[0]), float(lat[0])):
        if candidate.label == system.label:
            continue
        share = float(county.contains(candidate, x, y).mean())
        if share > best_share:
            best, best_share = candidate, share
    found = (
        f"the coordinates fit {best.label} ({best_share:.0%} inside); set [households] crs = "
        f'"{best.label}"'
        if best is not None and best_share > WRONG_CRS_SHARE
        else "no common CRS fits them either; check [households] crs, the coordinate columns, "
        f"and the villages' own CRS ({county.declared})"
    )
    return CRSError(
        f"{source}: {n - int(inside.sum()):,} of {n:,} households with coordinates "
        f"({1 - inside.mean():.0%}) lie outside the county in the declared CRS "
        f"{system.label}; {found}"
    )


def _fits_offsets_better(
    county: _County,
    system: CoordinateSystem,
    x: np.ndarray,
    y: np.ndarray,
    index: np.ndarray,
    source: Path,
) -> str | None:
    """A warning when GCJ-02, BD-09 or plain degrees put far more households inside their
    declared villages than the declared system does."""
    degrees = system.offset is not None or any(same_crs(system.crs, c) for c in (WGS84, CGCS2000))
    if not degrees or x.size == 0:
        return None
    systems = {
        "EPSG:4326": CoordinateSystem("EPSG:4326", WGS84),
        "GCJ-02": CoordinateSystem("GCJ-02", WGS84, "GCJ-02"),
        "BD-09": CoordinateSystem("BD-09", WGS84, "BD-09"),
    }
    declared = system.offset or "EPSG:4326"
    if x.size > FIT_SAMPLE:  # a sample tells a 10-point difference as well as all do
        sample = np.random.default_rng(0).choice(x.size, FIT_SAMPLE, replace=False)
        x, y, index = x[sample], y[sample], index[sample]
    shares = {
        label: float(county.in_village(other, x, y, index).mean())
        for label, other in systems.items()
    }
    best = max(shares, key=lambda label: shares[label])
    if best == declared or shares[best] - shares[declared] < BETTER_FIT_MARGIN:
        return None
    return (
        f"{source}: the coordinates look like {best}: {shares[best]:.0%} of the households "
        f"lie inside their declared village as {best}, against {shares[declared]:.0%} as the "
        f'declared {system.label}; if they come from {_APPS[best]}, set [households] crs = "{best}"'
    )


_APPS = {
    "GCJ-02": "AMap, Tencent or WeChat maps",
    "BD-09": "Baidu maps",
    "EPSG:4326": "a GPS device or 天地图 (Tianditu)",
}


def check_coordinates(
    households: pd.DataFrame,
    system: CoordinateSystem,
    villages: gpd.GeoDataFrame,
    village_index: np.ndarray,
    *,
    source: Path,
    settings: CoordinateSettings,
    problems: Problems,
) -> CheckedCoordinates:
    """Find and handle suspicious coordinates (see the module's docstring); ``households``
    holds ``x``/``y`` as the file gives them, in ``system``, and ``village_index`` each
    household's row in ``villages``."""
    county = _County(villages, settings.county_tolerance_m)
    x = households["x"].to_numpy(dtype=float).copy()
    y = households["y"].to_numpy(dtype=float).copy()
    located = np.isfinite(x) & np.isfinite(y)
    lines = (
        households["line"].to_numpy()
        if "line" in households.columns
        else np.arange(len(households)) + 2
    )
    flags = np.full(len(households), "", dtype=object)

    inside = located & county.contains(system, x, y)
    if system.in_degrees:
        swapped = located & ~inside & county.contains(system, y, x)
        if swapped.any():
            x[swapped], y[swapped] = y[swapped].copy(), x[swapped].copy()
            inside |= swapped
            flags[swapped] = "swapped"
            problems.warn(
                f"{source}: {int(swapped.sum())} households had longitude and latitude "
                f"swapped; swapped back ({rows_summary(lines[swapped])})"
            )
    outside = located & ~inside
    if located.any() and outside.sum() > WRONG_CRS_SHARE * located.sum():
        raise _wrong_crs(county, system, x[located], y[located], source)
    if outside.any():
        x[outside] = np.nan
        y[outside] = np.nan
        flags[outside] = "outside_county"
        problems.warn(
            f"{source}: {int(outside.sum())} households lie outside the county (more than "
            f"{settings.county_tolerance_m:g} m beyond its villages); they take their "
            f"village's values ({rows_summary(lines[outside])})"
        )
    better = _fits_offsets_better(
        county, system, x[inside], y[inside], village_index[inside], source
    )
    if better:
        problems.warn(better)

    mx, my = system.transform(x, y, county.metric)
    astray = _astray(county, mx, my, inside & (village_index >= 0), village_index)
    astray &= _distances(county, mx, my, astray, village_index) > settings.village_tolerance_m
    if astray.any():
        flags[astray] = np.where(
            flags[astray] == "", "outside_village", flags[astray] + ";outside_village"
        )
        problems.warn(
            f"{source}: {int(astray.sum())} households lie more than "
            f"{settings.village_tolerance_m:g} m outside their declared village; check their "
            f"coordinates or village code ({rows_summary(lines[astray])})"
        )
    shared = _shared_points(mx, my, inside, settings.duplicate_threshold)
    if shared.any():
        flags[shared] = np.where(flags[shared] == "", "duplicate", flags[shared] + ";duplicate")
        groups = len({(round(a), round(b)) for a, b in zip(mx[shared], my[shared], strict=True)})
        problems.warn(
            f"{source}: {int(shared.sum())} households share {groups} point(s) with at least "
            f"{settings.duplicate_threshold - 1} others; likely not their homes "
            f"({rows_summary(lines[shared])})"
        )
    placed = ~inside
    if placed.mean() > PLACED_BY_VILLAGE_SHARE:
        problems.warn(
            f"{source}: {int(placed.sum()):,} households ({placed.mean():.0%}) are placed by "
            f"their village ({int((~located).sum()):,} without coordinates, "
            f"{int(outside.sum()):,} outside the county), so they take their village's "
            "hazard values (a layer's mean; in a class layer, the highest class covering "
            "[risk] min_area_share of the village); check "
            "the coordinate columns ([households] lon_field and lat_field, or lonlat_field)"
        )
    cx, cy = system.convert(x, y)
    return CheckedCoordinates(cx, cy, system.crs, flags)


def _astray(
    county: _County, mx: np.ndarray, my: np.ndarray, checked: np.ndarray, index: np.ndarray
) -> np.ndarray:
    """Which ``checked`` points lie outside (not in or on) their village's polygon."""
    outside = np.zeros(mx.shape, dtype=bool)
    outside[checked] = ~shapely.intersects_xy(
        county.zones[index[checked]], mx[checked], my[checked]
    )
    return outside


def _distances(
    county: _County, mx: np.ndarray, my: np.ndarray, which: np.ndarray, index: np.ndarray
) -> np.ndarray:
    """Each point's distance to its village's polygon, for ``which`` points (else 0)."""
    distance = np.zeros(mx.shape)
    points = shapely.points(mx[which], my[which])
    distance[which] = shapely.distance(county.zones[index[which]], points)
    return distance


def _shared_points(
    mx: np.ndarray, my: np.ndarray, inside: np.ndarray, threshold: int
) -> np.ndarray:
    """Households on one point (to the metre) with at least ``threshold - 1`` others."""
    metres = np.column_stack([np.round(mx[inside]), np.round(my[inside])])
    _, group, counts = np.unique(metres, axis=0, return_inverse=True, return_counts=True)
    shared = np.zeros(mx.shape, dtype=bool)
    shared[inside] = counts[group.ravel()] >= threshold
    return shared
