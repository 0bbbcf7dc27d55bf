"""The polygonal part of a geometry: what clipping or repairing a polygon leaves of it.

Clipping a village to a raster's extent, repairing an invalid one with ``make_valid`` and
cutting the demo's tiles can each leave lines or points beside the polygons; the zonal
statistics and the village table want the polygons only.
"""

from __future__ import annotations

import numpy as np
import shapely

POLYGONAL_TYPES = (int(shapely.GeometryType.POLYGON), int(shapely.GeometryType.MULTIPOLYGON))
"""shapely's type ids of polygons and multipolygons."""


def polygonal_part(geom: shapely.Geometry | None) -> shapely.Geometry:
    """``geom`` itself when it is a polygon or multipolygon; else the polygons it holds, at
    any depth, as one (multi)polygon; an empty polygon when it holds none."""
    if geom is None or shapely.is_empty(geom):
        return shapely.Polygon()
    if shapely.get_type_id(geom) in POLYGONAL_TYPES:
        return geom
    polygons = [
        polygon
        for part in shapely.get_parts(geom)
        if shapely.get_type_id(part) in POLYGONAL_TYPES
        for polygon in shapely.get_parts(part)
    ]
    if not polygons:
        return shapely.Polygon()
    return polygons[0] if len(polygons) == 1 else shapely.MultiPolygon(polygons)


def union(geoms: np.ndarray) -> shapely.Geometry:
    """The union of polygons. GEOS can fail on nearly coincident edges (a topology
    exception, e.g. for a county outline given as one more village); the union is then
    made again on coordinates snapped to a grid a millionth of the extent's size."""
    try:
        return shapely.union_all(geoms)
    except shapely.errors.GEOSException:
        xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
        grid = max(xmax - xmin, ymax - ymin) * 1e-6
        return shapely.union_all(shapely.set_precision(geoms, grid))
