"""A prefecture-sized run on a dask.distributed cluster beside the same run in one process.

    python benchmarks/bench_cluster.py [--workers 2]

144-megapixel raster (benchmarks/gen_data.py), 5,000 villages and 1,000,000 points;
zonal mean/max/count (coverage "fraction") and nearest sampling. The cluster is a
LocalCluster of worker processes on this machine; on a real cluster the tasks are the
same. Memory is the peak resident set of the client process and of each worker.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_demo import RssSampler  # noqa: E402
from bench_raster import DATA, STATS, warm_up  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    import geopandas as gpd
    import numpy as np
    import rasterio
    from distributed import Client, LocalCluster

    import hazardmap
    from gen_data import generate

    generate(DATA)
    warm_up()
    raster = DATA / "raster_prefecture.tif"
    with rasterio.open(raster) as ds:
        crs = ds.crs
    zones = gpd.read_file(DATA / "villages_prefecture_5000.gpkg").to_crs(crs)
    lonlat = np.load(DATA / "points_county_1000000.npy")
    points = gpd.GeoSeries(gpd.points_from_xy(lonlat[:, 0], lonlat[:, 1]), crs=4326)

    def work() -> tuple[float, float]:
        start = time.perf_counter()
        hazardmap.zonal_stats(raster, zones, STATS)
        middle = time.perf_counter()
        hazardmap.sample(raster, points)
        return middle - start, time.perf_counter() - middle

    sampler = RssSampler().start()
    base = sampler.rss()
    local = [work() for _ in range(3)]
    local_peak = sampler.mark()
    with (
        LocalCluster(
            n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        client.run(warm_up)
        client.run(lambda: __import__("gc").collect())
        sampler.mark()
        remote = [work() for _ in range(3)]
        client_peak = sampler.mark()
        worker_peaks = client.run(lambda: __import__("resource").getrusage(0).ru_maxrss / 1024)
    sampler.stop()
    print("prefecture raster 144 Mpx, 5,000 zones, 1,000,000 points; median of 3")
    print(f"{'where':<28}{'zonal s':>9}{'sample s':>10}{'peak MB':>10}")

    def row(label: str, runs: list[tuple[float, float]], rise: float) -> str:
        zonal = statistics.median(r[0] for r in runs)
        sampled = statistics.median(r[1] for r in runs)
        return f"{label:<28}{zonal:>9.2f}{sampled:>10.2f}{rise / 2**20:>+10.0f}"

    print(row("one process", local, local_peak - base))
    workers = ", ".join(f"{v:.0f}" for v in worker_peaks.values())
    print(row(f"cluster, {args.workers} workers", remote, client_peak - base), end="")
    print(f"  (client; workers peak {workers} MB each)")


if __name__ == "__main__":
    main()
