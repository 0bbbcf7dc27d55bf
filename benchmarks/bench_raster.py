"""Benchmark of the raster engine beside exactextract, rasterstats and rasterio.

    python benchmarks/bench_raster.py [--repeat 5] [--peer-repeat 1] [--cases ...]

Data comes from benchmarks/gen_data.py (generated on first use). Every measurement runs in
a fresh process: imports and numba compilation are warmed up on a tiny raster first,
zones are read and moved into the raster's CRS (or points loaded) before the clock starts,
the OS page cache is warm. Runs go in rounds, every tool once per round, so a slow spell
of the shared machine hits all tools alike. "seconds" is the median over the runs (each run
is printed as it finishes); "peak MB" is the
highest resident memory seen during the call (sampled every 2 ms, interpreter included),
"+MB" the rise over the process's memory just before the call. "read" is the time to
merely read and decode the raster with every core: the practical floor.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "raster"
sys.path.insert(0, str(HERE))

from bench_demo import RssSampler  # noqa: E402

ZONAL_CASES = {
    "county 350": ("county", 350),
    "county 5000": ("county", 5000),
    "county 20000": ("county", 20000),
    "prefecture 5000": ("prefecture", 5000),
}
POINT_CASES = {"points 100k": ("county", 100_000), "points 1M": ("county", 1_000_000)}
ZONAL_TOOLS = [
    "read",
    "hazardmap centre",
    "hazardmap all_touched",
    "hazardmap fraction",
    "exactextract",
    "rasterstats",
]
POINT_TOOLS = ["hazardmap", "rasterio"]
STATS = ["mean", "max", "count"]


def warm_up() -> None:
    import tempfile

    import geopandas as gpd
    import numpy as np
    import rasterio
    import shapely
    from affine import Affine

    import hazardmap

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tiny.tif"
        profile = {
            "driver": "GTiff",
            "width": 8,
            "height": 8,
            "count": 1,
            "dtype": "float32",
            "crs": "EPSG:32648",
            "transform": Affine(30, 0, 0, 0, -30, 240),
            "nodata": -9999,
        }
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(np.ones((8, 8), np.float32), 1)
        zones = gpd.GeoSeries([shapely.box(10, 10, 200, 200)], crs="EPSG:32648")
        for coverage in ("centre", "all_touched", "fraction"):
            hazardmap.zonal_stats(path, zones, STATS, coverage=coverage)
        hazardmap.sample(path, gpd.GeoSeries([shapely.Point(50, 50)], crs="EPSG:32648"))


def child(tool: str, case: str) -> dict[str, Any]:
    import geopandas as gpd
    import numpy as np
    import rasterio

    import hazardmap

    if tool.startswith("hazardmap"):
        warm_up()
    if case in ZONAL_CASES:
        raster_name, n = ZONAL_CASES[case]
        raster = DATA / f"raster_{raster_name}.tif"
        with rasterio.open(raster) as ds:
            crs = ds.crs
        zones = gpd.read_file(DATA / f"villages_{raster_name}_{n}.gpkg").to_crs(crs)

        def call() -> object:
            if tool == "read":
                with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"), rasterio.open(raster) as ds:
                    return ds.read(1)
            if tool.startswith("hazardmap"):
                return hazardmap.zonal_stats(raster, zones, STATS, coverage=tool.split()[1])
            if tool == "exactextract":
                import exactextract

                return exactextract.exact_extract(str(raster), zones, STATS, output="pandas")
            import warnings

            import rasterstats

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return rasterstats.zonal_stats(zones, str(raster), stats=STATS)
    else:
        raster_name, n = POINT_CASES[case]
        raster = DATA / f"raster_{raster_name}.tif"
        lonlat = np.load(DATA / f"points_{raster_name}_{n}.npy")
        with rasterio.open(raster) as ds:
            crs = ds.crs
        if tool == "hazardmap":
            points = gpd.GeoSeries(gpd.points_from_xy(lonlat[:, 0], lonlat[:, 1]), crs=4326)
        else:
            from pyproj import Transformer

            x, y = Transformer.from_crs(4326, crs, always_xy=True).transform(
                lonlat[:, 0], lonlat[:, 1]
            )
            xy = list(zip(x, y, strict=True))

        def call() -> object:
            if tool == "hazardmap":  # includes moving the points from WGS84 into UTM
                return hazardmap.sample(raster, points)
            with rasterio.open(raster) as ds:
                return np.ma.concatenate(list(ds.sample(xy, masked=True)))

    sampler = RssSampler().start()
    before = sampler.rss()
    start = time.perf_counter()
    call()
    seconds = time.perf_counter() - start
    peak = sampler.mark()
    sampler.stop()
    return {"seconds": seconds, "peak_mb": peak / 2**20, "rise_mb": (peak - before) / 2**20}


def run_child(tool: str, case: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", tool, case], capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"{tool} on {case} failed:\n{done.stderr}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(case: str, tools: dict[str, int]) -> dict[str, dict[str, float]]:
    """Run each tool the given number of times, in rounds (every tool once per round), so
    that a slow spell of the machine hits all tools alike rather than one of them."""
    runs: dict[str, list[dict[str, float]]] = {tool: [] for tool in tools}
    for round_ in range(max(tools.values(), default=0)):
        for tool, repeat in tools.items():
            if round_ < repeat:
                runs[tool].append(run_child(tool, case))
    for tool, tool_runs in runs.items():
        seconds = ", ".join(f"{r['seconds']:.3f}" for r in tool_runs)
        print(f"  {case:<16}{tool:<24}{seconds} s", file=sys.stderr, flush=True)
    return {
        tool: {
            "seconds": statistics.median(r["seconds"] for r in tool_runs),
            "peak_mb": max(r["peak_mb"] for r in tool_runs),
            "rise_mb": max(r["rise_mb"] for r in tool_runs),
            "runs": len(tool_runs),
        }
        for tool, tool_runs in runs.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs of hazardmap and read")
    parser.add_argument("--peer-repeat", type=int, default=1, help="runs of the slower peer tools")
    parser.add_argument("--cases", nargs="*", default=[*ZONAL_CASES, *POINT_CASES])
    parser.add_argument("--only-ours", action="store_true", help="skip the peer tools")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    from gen_data import generate

    generate(DATA)
    results: dict[str, dict[str, dict[str, float]]] = {}
    for case in args.cases:
        repeats = {}
        for tool in ZONAL_TOOLS if case in ZONAL_CASES else POINT_TOOLS:
            ours = tool.startswith("hazardmap") or tool == "read"
            if ours or not args.only_ours:
                repeats[tool] = args.repeat if ours else args.peer_repeat
        results[case] = measure(case, repeats)
    header = f"{'case':<17}{'tool':<23}{'seconds':>9}{'peak MB':>9}{'+MB':>7}{'runs':>5}"
    print(f"\n{header}   ratios (peer / this tool)")
    for case, tools in results.items():
        for tool, r in tools.items():
            ratios = []
            if tool.startswith("hazardmap"):
                for peer in ("exactextract", "rasterstats", "rasterio"):
                    if peer in tools:
                        ratios.append(f"{peer} {tools[peer]['seconds'] / r['seconds']:.1f}x")
                if "read" in tools:
                    ratios.append(f"this / read {r['seconds'] / tools['read']['seconds']:.2f}")
            print(
                f"{case:<17}{tool:<23}{r['seconds']:>9.3f}{r['peak_mb']:>9.0f}{r['rise_mb']:>7.0f}"
                f"{r['runs']:>5}   {', '.join(ratios)}"
            )
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (out / f"raster-{stamp}.json").write_text(json.dumps(results, indent=1))
    print(f"\nraw figures: benchmarks/results/raster-{stamp}.json")


if __name__ == "__main__":
    main()
