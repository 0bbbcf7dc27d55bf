"""Zones and points moved into a raster's pixel space, as flat arrays the kernels walk.

Pixel space: x is the column, y the row, both continuous; cell (r, c) spans
[c, c+1) x [r, r+1). Zones are clipped to the raster, so every coordinate lies in
[0, width] x [0, height], and oriented so that shells and holes wind in opposite senses:
signed area accumulation then yields exact coverage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
from affine import Affine

from hazardmap.raster.source import Grid

_POLYGON = int(shapely.GeometryType.POLYGON)


@dataclass(frozen=True)
class PixelZones:
    """Rings of every zone in pixel space.

    ``coords[ring_offsets[k]:ring_offsets[k+1]]`` is ring k (closed);
    ``zone_ring_offsets[z]:zone_ring_offsets[z+1]`` are the rings of zone z;
    ``bounds[z]`` is the zone's cell box (col0, row0, col1, row1), empty for zones
    that miss the raster.
    """

    coords: np.ndarray
    ring_offsets: np.ndarray
    zone_ring_offsets: np.ndarray
    bounds: np.ndarray

    @property
    def n_zones(self) -> int:
        return int(self.zone_ring_offsets.size - 1)

    def zones_in_rows(self, row0: int, row1: int) -> np.ndarray:
        """Indices of the zones that have cells in rows [row0, row1)."""
        b = self.bounds
        hit = (b[:, 1] < row1) & (b[:, 3] > row0) & (b[:, 2] > b[:, 0])
        return np.flatnonzero(hit).astype(np.int64)


def _to_pixels(transform: Affine) -> Callable[[np.ndarray], np.ndarray]:
    inv = ~transform

    def apply(xy: np.ndarray) -> np.ndarray:
        out = np.empty_like(xy)
        out[:, 0] = inv.a * xy[:, 0] + inv.b * xy[:, 1] + inv.c
        out[:, 1] = inv.d * xy[:, 0] + inv.e * xy[:, 1] + inv.f
        return out

    return apply


def to_pixel_space(geoms: np.ndarray, grid: Grid) -> PixelZones:
    """Polygonal geometries (already in the grid's CRS) as clipped, oriented pixel rings."""
    n = len(geoms)
    pixel = shapely.transform(geoms, _to_pixels(grid.transform))
    pixel = shapely.clip_by_rect(pixel, 0.0, 0.0, float(grid.width), float(grid.height))
    parts, part_zone = shapely.get_parts(pixel, return_index=True)
    keep = (shapely.get_type_id(parts) == _POLYGON) & ~shapely.is_empty(parts)
    parts, part_zone = parts[keep], part_zone[keep]
    parts = shapely.orient_polygons(parts)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    ring_offsets = np.zeros(rings.size + 1, dtype=np.int64)
    np.cumsum(np.bincount(coord_ring, minlength=rings.size), out=ring_offsets[1:])
    ring_zone = part_zone[ring_part]
    zone_ring_offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(ring_zone, minlength=n), out=zone_ring_offsets[1:])
    part_bounds = shapely.bounds(parts)
    bounds = np.zeros((n, 4), dtype=np.int64)
    if parts.size:
        lo_x = np.full(n, np.inf)
        lo_y = np.full(n, np.inf)
        hi_x = np.full(n, -np.inf)
        hi_y = np.full(n, -np.inf)
        np.minimum.at(lo_x, part_zone, part_bounds[:, 0])
        np.minimum.at(lo_y, part_zone, part_bounds[:, 1])
        np.maximum.at(hi_x, part_zone, part_bounds[:, 2])
        np.maximum.at(hi_y, part_zone, part_bounds[:, 3])
        found = np.isfinite(lo_x)
        bounds[found, 0] = np.floor(lo_x[found])
        bounds[found, 1] = np.floor(lo_y[found])
        bounds[found, 2] = np.minimum(np.ceil(hi_x[found]), grid.width)
        bounds[found, 3] = np.minimum(np.ceil(hi_y[found]), grid.height)
    return PixelZones(
        coords=np.ascontiguousarray(coords, dtype=np.float64),
        ring_offsets=ring_offsets,
        zone_ring_offsets=zone_ring_offsets,
        bounds=bounds,
    )


@dataclass(frozen=True)
class PixelPoints:
    """Where each point reads the raster: entries of (row, col, weight, point); nearest
    sampling has one entry per point inside the raster, bilinear up to four (the
    neighbours' bilinear weights)."""

    n_points: int
    rows: np.ndarray
    cols: np.ndarray
    weights: np.ndarray
    points: np.ndarray


def to_pixel_points(x: np.ndarray, y: np.ndarray, grid: Grid, method: str) -> PixelPoints:
    """Point coordinates (already in the grid's CRS) as cell entries for sampling."""
    inv = ~grid.transform
    col = inv.a * x + inv.b * y + inv.c
    row = inv.d * x + inv.e * y + inv.f
    inside = (col >= 0) & (col < grid.width) & (row >= 0) & (row < grid.height)
    index = np.flatnonzero(inside)
    col, row = col[inside], row[inside]
    if method == "nearest":
        rows = np.floor(row).astype(np.int64)
        cols = np.floor(col).astype(np.int64)
        weights = np.ones(index.size)
        points = index
    else:
        # the four cell centres around the point, weighted by distance along each axis
        fx, fy = col - 0.5, row - 0.5
        c0, r0 = np.floor(fx), np.floor(fy)
        wx, wy = fx - c0, fy - r0
        rows_l, cols_l, weights_l = [], [], []
        for dr, w_row in ((0, 1 - wy), (1, wy)):
            for dc, w_col in ((0, 1 - wx), (1, wx)):
                rows_l.append(r0 + dr)
                cols_l.append(c0 + dc)
                weights_l.append(w_row * w_col)
        rows = np.concatenate(rows_l).astype(np.int64)
        cols = np.concatenate(cols_l).astype(np.int64)
        weights = np.concatenate(weights_l)
        points = np.tile(index, 4)
        keep = (rows >= 0) & (rows < grid.height) & (cols >= 0) & (cols < grid.width)
        rows, cols, weights, points = rows[keep], cols[keep], weights[keep], points[keep]
    return PixelPoints(
        n_points=int(x.size),
        rows=rows,
        cols=cols,
        weights=weights,
        points=points.astype(np.int64),
    )
