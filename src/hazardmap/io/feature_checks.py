"""Hazard zones and sites against the villages: do they reach the county at all, and are
the sites' radii plausible. Zones or sites that reach no village mean the wrong CRS or
another county's file: an error, never a county silently at the outside value."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from hazardmap.config import LayerConfig
from hazardmap.crs import WGS84, system_of
from hazardmap.errors import InputError
from hazardmap.problems import Problems
from hazardmap.results import HazardSites, HazardZones
from hazardmap.vector.sites import sites_reaching
from hazardmap.vector.zones import county_equal_area


def check_zones_reach(layer: LayerConfig, zones: HazardZones, villages: gpd.GeoDataFrame) -> None:
    """Stop when no zone reaches a village: the zones lie elsewhere (the wrong CRS, or
    another county's file), and every household would take the outside value."""
    county = np.asarray(villages.to_crs(WGS84).geometry.values)
    moved = np.asarray(gpd.GeoSeries(zones.geometry, crs=zones.crs).to_crs(WGS84).values)
    zone, _ = shapely.STRtree(county).query(moved, predicate="intersects")
    if not len(zone):
        extent = shapely.box(*shapely.total_bounds(moved))
        raise InputError(
            f"{layer.raster_path}: no zone reaches the villages (the zones lie at "
            f"{_box_text(extent)}, the villages at "
            f"{_box_text(shapely.box(*shapely.total_bounds(county)))}); check the file's CRS, "
            f"or crs in {layer.file.name}"
        )


IMPLAUSIBLE_RADIUS_M = (5.0, 5_000.0)
"""Threat radii outside this range are probably in other units (km, or cm)."""


def implausible_radii(sites: HazardSites) -> list[str]:
    low, high = IMPLAUSIBLE_RADIUS_M
    odd = (sites.radius_m < low) | (sites.radius_m > high)
    if not odd.any():
        return []
    first = int(np.flatnonzero(odd)[0])
    return [
        f"{sites.path}: {int(odd.sum())} site(s) have a threat radius under {low:g} m or over "
        f"{high:,.0f} m (e.g. site {sites.ids[first]}: {sites.radius_m[first]:g} m); check "
        "that the radii are in metres"
    ]


def check_sites_reach(sites: HazardSites, villages: gpd.GeoDataFrame, problems: Problems) -> None:
    """Sites farther than their radius from every village threaten no household of the
    county (a typo in the coordinates, another county's sites): a warning for some, an
    error when none reaches a village (the coordinates or their crs are wrong)."""
    metric = county_equal_area(villages)
    polygons = np.asarray(villages.geometry.to_crs(metric).values)
    sx, sy = system_of(sites.crs).transform(sites.x, sites.y, metric)
    site, _ = sites_reaching(polygons, sx, sy, sites.radius_m)
    astray = ~np.isin(np.arange(len(sx)), site)
    if not astray.any():
        return
    lon, lat = system_of(sites.crs).transform(sites.x, sites.y, WGS84)
    first = int(np.flatnonzero(astray)[0])
    example = f"site {sites.ids[first]} at {lon[first]:.5f}, {lat[first]:.5f}"
    if not astray.all():
        problems.warn(
            f"{sites.path}: {int(astray.sum())} of {len(sx)} sites lie farther than their "
            f"radius from every village (e.g. {example}); they threaten no household here: "
            "check their coordinates and crs"
        )
        return
    degrees = sites.crs.is_projected and bool(
        np.all(np.abs(sites.x) <= 180.0) and np.all(np.abs(sites.y) <= 90.0)
    )
    hint = (
        f"the coordinates look like degrees, not the metres of {sites.crs.to_string()}: set "
        'crs = "EPSG:4326" (or remove it)'
        if degrees
        else "check the coordinates and crs"
    )
    raise InputError(
        f"{sites.path}: no site reaches a village: every site lies farther than its radius "
        f"from every village (e.g. {example}); {hint}"
    )


def _box_text(box: shapely.Geometry) -> str:
    west, south, east, north = shapely.bounds(box).tolist()
    return f"{west:.3f} to {east:.3f} E, {south:.3f} to {north:.3f} N"
