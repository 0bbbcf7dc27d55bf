"""The demo county's event: the hailstorm of 12 July 2026, a swath along the storm corridor
from the north-west to the south-east, sketched by the emergency office on AMap (GCJ-02)
as three polygons of hailstone size: the core, its flanks and the fringe."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer

from hazardmap.chinese_crs import wgs84_to_gcj02

EVENT_FILE = "hail-2026-07-12.geojson"
SWATH_CRS = "EPSG:32648"
BANDS_M = ((900.0, 30.0), (2000.0, 18.0), (3200.0, 8.0))
"""Half-widths of the core, flanks and fringe (metres), and their hailstone size (mm)."""


def hail_swath(outline_wgs84: shapely.Geometry) -> gpd.GeoDataFrame:
    """Three nested bands around a track across the county's middle third, north-west to
    south-east, with the hail size of each (mm), in WGS84."""
    west, south, east, north = shapely.bounds(outline_wgs84)
    track = shapely.LineString(
        [
            (west + 0.30 * (east - west), south + 0.80 * (north - south)),
            (west + 0.48 * (east - west), south + 0.55 * (north - south)),
            (west + 0.70 * (east - west), south + 0.30 * (north - south)),
        ]
    )
    to_utm = Transformer.from_crs(4326, SWATH_CRS, always_xy=True)
    track_m = shapely.transform(track, lambda xy: np.column_stack(to_utm.transform(*xy.T)))
    bands, inner = [], shapely.Polygon()
    for width, _ in BANDS_M:
        outer = shapely.buffer(track_m, width, quad_segs=8)
        bands.append(shapely.difference(outer, inner))
        inner = outer
    swath = gpd.GeoDataFrame(
        {"冰雹直径_mm": [size for _, size in BANDS_M], "说明": ["核心区", "两翼", "边缘"]},
        geometry=bands,
        crs=SWATH_CRS,
    )
    return swath.to_crs(4326)


def write_hail_event(folder: Path, outline_wgs84: shapely.Geometry) -> Path:
    """The swath as GeoJSON in GCJ-02 coordinates, labelled WGS84 as AMap exports do."""
    swath = hail_swath(outline_wgs84)

    def to_gcj(xy: np.ndarray) -> np.ndarray:
        lon, lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
        return np.column_stack([np.round(lon, 6), np.round(lat, 6)])

    drawn = swath.set_geometry(shapely.transform(np.asarray(swath.geometry.values), to_gcj))
    path = folder / EVENT_FILE
    drawn.to_file(path, driver="GeoJSON")
    return path
