"""The demo county's landslide data as a geological survey delivers it: susceptibility
zoning polygons (易发性分区, four grades) and a register of hazard sites (隐患点).

The zoning is the terrain's susceptibility averaged to 300 m, cut into four grades and
cleared of specks smaller than the survey's mapping unit, then drawn as polygons in
CGCS2000 / 3-degree Gauss-Krüger CM 105E (EPSG:4544), as Chinese survey data comes. The
sites sit beside settlements in the high and very high zones, each with a grade, a threat
radius and the households its register names as threatened.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine
from rasterio.features import shapes, sieve

ZONING_CRS = "EPSG:4544"
BLOCK = 10
"""Cells of 30 m averaged into one of the zoning's 300 m cells."""
GRADES = ("低易发", "中易发", "高易发", "极高易发")
AREA_SHARES = (0.50, 0.29, 0.15, 0.06)
"""Share of the county in each grade, lowest first (ILLUSTRATIVE: the survey's)."""
MAPPING_UNIT = 20
"""Patches of fewer 300 m cells (1.8 km²) join their neighbours."""
SITE_GRADES = (
    ("小型", 0.70, (80.0, 200.0)),
    ("中型", 0.25, (200.0, 350.0)),
    ("大型", 0.05, (350.0, 500.0)),
)
"""Each site grade, its share of the register and its range of threat radii (metres)."""


def zoning(
    susceptibility: np.ndarray, transform: Affine, outline: shapely.Geometry, crs: str
) -> gpd.GeoDataFrame:
    """Susceptibility (0-1, NaN off the county) as four grades of zoning polygons."""
    rows, cols = (s // BLOCK * BLOCK for s in susceptibility.shape)
    blocks = susceptibility[:rows, :cols].reshape(rows // BLOCK, BLOCK, cols // BLOCK, BLOCK)
    cells = np.isfinite(blocks).sum(axis=(1, 3))
    valid = cells > 0
    coarse = np.where(valid, np.nansum(blocks, axis=(1, 3)) / np.maximum(cells, 1), np.nan)
    breaks = np.quantile(coarse[valid], np.cumsum(AREA_SHARES)[:-1])
    grade = np.where(valid, np.digitize(coarse, breaks) + 1, 0).astype(np.int32)
    grade = sieve(grade, size=MAPPING_UNIT, connectivity=8)
    coarse_transform = transform * Affine.scale(BLOCK)
    polygons, grades = [], []
    for geometry, value in shapes(grade, mask=grade > 0, transform=coarse_transform):
        polygons.append(shapely.geometry.shape(geometry))
        grades.append(int(value))
    zones = gpd.GeoDataFrame({"grade": grades}, geometry=polygons, crs=crs).to_crs(ZONING_CRS)
    county = gpd.GeoSeries([outline], crs=crs).to_crs(ZONING_CRS).buffer(1000.0).iloc[0]
    geoms = shapely.intersection(
        shapely.simplify(np.asarray(zones.geometry.values), 30.0, preserve_topology=True),
        county,
    )
    keep = ~shapely.is_empty(geoms) & (shapely.area(geoms) > 0)
    labels = np.asarray(GRADES, dtype=object)[np.asarray(grades)[keep] - 1]
    area = shapely.area(geoms[keep]) / 1e6
    return gpd.GeoDataFrame(
        {
            "分区编号": [f"HP{i + 1:04d}" for i in range(int(keep.sum()))],
            "易发程度": labels,
            "面积_km2": np.round(area, 4),
        },
        geometry=geoms[keep],
        crs=ZONING_CRS,
    )


def hazard_sites(
    rng: np.random.Generator,
    zones: gpd.GeoDataFrame,
    households: pd.DataFrame,
    count: int = 40,
) -> pd.DataFrame:
    """``count`` sites beside households in the high and very high zones: grade, threat
    radius, the households within 80% of the radius that the register names (some of
    them: registers are kept by hand), and CGCS2000 longitude and latitude."""
    located = households.dropna(subset=["lon", "lat"]).reset_index(drop=True)
    points = gpd.GeoSeries.from_xy(located["lon"], located["lat"], crs=4326).to_crs(ZONING_CRS)
    exposed = zones[zones["易发程度"].isin(GRADES[2:])]
    tree = shapely.STRtree(np.asarray(exposed.geometry.values))
    inside, _ = tree.query(np.asarray(points.values), predicate="within")
    candidates = np.unique(inside)
    chosen = rng.choice(candidates, size=min(count, len(candidates)), replace=False)
    names, shares, ranges = zip(*SITE_GRADES, strict=True)
    grade = rng.choice(len(names), size=len(chosen), p=np.asarray(shares))
    low, high = np.asarray(ranges)[grade].T
    radius = np.round(rng.uniform(low, high) / 10.0) * 10.0
    angle = rng.uniform(0, 2 * np.pi, len(chosen))
    offset = rng.uniform(30.0, 120.0, len(chosen))  # the slope above the houses
    x = shapely.get_x(np.asarray(points.values))[chosen] + offset * np.cos(angle)
    y = shapely.get_y(np.asarray(points.values))[chosen] + offset * np.sin(angle)
    sites = gpd.GeoSeries.from_xy(x, y, crs=ZONING_CRS)
    every = shapely.STRtree(np.asarray(points.values))
    threatened = []
    for site, r in zip(sites.values, radius, strict=True):
        near = every.query(site, predicate="dwithin", distance=0.8 * r)
        listed = near[rng.uniform(size=len(near)) < 0.7]
        threatened.append(";".join(sorted(located["household_id"].to_numpy()[listed])))
    lonlat = sites.to_crs(4490)
    return pd.DataFrame(
        {
            "编号": [f"620826-HP-{i + 1:03d}" for i in range(len(chosen))],
            "灾害类型": "滑坡",
            "规模等级": np.asarray(names, dtype=object)[grade],
            "威胁半径_m": radius.astype(int),
            "威胁户编号": threatened,
            "经度": np.round(lonlat.x.to_numpy(), 6),
            "纬度": np.round(lonlat.y.to_numpy(), 6),
        }
    )


def write_zoning(zones: gpd.GeoDataFrame, path: Path) -> Path:
    zones.to_file(path, layer="zones", driver="GPKG")
    return path


def write_sites(sites: pd.DataFrame, path: Path) -> Path:
    sites.to_csv(path, index=False, encoding="utf-8-sig")
    return path
