"""Hazard zones over villages and households, exactly: areas from polygon intersections in
an equal-area projection, values from point-in-polygon. No rasterizing.

Where zones overlap, the area (and a household in it) takes the highest x, as MODEL.md
says; the zones are first made disjoint so that no area counts twice. The village
statistics then mean what the raster engine's do: area-weighted over the village's area
with a value (the area outside every zone has the ``outside`` value, or none).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from hazardmap.polygons import polygonal_part, union

TINY_SHARE = 1e-9
"""Area below this share of a village is floating-point noise of the intersections (a
zone edge drawn along the village edge), not a piece of the village."""


def equal_area_crs(lon: float, lat: float) -> CRS:
    """A Lambert azimuthal equal-area projection centred on (lon, lat): exact areas on the
    ellipsoid, and distances true to a few parts in a million across a county."""
    return CRS.from_proj4(
        f"+proj=laea +lat_0={lat:.6f} +lon_0={lon:.6f} +x_0=0 +y_0=0 +ellps=WGS84 +units=m"
    )


def county_equal_area(villages: gpd.GeoDataFrame) -> CRS:
    """The equal-area projection centred on the villages' extent."""
    west, south, east, north = villages.to_crs(4326).total_bounds
    return equal_area_crs((west + east) / 2.0, (south + north) / 2.0)


def disjoint_zones(geoms: np.ndarray, value: np.ndarray) -> np.ndarray:
    """The zones with every overlap given to the zone of highest x (ties: the earlier
    zone; a zone without a value, NaN, ranks below every value): each zone loses the
    parts that a zone outranking it covers."""
    n = len(geoms)
    rank = np.empty(n, dtype=np.int64)
    order = -np.nan_to_num(np.asarray(value, dtype=np.float64), nan=-np.inf)
    rank[np.lexsort((np.arange(n), order))] = np.arange(n)  # 0 = highest x
    tree = shapely.STRtree(geoms)
    mine, other = tree.query(geoms, predicate="intersects")
    outranked = rank[other] < rank[mine]
    mine, other = mine[outranked], other[outranked]
    if not len(mine):
        return geoms
    inner = ~shapely.touches(geoms[mine], geoms[other])  # interiors meet, not only edges
    mine, other = mine[inner], other[inner]
    result = geoms.copy()
    for zone in np.unique(mine):
        covering = union(geoms[other[mine == zone]])
        result[zone] = polygonal_part(shapely.difference(geoms[zone], covering))
    return result


@dataclass(frozen=True)
class ZoneAreas:
    """Per village: its area, the area of each zone piece inside it, and those pieces'
    values (pairs ``village``, ``value``, ``area``). A piece without a value (NaN: a zone
    of the layer's nodata, or outside every zone with no outside value) is area without
    data, left out of every share and mean."""

    village_area: np.ndarray
    village: np.ndarray
    value: np.ndarray
    area: np.ndarray

    def with_outside(self, outside: float) -> ZoneAreas:
        """The area outside every zone added as a piece of value ``outside`` (left out
        when ``outside`` is NaN: that area has no value)."""
        covered = np.bincount(self.village, self.area, minlength=len(self.village_area))
        rest = self.village_area - covered
        keep = rest > TINY_SHARE * self.village_area
        if np.isnan(outside) or not keep.any():
            return self
        villages = np.flatnonzero(keep)
        return ZoneAreas(
            self.village_area,
            np.concatenate([self.village, villages]),
            np.concatenate([self.value, np.full(len(villages), outside)]),
            np.concatenate([self.area, rest[keep]]),
        )

    @property
    def _valued(self) -> np.ndarray:
        return np.isfinite(self.value)

    @property
    def weight(self) -> np.ndarray:
        """Each village's area with a value."""
        return np.bincount(self.village, self.area * self._valued, minlength=len(self.village_area))

    def share_at_or_above(self, breaks: np.ndarray) -> np.ndarray:
        """(villages, breaks): the share of each village's area with a value that has a
        value at or above each break (NaN for a village without any)."""
        weight = self.weight
        columns = [
            np.bincount(self.village, self.area * (self.value >= b), minlength=len(weight))
            for b in breaks
        ]
        with np.errstate(invalid="ignore", divide="ignore"):
            return (
                np.column_stack(columns) / weight[:, None]
                if columns
                else np.empty((len(weight), 0))
            )

    def share_of(self, classes: np.ndarray) -> np.ndarray:
        """(villages, classes): the share of each village's area with a value in each class."""
        weight = self.weight
        columns = [
            np.bincount(self.village, self.area * (self.value == c), minlength=len(weight))
            for c in classes
        ]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.column_stack(columns) / weight[:, None]

    def mean(self) -> np.ndarray:
        weight = self.weight
        valued = np.where(self._valued, self.area * self.value, 0.0)
        total = np.bincount(self.village, valued, minlength=len(weight))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(weight > 0, total / weight, np.nan)

    def maximum(self) -> np.ndarray:
        """The highest value on a piece of the village that has area."""
        result = np.full(len(self.village_area), -np.inf)
        real = (self.area > TINY_SHARE * self.village_area[self.village]) & self._valued
        np.maximum.at(result, self.village[real], self.value[real])
        return np.where(np.isfinite(result), result, np.nan)


def zone_areas(villages: np.ndarray, zones: np.ndarray, value: np.ndarray) -> ZoneAreas:
    """The area of every disjoint zone inside every village (both in one equal-area
    CRS). A zone wholly inside a village counts its own area; only the zones crossing
    a village edge are intersected."""
    tree = shapely.STRtree(zones)
    village, zone = tree.query(villages, predicate="intersects")
    shapely.prepare(villages)
    inside = shapely.contains_properly(villages[village], zones[zone])
    area = shapely.area(zones[zone])
    crossing = ~inside
    area[crossing] = shapely.area(
        shapely.intersection(villages[village[crossing]], zones[zone[crossing]])
    )
    keep = area > 0
    return ZoneAreas(shapely.area(villages), village[keep], value[zone[keep]], area[keep])


FEW_ZONES = 16
"""Up to this many zones, each tests every point itself (prepared): cheaper than building a
tree over hundreds of thousands of points for an event's few polygons."""


def zone_value_at(
    x: np.ndarray, y: np.ndarray, zones: np.ndarray, value: np.ndarray, outside: float
) -> np.ndarray:
    """Each point's x: the highest value among the zones containing it (a point on an
    edge is inside), ``outside`` where none does, NaN for a point without coordinates or
    only in zones without a value."""
    result = np.full(len(x), -np.inf)
    located = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    points = np.asarray(shapely.points(x[located], y[located]))
    if len(zones) <= FEW_ZONES:  # an event's few polygons: no tree over every point
        shapely.prepare(zones)
        hits = [np.flatnonzero(shapely.intersects(z, points)) for z in zones]
        zone = np.repeat(np.arange(len(zones)), [len(h) for h in hits])
        point = np.concatenate(hits) if hits else np.empty(0, dtype=np.int64)
    else:
        tree = shapely.STRtree(points)
        zone, point = tree.query(zones, predicate="intersects")  # the zones prepared
    np.fmax.at(result, located[point], value[zone])  # a valued zone wins over a NaN one
    in_some = np.zeros(len(x), dtype=bool)
    in_some[located[point]] = True
    result[np.isneginf(result) & ~in_some] = outside
    result[np.isneginf(result) | np.isnan(result)] = np.nan
    result[~(np.isfinite(x) & np.isfinite(y))] = np.nan
    return result


DISPLAY_TOLERANCE_M = 15.0
"""Zones are simplified to this for the map only (a few pixels at county zoom)."""


def display_zones(zones: np.ndarray, within: shapely.Geometry) -> tuple[np.ndarray, np.ndarray]:
    """The zones (in a metric CRS) that reach ``within``, simplified for the map, and
    their indices: the statistics never see these shapes."""
    keep = np.flatnonzero(shapely.intersects(zones, within))
    shapes = shapely.simplify(zones[keep], DISPLAY_TOLERANCE_M, preserve_topology=True)
    return shapes, keep
