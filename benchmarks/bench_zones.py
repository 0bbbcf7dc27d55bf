"""Village statistics of hazard zoning polygons: hazardmap's exact overlay against the
route a careful user takes by hand (geopandas) and against rasterizing the zones at 10 m
then reading them with hazardmap's raster engine.

    python benchmarks/bench_zones.py [--zones 5000] [--repeat 3] [--resolution 10]

The data: the demo county's 340 villages (the polygons ``hazardmap demo-data`` writes) and
``--zones`` zoning polygons of four classes, written once to benchmarks/data/zones/. The
zones are the Voronoi cells of uniform random points in the county's outline buffered by
500 m, clipped to it (so every village is covered: no area without a class); each cell's
class (1-4) comes from a smooth random field (plane waves of 5-20 km wavelength) plus noise
per cell, cut so that 50/29/15/6 % of the cells are classes 1/2/3/4 (the demo zoning's
shares): zones of a class form contiguous patches, as on a survey's map. 5 % of the cells,
chosen at random, are grown by 60 m, so that they overlap their neighbours and the rule
"where zones overlap, the highest class wins" decides real area.

Everything is in one equal-area CRS (``county_equal_area`` of the villages, a Lambert
azimuthal equal-area projection), read before the clock starts, so the three times compare
the overlay itself. Each route computes, per village, the share of each class in the
village's area with a class (and that area):

  hazardmap   ``disjoint_zones`` then ``zone_areas(...).share_of(classes)`` and ``.weight``,
              as ``VectorFrame.zones_layer`` does.
  geopandas   ``dissolve`` by class, each class minus the union of the higher ones, then
              ``gpd.overlay(villages, those four, how="intersection")``, ``.area``, summed
              by village and class.
  raster      ``rasterio.features.rasterize`` of the classes (lowest first, so the highest
              is burned last and wins) on a grid of ``--resolution`` m over the villages,
              written as an uncompressed uint8 GeoTIFF (0 = nodata) in a temporary folder,
              then the raster engine (``open_source``, ``to_pixel_space``, a ``ZonalJob``
              with ``Coverage.FRACTION`` and thresholds between the classes, ``scan``); the
              time includes rasterizing and writing, reported apart as well.

Every run is a fresh process: imports done and each route warmed up on two villages first
(numba's kernels, GEOS, pandas); the routes run in rounds (each once per round) so a slow
spell of the shared machine hits them alike. "seconds" is the median of ``--repeat`` runs;
"peak MB" the highest resident memory seen during the call (sampled every 2 ms, interpreter
and data included), "+MB" its rise over the memory just before the call. The differences
are against hazardmap's shares as the exact reference; a village's level is the highest k
of (2, 3, 4) whose classes k and above cover at least 10 % of it (1 otherwise), as
``hazard_level`` makes it. The hazardmap run also times, after its call, what the pipeline
does first: moving villages and zones from EPSG:4544 (as the demo's files come) into the
equal-area CRS ("reprojection", not part of any route's time).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "zones"
sys.path.insert(0, str(HERE))

from bench_demo import RssSampler  # noqa: E402

ROUTES = ["hazardmap", "geopandas", "raster"]
CLASSES = (1.0, 2.0, 3.0, 4.0)
CLASS_SHARES = (0.50, 0.29, 0.15, 0.06)
"""Share of the cells in each class, lowest first (the demo zoning's area shares)."""
BREAKS = (2.0, 3.0, 4.0)
MIN_AREA_SHARE = 0.1
SEED = 620826
OUTLINE_BUFFER_M = 500.0
GROWN_SHARE = 0.05
GROWN_BY_M = 60.0


# --- data ------------------------------------------------------------------------------


def generate(n_zones: int) -> tuple[Path, Path]:
    """The villages and ``n_zones`` zoning polygons in the equal-area CRS, as GeoParquet
    files under benchmarks/data/zones (written once)."""
    villages_path = DATA / "villages.parquet"
    zones_path = DATA / f"zones-{n_zones}.parquet"
    if villages_path.exists() and zones_path.exists():
        return villages_path, zones_path
    import geopandas as gpd
    import numpy as np
    import shapely

    from hazardmap.demo.county import village_polygons
    from hazardmap.polygons import polygonal_part
    from hazardmap.vector.zones import county_equal_area

    villages = village_polygons(np.random.default_rng([SEED, 1]))
    crs = county_equal_area(villages)
    villages = villages.to_crs(crs)
    region = shapely.buffer(shapely.union_all(villages.geometry.values), OUTLINE_BUFFER_M)
    rng = np.random.default_rng([SEED, 5000])
    seeds = _points_in(rng, region, n_zones)
    frame = shapely.box(*shapely.bounds(shapely.buffer(region, 1000.0)))
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=frame, ordered=True)
    )
    field = _smooth_field(rng, seeds) + 0.8 * rng.normal(size=n_zones)
    cuts = np.quantile(field, np.cumsum(CLASS_SHARES)[:-1])
    classes = np.asarray(CLASSES)[np.digitize(field, cuts)]
    grown = rng.choice(n_zones, size=round(GROWN_SHARE * n_zones), replace=False)
    cells[grown] = shapely.buffer(cells[grown], GROWN_BY_M)
    zones = np.array([polygonal_part(g) for g in shapely.intersection(cells, region)], dtype=object)
    DATA.mkdir(parents=True, exist_ok=True)
    villages[["village_code", "geometry"]].to_parquet(villages_path)
    gpd.GeoDataFrame({"class": classes}, geometry=zones, crs=crs).to_parquet(zones_path)
    return villages_path, zones_path


def _points_in(rng: Any, region: Any, n: int) -> Any:
    import numpy as np
    import shapely

    xmin, ymin, xmax, ymax = shapely.bounds(region)
    shapely.prepare(region)
    found = np.empty((0, 2))
    while len(found) < n:
        x, y = rng.uniform(xmin, xmax, 4 * n), rng.uniform(ymin, ymax, 4 * n)
        inside = shapely.contains_xy(region, x, y)
        found = np.concatenate([found, np.column_stack([x[inside], y[inside]])])
    return found[:n]


def _smooth_field(rng: Any, xy: Any, waves: int = 6) -> Any:
    """A sum of plane waves of 5-20 km wavelength at random angles and phases."""
    import numpy as np

    total = np.zeros(len(xy))
    for _ in range(waves):
        wavelength = rng.uniform(5_000.0, 20_000.0)
        angle, phase = rng.uniform(0.0, 2 * np.pi, 2)
        along = xy[:, 0] * np.cos(angle) + xy[:, 1] * np.sin(angle)
        total += np.sin(2 * np.pi * along / wavelength + phase)
    return total


def describe(villages_path: Path, zones_path: Path) -> dict[str, Any]:
    """What the data holds: counts, vertices, areas and the area the overlap rule decides."""
    import geopandas as gpd
    import numpy as np
    import shapely

    villages = gpd.read_parquet(villages_path)
    zones = gpd.read_parquet(zones_path)
    geoms = np.asarray(zones.geometry.values)
    union = shapely.union_all(geoms)
    overlap_km2 = (shapely.area(geoms).sum() - shapely.area(union)) / 1e6
    with warnings.catch_warnings():  # PROJ's note that a PROJ string may lose information
        warnings.simplefilter("ignore", UserWarning)
        crs_text = zones.crs.to_proj4()
    return {
        "villages": len(villages),
        "village_vertices": int(shapely.get_num_coordinates(villages.geometry.values).sum()),
        "county_km2": float(villages.area.sum() / 1e6),
        "zones": len(zones),
        "zone_vertices": int(shapely.get_num_coordinates(geoms).sum()),
        "zones_by_class": {
            f"{c:g}": int(n)
            for c, n in zip(*np.unique(zones["class"], return_counts=True), strict=True)
        },
        "zones_km2": float(shapely.area(union) / 1e6),
        "overlap_km2": float(overlap_km2),
        "crs": crs_text,
    }


# --- the routes --------------------------------------------------------------------------


def route_hazardmap(villages: Any, zones: Any, workdir: Path) -> tuple[Any, Any, dict[str, float]]:
    import numpy as np

    from hazardmap.vector.zones import disjoint_zones, zone_areas

    start = time.perf_counter()
    geoms = np.asarray(zones.geometry.values)
    value = zones["class"].to_numpy(np.float64)
    disjoint = disjoint_zones(geoms, value)
    middle = time.perf_counter()
    areas = zone_areas(np.asarray(villages.geometry.values), disjoint, value)
    shares = areas.share_of(np.asarray(CLASSES))
    weight = areas.weight
    end = time.perf_counter()
    return shares, weight, {"disjoint_zones": middle - start, "zone_areas": end - middle}


def route_geopandas(villages: Any, zones: Any, workdir: Path) -> tuple[Any, Any, dict[str, float]]:
    import geopandas as gpd
    import numpy as np

    start = time.perf_counter()
    by_class = zones.dissolve(by="class")
    dissolved = time.perf_counter()
    pieces, higher = [], None
    for value in sorted(by_class.index, reverse=True):  # the highest class keeps all of its area
        geom = by_class.geometry[value]
        pieces.append(geom if higher is None else geom.difference(higher))
        higher = geom if higher is None else higher.union(geom)
    disjoint = gpd.GeoDataFrame(
        {"class": sorted(by_class.index, reverse=True)}, geometry=pieces, crs=zones.crs
    )
    subtracted = time.perf_counter()
    left = gpd.GeoDataFrame(
        {"village": np.arange(len(villages))}, geometry=villages.geometry.values, crs=villages.crs
    )
    parts = gpd.overlay(left, disjoint, how="intersection", keep_geom_type=True)
    overlaid = time.perf_counter()
    area = parts.area.groupby([parts["village"], parts["class"]]).sum().unstack(fill_value=0.0)
    area = area.reindex(index=range(len(villages)), columns=list(CLASSES), fill_value=0.0)
    weight = area.to_numpy().sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = area.to_numpy() / weight[:, None]
    end = time.perf_counter()
    return (
        shares,
        weight,
        {
            "dissolve": dissolved - start,
            "subtract higher": subtracted - dissolved,
            "overlay": overlaid - subtracted,
            "areas": end - overlaid,
        },
    )


def route_raster(
    villages: Any, zones: Any, workdir: Path, resolution: float = 10.0
) -> tuple[Any, Any, dict[str, float]]:
    import numpy as np
    import rasterio
    from rasterio.features import rasterize
    from rasterio.transform import from_origin

    from hazardmap.raster.engine import ZonalJob, scan
    from hazardmap.raster.geometry import to_pixel_space
    from hazardmap.raster.kernels import Coverage
    from hazardmap.raster.source import open_source

    start = time.perf_counter()
    xmin, ymin, xmax, ymax = villages.total_bounds
    west, north = np.floor(xmin / resolution) * resolution, np.ceil(ymax / resolution) * resolution
    width = int(np.ceil((xmax - west) / resolution))
    height = int(np.ceil((north - ymin) / resolution))
    transform = from_origin(west, north, resolution, resolution)
    value = zones["class"].to_numpy(np.float64)
    order = np.argsort(value, kind="stable")  # the highest class burned last: it wins
    geoms = np.asarray(zones.geometry.values)[order]
    grid = rasterize(
        zip(geoms, value[order].astype(np.uint8), strict=True),
        out_shape=(height, width),
        transform=transform,
        fill=0,
        dtype=np.uint8,
    )
    rasterized = time.perf_counter()
    path = workdir / "zones.tif"
    profile = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": 1,
        "dtype": "uint8",
        "crs": zones.crs.to_wkt(),
        "transform": transform,
        "nodata": 0,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(grid, 1)
    del grid
    written = time.perf_counter()
    edges = (*(c - 0.5 for c in CLASSES), CLASSES[-1] + 0.5)  # class k: [k - 0.5, k + 0.5)
    with open_source(path) as source:
        job = ZonalJob(
            to_pixel_space(np.asarray(villages.geometry.values), source.grid),
            Coverage.FRACTION,
            edges,
        )
        scan(source, [job])
    red = job.result()
    in_class = red.weight_above[:, :-1] - red.weight_above[:, 1:]
    weight = red.weight * resolution**2  # cells to m²
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = in_class / red.weight[:, None]
    end = time.perf_counter()
    return (
        shares,
        weight,
        {
            "rasterize": rasterized - start,
            "write GeoTIFF": written - rasterized,
            "raster engine": end - written,
            "cells": float(width * height),
        },
    )


def reprojection_seconds(villages: Any, zones: Any) -> float:
    """The pipeline's first step on the demo's files (EPSG:4544): the equal-area CRS, the
    villages and the zones moved into it (``VectorFrame``, ``zones_layer``)."""
    import numpy as np
    from pyproj import CRS

    from hazardmap.overlay.vectors import moved
    from hazardmap.vector.zones import county_equal_area

    villages_4544 = villages.to_crs(4544)
    zones_4544 = np.asarray(zones.geometry.to_crs(4544).values)
    start = time.perf_counter()
    crs = county_equal_area(villages_4544)
    np.asarray(villages_4544.geometry.to_crs(crs).values)
    moved(zones_4544, CRS.from_epsg(4544), crs)
    return time.perf_counter() - start


def copy_frame(frame: Any) -> Any:
    """The frame with geometries of its own (no prepared geometry or index shared)."""
    import geopandas as gpd
    import shapely

    geoms = shapely.from_wkb(shapely.to_wkb(frame.geometry.values))
    return gpd.GeoDataFrame(frame.drop(columns="geometry"), geometry=geoms, crs=frame.crs)


def child(route: str, n_zones: int, resolution: float) -> dict[str, Any]:
    import functools

    import geopandas as gpd
    import shapely

    villages_path, zones_path = DATA / "villages.parquet", DATA / f"zones-{n_zones}.parquet"
    villages = gpd.read_parquet(villages_path)
    zones = gpd.read_parquet(zones_path)
    routes: dict[str, Callable[..., tuple[Any, Any, dict[str, float]]]] = {
        "hazardmap": route_hazardmap,
        "geopandas": route_geopandas,
        "raster": functools.partial(route_raster, resolution=resolution),
    }
    call = routes[route]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        few = copy_frame(villages.iloc[:2])  # the warm-up: two villages, the zones on them
        near = shapely.intersects(zones.geometry.values, shapely.union_all(few.geometry.values))
        call(few, copy_frame(zones[near]), workdir)
        (workdir / "zones.tif").unlink(missing_ok=True)
        sampler = RssSampler().start()
        before = sampler.rss()
        start = time.perf_counter()
        shares, weight, stages = call(villages, zones, workdir)
        seconds = time.perf_counter() - start
        peak = sampler.mark()
        sampler.stop()
    result = {
        "seconds": seconds,
        "peak_mb": peak / 2**20,
        "rise_mb": (peak - before) / 2**20,
        "stages": stages,
        "shares": shares.tolist(),
        "weight": weight.tolist(),
    }
    if route == "hazardmap":
        result["reprojection_seconds"] = reprojection_seconds(villages, zones)
    return result


def run_child(route: str, n_zones: int, resolution: float) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", route, str(n_zones), str(resolution)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(f"{route} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --- comparing ---------------------------------------------------------------------------


def levels(shares: Any) -> Any:
    """Each village's level from its class shares (``hazard_level``'s rule)."""
    import numpy as np

    from hazardmap.model.villages import hazard_level

    shares = np.nan_to_num(np.asarray(shares))
    classes = np.asarray(CLASSES)
    at_or_above = np.column_stack([shares[:, classes >= b].sum(axis=1) for b in BREAKS])
    return hazard_level(at_or_above, np.ones(len(shares), bool), MIN_AREA_SHARE)


def differences(reference: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    ref, shares = np.asarray(reference["shares"]), np.asarray(other["shares"])
    gap = np.abs(shares - ref)
    weight_ref, weight = np.asarray(reference["weight"]), np.asarray(other["weight"])
    ref_level, level = levels(ref), levels(shares)
    changed = np.flatnonzero(ref_level != level)
    return {
        "max_abs_share": float(gap.max()),
        "mean_abs_share": float(gap.mean()),
        "villages_share_over_0.01": int((gap.max(axis=1) > 0.01).sum()),
        "max_rel_area": float(np.max(np.abs(weight - weight_ref) / weight_ref)),
        "levels_differ": len(changed),
        "levels_changed": [
            {"village": int(v), "reference": int(ref_level[v]), "this": int(level[v])}
            for v in changed
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--zones", type=int, default=5000, help="zoning polygons")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each route")
    parser.add_argument("--resolution", type=float, default=10.0, help="raster route's cell (m)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        route, n_zones, resolution = args.child
        print(json.dumps(child(route, int(n_zones), float(resolution))))
        return
    data = describe(*generate(args.zones))
    print(
        f"{data['villages']} villages ({data['village_vertices']:,} vertices, "
        f"{data['county_km2']:,.0f} km²), {data['zones']:,} zones ({data['zone_vertices']:,} "
        f"vertices; by class {data['zones_by_class']}), overlapping on "
        f"{data['overlap_km2']:.1f} km²",
        flush=True,
    )
    runs: dict[str, list[dict[str, Any]]] = {route: [] for route in ROUTES}
    for _ in range(args.repeat):
        for route in ROUTES:
            runs[route].append(run_child(route, args.zones, args.resolution))
            print(f"  {route:<12}{runs[route][-1]['seconds']:.3f} s", file=sys.stderr, flush=True)
    figures: dict[str, dict[str, Any]] = {}
    for route, route_runs in runs.items():
        figures[route] = {
            "seconds": statistics.median(r["seconds"] for r in route_runs),
            "runs": [r["seconds"] for r in route_runs],
            "peak_mb": max(r["peak_mb"] for r in route_runs),
            "rise_mb": max(r["rise_mb"] for r in route_runs),
            "stages": {
                stage: statistics.median(r["stages"][stage] for r in route_runs)
                for stage in route_runs[0]["stages"]
            },
        }
        if route != "hazardmap":
            figures[route]["differences"] = differences(runs["hazardmap"][0], route_runs[0])
    reprojection = statistics.median(r["reprojection_seconds"] for r in runs["hazardmap"])
    figures["hazardmap"]["reprojection_seconds"] = reprojection

    ours = figures["hazardmap"]["seconds"]
    print(
        f"\n{'route':<12}{'seconds':>9}{'ratio':>7}{'peak MB':>9}{'+MB':>6}"
        f"{'max |Δshare|':>14}{'mean |Δshare|':>15}{'max Δarea':>11}{'levels differ':>15}"
    )
    for route, f in figures.items():
        diff = f.get("differences")
        gaps = (
            f"{diff['max_abs_share']:>14.2e}{diff['mean_abs_share']:>15.2e}"
            f"{diff['max_rel_area']:>11.1e}{diff['levels_differ']:>15}"
            if diff
            else f"{'(reference)':>14}{'':>15}{'':>11}{'':>15}"
        )
        print(
            f"{route:<12}{f['seconds']:>9.3f}{f['seconds'] / ours:>7.1f}{f['peak_mb']:>9.0f}"
            f"{f['rise_mb']:>6.0f}{gaps}"
        )
    print("\nstages (median seconds)")
    for route, f in figures.items():
        stages = ", ".join(
            f"{name} {seconds:,.0f}" if name == "cells" else f"{name} {seconds:.3f}"
            for name, seconds in f["stages"].items()
        )
        print(f"  {route:<12}{stages}")
    print(
        f"  {'':<12}hazardmap's reprojection EPSG:4544 -> equal-area (not in its time): "
        f"{reprojection:.3f}"
    )
    for route in ROUTES[1:]:
        changed = figures[route]["differences"]["levels_changed"]
        if changed:
            moves = ", ".join(f"{c['village']}: {c['reference']}->{c['this']}" for c in changed)
            print(f"  {route} levels differing (village: hazardmap->{route}): {moves}")

    out = HERE / "results"
    out.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    payload = {"data": data, "resolution_m": args.resolution, "repeat": args.repeat, **figures}
    (out / f"zones-{stamp}.json").write_text(json.dumps(payload, indent=1), encoding="utf-8")
    print(f"\nraw figures: benchmarks/results/zones-{stamp}.json")


if __name__ == "__main__":
    main()
