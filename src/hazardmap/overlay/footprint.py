"""An event's footprint over households and villages: who is in it and at what intensity.

Polygons: a household in or on a polygon is in, at the highest intensity where polygons
overlap; a raster: a household on a cell whose value is valid and > 0, at that value. A
household without coordinates is in when the footprint covers at least ``min_area_share``
of its village (the rule a class layer uses for such households), at the footprint's mean
intensity over the part of the village it covers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hazardmap.errors import InputError
from hazardmap.io.footprint import Footprint
from hazardmap.overlay.vectors import VectorFrame, moved
from hazardmap.problems import Problems
from hazardmap.raster import (
    PointJob,
    ZonalJob,
    open_source,
    points_in_grid,
    scan,
    to_pixel_space,
    zones_to_crs,
)
from hazardmap.raster.kernels import Coverage
from hazardmap.vector.zones import disjoint_zones, zone_areas, zone_value_at

HIT = 1e-12
"""A raster cell is in the footprint when its value is above this (valid and > 0)."""


@dataclass(frozen=True)
class FootprintReach:
    """Per household: in the footprint, and the intensity there (NaN: none given); per
    village: the share of its area in the footprint."""

    inside: np.ndarray
    intensity: np.ndarray
    village_share: np.ndarray


def footprint_reach(
    footprint: Footprint, frame: VectorFrame, problems: Problems | None = None
) -> FootprintReach:
    """Who the footprint reaches; an error when it reaches no village, a warning when it
    reaches villages but no household."""
    if footprint.is_raster:
        reach = _raster_reach(footprint, frame, problems)
    else:
        reach = _polygon_reach(footprint, frame)
    if not (reach.village_share > 0).any() and not reach.inside.any():
        what = (
            "no cell under the villages holds a valid value above 0"
            if footprint.is_raster
            else "no village and no household in it"
        )
        raise InputError(
            f"{footprint.path}: the footprint misses the county ({what}); check the file, "
            "its CRS and crs in the event file"
        )
    if not reach.inside.any() and problems is not None:
        problems.warn(
            f"{footprint.path}: the footprint reaches {int((reach.village_share > 0).sum())} "
            "village(s) but no household in them: no household is assessed; check that the "
            "footprint is the area hit"
        )
    return reach


def _polygon_reach(footprint: Footprint, frame: VectorFrame) -> FootprintReach:
    assert footprint.polygons is not None and footprint.intensity is not None
    assert footprint.crs is not None
    geoms = moved(footprint.polygons, footprint.crs, frame.equal_area)
    has_intensity = bool(np.isfinite(footprint.intensity).all())
    value = footprint.intensity if has_intensity else np.ones(len(geoms))
    at = zone_value_at(*frame.households_xy, geoms, value, outside=np.nan)
    inside = np.isfinite(at)
    intensity = at if has_intensity else np.full(len(at), np.nan)
    areas = zone_areas(frame.village_polygons, disjoint_zones(geoms, value), value)
    share = areas.weight / areas.village_area
    mean = areas.mean() if has_intensity else np.full(len(share), np.nan)
    return _placed(frame, inside, intensity, share, mean)


def _raster_reach(
    footprint: Footprint, frame: VectorFrame, problems: Problems | None
) -> FootprintReach:
    grid = footprint.grid
    assert grid is not None
    zones = to_pixel_space(zones_to_crs(frame.villages, grid.crs), grid)
    points = points_in_grid(frame.x, frame.y, frame.crs, grid, method="nearest")
    zonal = ZonalJob(zones, Coverage.FRACTION, (HIT,))
    sampled = PointJob(points)
    with open_source(
        footprint.path, declared_crs=footprint.declared_crs, variable=footprint.variable
    ) as source:
        scan(source, [zonal], [sampled])
    value = sampled.result()
    inside = np.isfinite(value) & (value > HIT)
    negative = np.isfinite(value) & (value < 0)
    if negative.any() and problems is not None:
        problems.warn(
            f"{footprint.path}: {int(negative.sum()):,} households sit on cells with negative "
            "values, which count as outside the footprint (a cell is hit when its value is "
            "above 0); check the raster's nodata value and units"
        )
    red = zonal.result()
    share = np.nan_to_num(red.frac_above(HIT))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(share > 0, red.mean() / share, np.nan)  # cells outside hold 0
    return _placed(frame, inside, np.where(inside, value, np.nan), share, mean)


def _placed(
    frame: VectorFrame,
    inside: np.ndarray,
    intensity: np.ndarray,
    share: np.ndarray,
    mean: np.ndarray,
) -> FootprintReach:
    """Households without coordinates placed by their village's share in the footprint."""
    unlocated = frame.unlocated
    village = frame.village_index[unlocated]
    hit = share[village] >= frame.min_area_share
    inside = inside.copy()
    intensity = intensity.copy()
    inside[unlocated] = hit
    intensity[unlocated] = np.where(hit, mean[village], np.nan)
    return FootprintReach(inside, intensity, share)
