"""Zones moved into a raster's pixel space as flat (ragged) arrays the kernels can walk.

Pixel space: x is the column, y the row, both continuous, cell (r, c) spans
[c, c+1) x [r, r+1). Zones are clipped to the raster, so every coordinate lies in
[0, width] x [0, height], and oriented so that shells and holes wind in opposite senses:
signed area accumulation then yields exact coverage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from hazardmap.raster.source import Grid

_POLYGON = int(shapely.GeometryType.POLYGON)


@dataclass(frozen=True)
class PixelZones:
    """Rings of every zone in pixel space.

    ``coords[ring_offsets[k]:ring_offsets[k+1]]`` is ring k (closed);
    ``zone_ring_offsets[z]:zone_ring_offsets[z+1]`` are the rings of zone z.
    """

    coords: np.ndarray
    ring_offsets: np.ndarray
    zone_ring_offsets: np.ndarray

    @property
    def n_zones(self) -> int:
        return int(self.zone_ring_offsets.size - 1)


def to_pixel_space(geoms: np.ndarray, grid: Grid) -> PixelZones:
    """Polygonal geometries (already in the grid's CRS) as clipped, oriented pixel rings."""
    inv = ~grid.transform

    def to_pixels(xy: np.ndarray) -> np.ndarray:
        out = np.empty_like(xy)
        out[:, 0] = inv.a * xy[:, 0] + inv.b * xy[:, 1] + inv.c
        out[:, 1] = inv.d * xy[:, 0] + inv.e * xy[:, 1] + inv.f
        return out

    n = len(geoms)
    pixel = shapely.transform(geoms, to_pixels)
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
    return PixelZones(
        coords=np.ascontiguousarray(coords, dtype=np.float64),
        ring_offsets=ring_offsets,
        zone_ring_offsets=zone_ring_offsets,
    )
