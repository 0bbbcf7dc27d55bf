"""The demo county's geography: the real outline, township seats, codes and names, and
synthetic village polygons that tile the county (Voronoi cells inside Voronoi townships)."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from importlib import resources

import geopandas as gpd
import numpy as np
import shapely

from hazardmap.polygons import polygonal_part

VILLAGE_CRS = "EPSG:4544"  # CGCS2000 / 3-degree Gauss-Kruger CM 105E
_REFERENCE = "hazardmap.demo.reference"


@dataclass(frozen=True)
class Division:
    code: str
    parent: str
    name: str
    level: str


def _reference_text(name: str) -> str:
    return resources.files(_REFERENCE).joinpath(name).read_text(encoding="utf-8")


def county_outline() -> shapely.Geometry:
    """Jingning County's outline in WGS84."""
    data = json.loads(_reference_text("jingning_620826_amap_wgs84.geojson"))
    return shapely.make_valid(shapely.geometry.shape(data["features"][0]["geometry"]))


def divisions() -> list[Division]:
    """The county, its 25 townships and 340 villages (official 2016 codes and names)."""
    rows = csv.reader(_reference_text("adcode_620826.csv").splitlines())
    return [Division(code=r[0], parent=r[1], name=r[2], level=r[3]) for r in rows]


def township_seats() -> dict[str, tuple[float, float]]:
    """WGS84 lon/lat of the township seats known in the reference data, by code."""
    data = json.loads(_reference_text("jingning_adcode2016_points_wgs84.geojson"))
    return {
        f["properties"]["code"]: tuple(f["geometry"]["coordinates"])
        for f in data["features"]
        if f["properties"]["level"] == "town"
    }


def _random_points_in(rng: np.random.Generator, region: shapely.Geometry, n: int) -> np.ndarray:
    """n uniform random points inside a polygon (rejection sampling in its bounds)."""
    xmin, ymin, xmax, ymax = shapely.bounds(region)
    found: list[np.ndarray] = []
    count = 0
    shapely.prepare(region)
    while count < n:
        x = rng.uniform(xmin, xmax, 4 * n + 16)
        y = rng.uniform(ymin, ymax, 4 * n + 16)
        inside = shapely.contains_xy(region, x, y)
        found.append(np.column_stack([x[inside], y[inside]]))
        count += int(inside.sum())
    return np.concatenate(found)[:n]


def _voronoi_tiles(points: np.ndarray, region: shapely.Geometry) -> list[shapely.Geometry]:
    """Voronoi cells of ``points`` clipped to ``region``, in the order of the points."""
    if len(points) == 1:
        return [region]
    cells = shapely.voronoi_polygons(
        shapely.multipoints(points),
        extend_to=shapely.box(*shapely.bounds(shapely.buffer(region, 1000))),
        ordered=True,
    )
    return [
        polygonal_part(shapely.make_valid(shapely.intersection(cell, region)))
        for cell in shapely.get_parts(cells)
    ]


def _relaxed_seeds(
    rng: np.random.Generator, region: shapely.Geometry, n: int, iterations: int = 3
) -> np.ndarray:
    """Random seeds moved a few Lloyd steps towards their cells' centroids: even-sized
    but irregular villages."""
    seeds = _random_points_in(rng, region, n)
    for _ in range(iterations):
        if n == 1:
            break
        tiles = _voronoi_tiles(seeds, region)
        centroids = shapely.get_coordinates(shapely.centroid(np.array(tiles, dtype=object)))
        seeds = 0.5 * seeds + 0.5 * centroids
    return seeds


def village_polygons(rng: np.random.Generator) -> gpd.GeoDataFrame:
    """One polygon per official village code, tiling the county, in EPSG:4544."""
    outline = gpd.GeoSeries([county_outline()], crs=4326).to_crs(VILLAGE_CRS).iloc[0]
    division_list = divisions()
    towns = [d for d in division_list if d.level == "town"]
    villages_of = {t.code: [d for d in division_list if d.parent == t.code] for t in towns}
    known = township_seats()
    seats_wgs84 = gpd.GeoSeries(
        shapely.points([known[t.code] for t in towns if t.code in known]), crs=4326
    )
    seats = list(shapely.get_coordinates(seats_wgs84.to_crs(VILLAGE_CRS).values))
    # townships without a known seat: the candidate point farthest from every known seat
    candidates = _random_points_in(rng, shapely.buffer(outline, -3000), 2000)
    for _ in [t for t in towns if t.code not in known]:
        distance = np.min(np.hypot(*(candidates[:, None, :] - np.array(seats)[None]).T), axis=0)
        seats.append(candidates[int(np.argmax(distance))])
    ordered_towns = [t for t in towns if t.code in known] + [
        t for t in towns if t.code not in known
    ]
    township_tiles = _voronoi_tiles(np.array(seats), outline)

    records = []
    for town, region in zip(ordered_towns, township_tiles, strict=True):
        members = villages_of[town.code]
        seeds = _relaxed_seeds(rng, region, len(members))
        for village, tile in zip(members, _voronoi_tiles(seeds, region), strict=True):
            records.append((village.code, village.name, town.name, town.code, tile))
    records.sort()
    frame = gpd.GeoDataFrame(
        {
            "village_code": [r[0] for r in records],
            "name": [r[1] for r in records],
            "township": [r[2] for r in records],
            "township_code": [r[3] for r in records],
        },
        geometry=[r[4] for r in records],
        crs=VILLAGE_CRS,
    )
    return frame
