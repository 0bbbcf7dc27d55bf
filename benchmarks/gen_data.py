"""Deterministic benchmark data for the raster engine (hazardmap's own generator).

    python benchmarks/gen_data.py [--out benchmarks/data/raster]

Writes, once (existing files are kept):
  raster_county.tif       4,000 x 4,000 (16 Mpx), float32, 30 m, EPSG:32648, 256x256 tiles,
                          deflate, nodata -9999 over about 6% (a corner and a few "lakes")
  raster_prefecture.tif   12,000 x 12,000 (144 Mpx), the same kind
  villages_<raster>_<n>.gpkg   Voronoi cells of the raster's extent, segmentized every
                          100 m, stored in EPSG:4326 (county: 350, 5,000, 20,000;
                          prefecture: 5,000)
  points_county_<n>.npy   lon/lat of clustered points in EPSG:4326 (100,000 and 1,000,000)
centred on Jingning County (105.7 E, 35.5 N).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

CENTRE = (105.7, 35.5)
CRS = "EPSG:32648"
CELL = 30.0
NODATA = -9999.0
RASTERS = {"county": 4000, "prefecture": 12000}
VILLAGES = [("county", 350), ("county", 5000), ("county", 20000), ("prefecture", 5000)]
POINTS = [("county", 100_000), ("county", 1_000_000)]
SEED = 20240607


def raster_origin(size: int) -> tuple[float, float]:
    from pyproj import Transformer

    x, y = Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(*CENTRE)
    half = size * CELL / 2
    return float(np.floor((x - half) / CELL) * CELL), float(np.floor((y + half) / CELL) * CELL)


def write_raster(path: Path, size: int, seed: int) -> None:
    """A smooth 0..1 field (sums of random plane waves) with seeded noise and nodata holes,
    written strip by strip so memory stays small."""
    import rasterio
    from affine import Affine
    from rasterio.windows import Window

    rng = np.random.default_rng(seed)
    waves = [
        (rng.uniform(0, 2 * np.pi), 2 * np.pi / (size * s), rng.uniform(0, 2 * np.pi), a)
        for s, a in ((0.4, 1.0), (0.17, 0.6), (0.06, 0.35), (0.02, 0.2), (0.007, 0.12))
        for _ in range(3)
    ]
    lakes = [(rng.uniform(0, size, 2), rng.uniform(0.02, 0.06, 2) * size) for _ in range(8)]
    west, north = raster_origin(size)
    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": 1,
        "dtype": "float32",
        "crs": CRS,
        "transform": Affine(CELL, 0, west, 0, -CELL, north),
        "nodata": NODATA,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
        "BIGTIFF": "IF_SAFER",
        "NUM_THREADS": "ALL_CPUS",
    }
    cols = np.arange(size, dtype=np.float64)[None, :]
    with rasterio.open(path, "w", **profile) as dst:
        for r0 in range(0, size, 512):
            rows = np.arange(r0, min(size, r0 + 512), dtype=np.float64)[:, None]
            field = np.zeros((rows.size, size))
            for angle, k, phase, amplitude in waves:
                field += amplitude * np.sin(
                    k * (np.cos(angle) * cols + np.sin(angle) * rows) + phase
                )
            strip_rng = np.random.default_rng([seed, r0])
            field += 0.05 * strip_rng.standard_normal(field.shape)
            values = (1.0 / (1.0 + np.exp(-1.5 * field))).astype(np.float32)
            hole = (rows + cols) < 0.12 * size
            for (cx, cy), (ax, ay) in lakes:
                hole |= ((cols - cx) / ax) ** 2 + ((rows - cy) / ay) ** 2 < 1.0
            values[hole] = NODATA
            dst.write(values, 1, window=Window(0, r0, size, rows.size))


def write_villages(path: Path, size: int, n: int, seed: int) -> None:
    import geopandas as gpd
    import shapely

    rng = np.random.default_rng([seed, n, 1])
    west, north = raster_origin(size)
    east, south = west + size * CELL, north - size * CELL
    box = shapely.box(west, south, east, north)
    seeds = shapely.multipoints(
        np.column_stack([rng.uniform(west, east, n), rng.uniform(south, north, n)])
    )
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=box, ordered=True))
    cells = shapely.segmentize(shapely.intersection(cells, box), 100.0)
    frame = gpd.GeoDataFrame({"village_id": np.arange(1, n + 1)}, geometry=cells, crs=CRS)
    frame.to_crs(4326).to_file(path, driver="GPKG")


def write_points(path: Path, size: int, n: int, seed: int) -> None:
    from pyproj import Transformer

    rng = np.random.default_rng([seed, n, 2])
    west, north = raster_origin(size)
    east, south = west + size * CELL, north - size * CELL
    clustered = int(0.7 * n)
    centres = rng.uniform((west, south), (east, north), size=(max(10, n // 500), 2))
    pick = rng.integers(0, len(centres), clustered)
    xy = np.vstack(
        [
            centres[pick] + rng.normal(0, 600, (clustered, 2)),
            rng.uniform((west, south), (east, north), size=(n - clustered, 2)),
        ]
    )
    xy[:, 0] = np.clip(xy[:, 0], west + 1e-3, east - 1e-3)
    xy[:, 1] = np.clip(xy[:, 1], south + 1e-3, north - 1e-3)
    xy = xy[rng.permutation(n)]
    lon, lat = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(xy[:, 0], xy[:, 1])
    np.save(path, np.column_stack([lon, lat]))


def generate(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    steps = [
        (out / f"raster_{name}.tif", write_raster, (size, SEED + size))
        for name, size in RASTERS.items()
    ]
    steps += [
        (out / f"villages_{name}_{n}.gpkg", write_villages, (RASTERS[name], n, SEED))
        for name, n in VILLAGES
    ]
    steps += [
        (out / f"points_{name}_{n}.npy", write_points, (RASTERS[name], n, SEED))
        for name, n in POINTS
    ]
    for path, writer, args in steps:
        if path.exists():
            continue
        start = time.perf_counter()
        partial = path.with_name(path.stem + ".partial" + path.suffix)
        writer(partial, *args)  # type: ignore[operator]
        partial.rename(path)
        print(f"wrote {path.name} in {time.perf_counter() - start:.1f} s", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "data" / "raster")
    generate(parser.parse_args().out)
